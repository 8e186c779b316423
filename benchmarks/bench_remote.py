"""A bottle on a remote engine against a bare `docker run` on the same engine (issue 17).

The remote engine is dockerd in a container on this machine, reached over TLS with client
certificates (testkit/remote_engine.py), so every call crosses a TLS connection as it would to
another machine, but with no network latency of a real one. Arms, alternating, each a whole
lifecycle with the command `true`, medians:
- remote docker-run: `docker run --rm --network <internal> --entrypoint true <agent image>`,
  the docker CLI pointed at the remote engine;
- remote bottle, egress only: `bottle-launch bench --yes -- true` with DOCKER_HOST and the TLS
  settings of the remote engine.
The engine has no gVisor, so both run under runc. The images are copied to it first (not timed).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import docker
from _common import alternate, launch, report, timed
from remote_engine import base_image, copy_images, start_remote_engine


def main(runs: int = 5) -> str:
    client = docker.from_env()
    from bottle_launcher.runtime.docker import DockerBackend

    backend = DockerBackend(client)
    images = [base_image(), *(backend.image(key) for key in ("agent", "egress", "ssh-gate", "git-gate"))]
    network = client.networks.create(f"bench-remote-{uuid.uuid4().hex[:6]}", driver="bridge")
    engine = start_remote_engine(client, network.name)
    try:
        far = engine.client()
        copy_images(client, far, images)
        internal = far.networks.create(f"bench-remote-internal-{uuid.uuid4().hex[:6]}", internal=True)
        folder = Path(tempfile.mkdtemp())
        manifest = folder / "claude-bottle.json"
        manifest.write_text(json.dumps({"bottles": {"b": {}}, "agents": {"bench": {"bottle": "b"}}}))
        env = {**os.environ, **engine.env}
        bare = ["docker", "run", "--rm", "--network", internal.name, "--entrypoint", "true", images[1]]
        arms = {
            "remote docker-run": lambda: timed(lambda: subprocess.run(bare, check=True, capture_output=True, env=env)),
            "remote bottle, egress only": lambda: timed(
                lambda: launch("bench", "--manifest", str(manifest), "--yes", "--", "true", env=engine.env)
            ),
        }
        for arm in arms.values():
            arm()  # warm caches; not counted
        samples = alternate(arms, runs)
        internal.remove()
        title = "Start to finish on a remote engine over TLS, command `true` (runtime: runc)"
        return report(title, samples, "remote docker-run")
    finally:
        engine.stop()
        network.remove()


if __name__ == "__main__":
    # bench_remote.py [runs]
    print(main(int(sys.argv[1]) if len(sys.argv) > 1 else 5))
