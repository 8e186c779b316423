"""SSH through the gate against direct, in the same run, from the same client image and runtime.

- direct: a container from the agent image on the upstream network (unfenced), ssh to the sshd;
- gate: a real bottle (detached), ssh through its ssh-gate sidecar.
Measured inside the client, so no exec overhead counts:
- round trip: one byte echoed by `cat` over an open ssh session, median of 300 round trips;
- throughput: `scp` of 100 MB of random data to the upstream (into its /tmp).
Targets (issue 4): gate throughput at least 80% of direct; at most 2 ms added per round trip.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import uuid
from pathlib import Path

import docker
from _common import in_bottle, in_container, launch, tear_down
from upstreams import KeyPair, build_sshd_image, start_sshd

PING = """
const {spawn} = require('child_process');
const p = spawn('ssh', ['forge', 'cat']);
const N = 300; let n = 0, t0 = 0n; const times = [];
p.stdout.on('data', () => {
  times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  if (++n < N) { t0 = process.hrtime.bigint(); p.stdin.write('x'); }
  else { times.sort((a, b) => a - b); console.log(times[N >> 1]); p.kill(); }
});
setTimeout(() => { t0 = process.hrtime.bigint(); p.stdin.write('x'); }, 2000);
"""
SCP = "s=$(date +%s%N); scp -q /tmp/blob forge:/tmp/received 2>/dev/null; e=$(date +%s%N); echo $(( (e - s) / 1000 ))"


def main(runs: int = 5) -> str:
    client = docker.from_env()
    from bottle_launcher.runtime.docker import DockerBackend, detect_runtime

    backend = DockerBackend(client)
    agent_image = backend.image("agent")
    runtime = detect_runtime(client)
    sshd_image = build_sshd_image(client)
    key = KeyPair.generate()
    network = client.networks.create(f"bench-ssh-{uuid.uuid4().hex[:6]}")
    folder = Path(tempfile.mkdtemp())
    cleanup = []
    try:
        sshd = start_sshd(client, sshd_image, network.name, "forge.test", [key.public])
        cleanup.append(sshd.container)
        identity = folder / "id"
        identity.write_bytes(key.private)
        identity.chmod(0o600)
        entry = {
            "Host": "forge",
            "Hostname": "forge.test",
            "User": "git",
            "IdentityFile": str(identity),
            "KnownHostKey": f"forge.test {sshd.host_key}",
        }
        manifest = folder / "claude-bottle.json"
        subnet = client.networks.get(network.id).attrs["IPAM"]["Config"][0]["Subnet"]
        bottle = {"ssh": [entry], "egress": {"allow_cidrs": [subnet]}}  # forge.test is private
        manifest.write_text(json.dumps({"bottles": {"b": bottle}, "agents": {"bench": {"bottle": "b"}}}))
        started = launch(
            "bench",
            "--manifest",
            str(manifest),
            "--yes",
            "--detach",
            "--egress-network",
            network.name,
            "--",
            "sleep",
            "infinity",
        )
        bottle_id = started.stdout.strip()
        direct = client.containers.run(
            agent_image,
            entrypoint=["sleep", "infinity"],
            network=network.name,
            detach=True,
            runtime=runtime,
            name=f"{network.name}-direct",
        )
        cleanup.append(direct)
        config = (
            "Host forge\n  HostName forge.test\n  User git\n  IdentityFile ~/.ssh/id\n  IdentitiesOnly yes\n"
            "  StrictHostKeyChecking yes\n  UserKnownHostsFile ~/.ssh/known\n"
        )
        setup = (
            "mkdir -p -m 700 ~/.ssh && printf '%s' \"$CONFIG\" > ~/.ssh/config && printf '%s' \"$KEY\" > ~/.ssh/id"
            " && printf '%s\\n' \"$KNOWN\" > ~/.ssh/known && chmod 600 ~/.ssh/id ~/.ssh/config"
        )
        env = {"CONFIG": config, "KEY": key.private.decode(), "KNOWN": f"forge.test {sshd.host_key}"}
        assert direct.exec_run(["sh", "-c", setup], environment=env).exit_code == 0

        in_direct, in_gate = in_container(direct, "sh"), in_bottle(bottle_id, "sh")

        blob = "head -c 104857600 /dev/urandom > /tmp/blob"
        in_direct(blob), in_gate(blob)
        rtt: dict[str, list[float]] = {"direct": [], "gate": []}
        scp: dict[str, list[float]] = {"direct": [], "gate": []}
        for _ in range(runs):
            for name, run in (("direct", in_direct), ("gate", in_gate)):
                rtt[name].append(float(run(f"node -e {_quote(PING)}").strip()))
                seconds = int(run(SCP).strip()) / 1e6
                scp[name].append(100 / seconds)  # MB/s
        return _report(rtt, scp, runtime)
    finally:
        tear_down(cleanup, locals().get("bottle_id"), network)


def _quote(script: str) -> str:
    return "'" + script.replace("'", "'\\''") + "'"


def _report(rtt: dict[str, list[float]], scp: dict[str, list[float]], runtime: str | None) -> str:
    d_rtt, g_rtt = statistics.median(rtt["direct"]), statistics.median(rtt["gate"])
    d_tp, g_tp = statistics.median(scp["direct"]), statistics.median(scp["gate"])
    runs = len(rtt["direct"])
    return "\n".join(
        [
            f"### SSH through the gate vs direct (runtime: {runtime or 'runc'}, {runs} runs, medians)",
            "",
            "| measure | direct | gate | gate vs direct | target |",
            "|---|---|---|---|---|",
            f"| round trip (ms, median of 300) | {d_rtt:.3f} | {g_rtt:.3f} | +{g_rtt - d_rtt:.3f} ms | ≤ +2 ms |",
            f"| scp 100 MB (MB/s) | {d_tp:.1f} | {g_tp:.1f} | {g_tp / d_tp:.0%} | ≥ 80% |",
            "",
        ]
    )


if __name__ == "__main__":
    print(main(int(sys.argv[1]) if len(sys.argv) > 1 else 5))
