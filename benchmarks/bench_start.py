"""Bottle start-to-finish against a bare `docker run` of the same image and runtime.

Arms, each a whole lifecycle with the command `true`:
- docker-run: `docker run --rm --entrypoint true <agent image>` (create, start, wait, remove);
- bottle: `bottle-launch <agent> --yes -- true` (networks, egress sidecar, fence, handover,
  attach, teardown).
Target (issue 3): the bottle takes at most 3x the bare run.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import docker
from _common import alternate, launch, report, timed


def main(runs: int = 7) -> str:
    client = docker.from_env()
    from bottle_launcher.runtime.docker import DockerBackend
    from bottle_launcher.runtime.docker._backend import detect_runtime

    backend = DockerBackend(client)
    image = backend.image("agent")
    backend.image("egress")
    runtime = detect_runtime(client)
    folder = Path(tempfile.mkdtemp())
    manifest = folder / "claude-bottle.json"
    manifest.write_text(json.dumps({"bottles": {"b": {}}, "agents": {"bench": {"bottle": "b"}}}))
    bare = ["docker", "run", "--rm", "--entrypoint", "true", *(["--runtime", runtime] if runtime else []), image]

    def docker_run() -> float:
        return timed(lambda: subprocess.run(bare, check=True, capture_output=True))

    def bottle() -> float:
        return timed(lambda: launch("bench", "--manifest", str(manifest), "--yes", "--", "true"))

    docker_run(), bottle()  # warm caches; not counted
    samples = alternate({"docker-run": docker_run, "bottle": bottle}, runs)
    return report(f"Start to finish, command `true` (runtime: {runtime or 'runc'})", samples, "docker-run")


if __name__ == "__main__":
    print(main(int(sys.argv[1]) if len(sys.argv) > 1 else 7))
