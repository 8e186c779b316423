"""Pushes and fetches through the git gate against direct, in the same run.

- direct: a container from the agent image on the upstream network (unfenced), pushing over SSH;
- gate: a real bottle (detached), pushing through its git gate (scan + leased forward).
Each run makes 1,000 fresh commits of random hex text (about 10 MB) in both clients, outside
the timing, and pushes them as a new branch; then times a fetch with nothing new. Hex, not
base64: random base64 now and then forms a token gitleaks flags (an EasyPost test key, once), and
the push is rightly refused. The scan's share is measured by running the gate's gitleaks over
the same range inside the gate.
Targets (issue 5): push at most 2x direct; a no-op fetch at most 300 ms added.
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

REPO = "demo/app"
MAKE_COMMITS = r"""
set -e; cd /tmp/work && git checkout -q -B main origin/main
mark=$(git rev-parse HEAD)
{ for i in $(seq 1 1000); do
    data=$(head -c 5000 /dev/urandom | od -An -v -tx1 | tr -d ' \n' | fold -w 100)
    printf 'commit refs/heads/main\ncommitter b <b@b> %s +0000\ndata 6\nbench\n' "$((1700000000 + i))"
    [ "$i" = 1 ] && printf 'from %s\n' "$mark"
    printf 'M 644 inline f%s.txt\ndata %s\n%s\n' "$((i % 50))" "$(( ${#data} + 0 ))" "$data"
  done; } | git fast-import --quiet --force
git reset -q --hard main
"""
TIME = 's=$(date +%s%N); {cmd} >/dev/null 2>&1; r=$?; e=$(date +%s%N); echo "$r $(( (e - s) / 1000 ))"'


def main(runs: int = 5) -> str:
    client = docker.from_env()
    from bottle_launcher.runtime.docker import DockerBackend, detect_runtime

    backend = DockerBackend(client)
    agent_image = backend.image("agent")
    runtime = detect_runtime(client)
    key = KeyPair.generate()
    network = client.networks.create(f"bench-git-{uuid.uuid4().hex[:6]}")
    folder = Path(tempfile.mkdtemp())
    cleanup = []
    bottle_id = None
    try:
        sshd = start_sshd(client, build_sshd_image(client), network.name, "forge.test", [key.public], repos=(REPO,))
        cleanup.append(sshd.container)
        identity = folder / "id"
        identity.write_bytes(key.private)
        entry = {
            "Host": "forge", "Hostname": "forge.test", "User": "git", "IdentityFile": str(identity),
            "KnownHostKey": f"forge.test {sshd.host_key}", "Repos": [REPO],
        }  # fmt: skip
        manifest = folder / "claude-bottle.json"
        subnet = client.networks.get(network.id).attrs["IPAM"]["Config"][0]["Subnet"]
        bottle = {"git": [entry], "egress": {"allow_cidrs": [subnet]}}  # forge.test is private
        manifest.write_text(json.dumps({"bottles": {"b": bottle}, "agents": {"bench": {"bottle": "b"}}}))
        started = launch(
            "bench", "--manifest", str(manifest), "--yes", "--detach", "--egress-network", network.name,
            "--", "sleep", "infinity",
        )  # fmt: skip
        bottle_id = started.stdout.strip()
        gate = client.containers.get(f"bottle-bench-{bottle_id}-git")
        direct = client.containers.run(
            agent_image, entrypoint=["sleep", "infinity"], network=network.name, detach=True,
            runtime=runtime, name=f"{network.name}-direct",
        )  # fmt: skip
        cleanup.append(direct)
        setup = (
            "mkdir -p -m 700 ~/.ssh && printf '%s' \"$KEY\" > ~/.ssh/id && chmod 600 ~/.ssh/id"
            " && printf '%s\\n' \"$KNOWN\" > ~/.ssh/known"
            " && git config --global core.sshCommand"
            " 'ssh -i ~/.ssh/id -o IdentitiesOnly=yes -o UserKnownHostsFile=~/.ssh/known -o StrictHostKeyChecking=yes'"
        )
        env = {"KEY": key.private.decode(), "KNOWN": f"forge.test {sshd.host_key}"}
        assert direct.exec_run(["sh", "-c", setup], environment=env).exit_code == 0

        in_direct, in_gate = in_container(direct, "bash"), in_bottle(bottle_id, "bash")

        clone = f"rm -rf /tmp/work && git clone -q ssh://git@forge.test/{REPO}.git /tmp/work"
        in_direct(clone), in_gate(clone)
        push: dict[str, list[float]] = {"direct": [], "gate": []}
        fetch: dict[str, list[float]] = {"direct": [], "gate": []}
        scan: list[float] = []
        for run in range(runs):
            for name, arm in (("direct", in_direct), ("gate", in_gate)):
                arm("cd /tmp/work && git fetch -q origin")
                arm(MAKE_COMMITS)
                base = arm("cd /tmp/work && git rev-parse origin/main").strip()
                tip = arm("cd /tmp/work && git rev-parse HEAD").strip()
                code, micros = arm(
                    TIME.format(cmd=f"cd /tmp/work && git push -q origin HEAD:refs/heads/{name}-{run}")
                ).split()
                if code != "0":
                    retry = f"cd /tmp/work && git push origin HEAD:refs/heads/{name}-{run} 2>&1 | tail -8"
                    raise SystemExit(f"{name} push failed:\n{arm(retry)}")
                push[name].append(int(micros) / 1e6)
                code, micros = arm(TIME.format(cmd="cd /tmp/work && git fetch -q origin")).split()
                assert code == "0", f"{name} fetch failed"
                fetch[name].append(int(micros) / 1e6)
                if name == "gate":
                    scan.append(_scan_seconds(gate, base, tip))
        return _report(push, fetch, scan, runtime)
    finally:
        tear_down(cleanup, bottle_id, network)


def _scan_seconds(gate: docker.models.containers.Container, base: str, tip: str) -> float:
    """The gate's own gitleaks, over exactly the pushed range, inside the gate."""
    script = (
        f"cd /srv/git/{REPO}.git && s=$(date +%s%N) && gitleaks detect --source . --log-opts '-m {tip} --not {base}'"
        " --no-banner --redact --exit-code 42 --log-level error >/dev/null 2>&1; e=$(date +%s%N);"
        " echo $(( (e - s) / 1000 ))"
    )
    code, out = gate.exec_run(["bash", "-c", script])
    assert code == 0, out
    return int(out.decode().strip()) / 1e6


def _report(push: dict[str, list[float]], fetch: dict[str, list[float]], scan: list[float], runtime: str | None) -> str:
    d_push, g_push = statistics.median(push["direct"]), statistics.median(push["gate"])
    d_fetch, g_fetch = statistics.median(fetch["direct"]), statistics.median(fetch["gate"])
    s = statistics.median(scan)
    return "\n".join(
        [
            f"### git through the gate vs direct (runtime: {runtime or 'runc'}, {len(scan)} runs, medians)",
            "",
            "| measure | direct | gate | gate vs direct | target |",
            "|---|---|---|---|---|",
            f"| push of 1,000 new commits (s) | {d_push:.2f} | {g_push:.2f} | {g_push / d_push:.2f}x | ≤ 2x |",
            f"| of which the gitleaks scan (s) | | {s:.2f} | {s / g_push:.0%} of the gate's push | |",
            f"| fetch, nothing new (s) | {d_fetch:.3f} | {g_fetch:.3f}"
            f" | +{(g_fetch - d_fetch) * 1000:.0f} ms | ≤ +300 ms |",
            "",
        ]
    )


if __name__ == "__main__":
    print(main(int(sys.argv[1]) if len(sys.argv) > 1 else 5))
