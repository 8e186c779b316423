"""A dead gate is noticed.

A gate that dies fails closed: the agent runs on without its network, ssh or git. That is right,
but the user must hear of it. Attached, the launcher tells them at once on their terminal which
gate stopped and why, and the end-of-session summary says it again; `ps` shows the bottle as
`degraded`, naming the gate, with its exit code. Positive control: before the kill, `ps` says
`running` and no notice appears.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path

import pytest
from e2e_helpers import bottle_launch, launch_detached, leftovers
from terminal import Terminal
from upstreams import KeyPair

READY = "echo ready-$((40+2))"  # computed in the shell, so the echo of the typed line never matches
PROMPT = re.compile(r"bash-[\d.]+\$")
NOTICE = "claude-bottle: the egress gate stopped ("


def write_manifest(folder: Path, subnet: str, ssh: bool = False) -> Path:
    bottle: dict = {"egress": {"allowlist": ["allowed.test"], "allow_cidrs": [subnet]}}
    if ssh:
        # The ssh gate is up (its forwarders listen) without reaching the upstream.
        pair = KeyPair.generate()
        identity = folder / "id_forge"
        identity.write_bytes(pair.private)
        identity.chmod(0o600)
        bottle["ssh"] = [
            {
                "Host": "forge",
                "Hostname": "forge.test",
                "User": "git",
                "IdentityFile": str(identity),
                "KnownHostKey": f"forge.test {pair.public}",
            }
        ]
    path = folder / "claude-bottle.json"
    path.write_text(json.dumps({"bottles": {"e2e": bottle}, "agents": {"tester": {"bottle": "e2e"}}}))
    return path


def ps_row(bottle_id: str) -> dict:
    listed = bottle_launch("ps", "--json")
    assert listed.returncode == 0, listed.stderr
    return next(row for row in json.loads(listed.stdout) if row["id"] == bottle_id)


def ps_line(bottle_id: str) -> list[str]:
    listed = bottle_launch("ps")
    assert listed.returncode == 0, listed.stderr
    return next(line.split() for line in listed.stdout.splitlines() if line.startswith(bottle_id))


def wait_for_state(bottle_id: str, state: str, timeout: float = 15) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        row = ps_row(bottle_id)
        if row["state"] == state or time.monotonic() > deadline:
            return row
        time.sleep(0.2)


def kill(container: str) -> None:
    result = subprocess.run(["docker", "kill", container], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def bottle_of(client, launcher_pid: int) -> str:
    labels = [f"dev.claude-bottle.launcher-pid={launcher_pid}", "dev.claude-bottle.role=agent"]
    agents = client.containers.list(filters={"label": labels})
    assert len(agents) == 1, [c.name for c in agents]
    return agents[0].labels["dev.claude-bottle.id"]


def test_an_attached_session_is_told_at_once_when_its_egress_gate_is_killed(
    client, images, tmp_path, upstream_network, upstream_subnet
):
    manifest = write_manifest(tmp_path, upstream_subnet)
    args = ["tester", "--manifest", str(manifest), "--yes", "--egress-network", upstream_network]
    terminal = Terminal([*args, "--", "bash", "--norc", "-i"])
    bottle_id = ""
    try:
        terminal.wait_for(lambda screen: bool(PROMPT.search(screen)), "bash's prompt", timeout=120)
        terminal.type(READY)
        terminal.wait_for_text("ready-42")
        bottle_id = bottle_of(client, terminal.child.pid)
        # Positive control: with every gate up, ps says running and nothing is told.
        terminal.pump(1.0)
        assert "claude-bottle:" not in terminal.text(), terminal.text()
        assert ps_row(bottle_id)["state"] == "running"

        killed = time.monotonic()
        kill(f"bottle-tester-{bottle_id}-egress")
        screen = terminal.wait_for_text(NOTICE, timeout=10)
        took = time.monotonic() - killed
        assert took < 5, f"the notice came {took:.1f} s after the kill"
        assert "the egress gate stopped (exit 137: killed)" in screen, screen
        assert "the agent can no longer reach the network" in screen, screen

        # The session goes on, fail closed: the agent's shell answers, its network is gone.
        terminal.type("curl -sS -m 5 -o /dev/null -w 'code-%{http_code}\\n' http://allowed.test/; echo after-$((6*7))")
        screen = terminal.wait_for_text("after-42", timeout=30)
        assert "code-200" not in screen, screen
        row = ps_row(bottle_id)
        assert (row["state"], row["gates_down"]) == ("degraded", ["egress"]), row

        terminal.type("exit")
        code = terminal.wait_for_exit(timeout=90)
    finally:
        terminal.close()
    transcript = terminal.transcript.decode(errors="replace")
    assert code == 0, transcript[-3000:]
    assert "the egress gate stopped during this session (exit 137: killed)" in transcript, transcript[-3000:]
    assert "Traceback" not in transcript
    assert leftovers(client, bottle_id) == []


def test_a_session_whose_gates_all_run_ends_without_a_gate_line(
    client, images, tmp_path, upstream_network, upstream_subnet
):
    """Control for the summary: nothing about gates when none stopped (the teardown's own
    removals are not deaths)."""
    manifest = write_manifest(tmp_path, upstream_subnet)
    result = bottle_launch(
        "tester", "--manifest", str(manifest), "--yes", "--egress-network", upstream_network,
        "--", "sh", "-c", "echo done-$((6*7))",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "done-42" in result.stdout
    assert "gate stopped" not in result.stderr and "claude-bottle:" not in result.stderr, result.stderr


@pytest.fixture
def detached(client, images, tmp_path, upstream_network, upstream_subnet):
    bottle_id = launch_detached(write_manifest(tmp_path, upstream_subnet, ssh=True), upstream_network).stdout.strip()
    yield bottle_id
    bottle_launch("stop", bottle_id)
    assert leftovers(client, bottle_id) == []


def test_a_detached_bottle_with_a_killed_gate_is_degraded_in_ps_naming_it(detached):
    bottle_id = detached
    # Positive control: every container runs, and ps says so.
    row = ps_row(bottle_id)
    assert (row["state"], row["gates_down"]) == ("running", [])
    assert {c["role"]: c["state"] for c in row["containers"]} == {
        "agent": "running",
        "egress": "running",
        "ssh": "running",
    }
    assert ps_line(bottle_id)[3:] == ["running", "agent:running", "egress:running", "ssh:running"]

    kill(f"bottle-tester-{bottle_id}-ssh")
    row = wait_for_state(bottle_id, "degraded")
    assert (row["state"], row["agent_state"], row["gates_down"]) == ("degraded", "running", ["ssh"]), row
    ssh = next(c for c in row["containers"] if c["role"] == "ssh")
    assert (ssh["state"], ssh["exit_code"], ssh["oom_killed"]) == ("exited", 137, False), ssh
    assert ps_line(bottle_id)[3:] == ["degraded", "agent:running", "egress:running", "ssh:exited(137)"]
    # The agent itself runs on (fail closed: only its ssh is gone).
    assert bottle_launch("exec", "-T", bottle_id, "--", "true", timeout=120).returncode == 0

    kill(f"bottle-tester-{bottle_id}-egress")
    deadline = time.monotonic() + 15
    while ps_row(bottle_id)["gates_down"] != ["egress", "ssh"] and time.monotonic() < deadline:
        time.sleep(0.2)
    assert ps_row(bottle_id)["gates_down"] == ["egress", "ssh"]
    assert ps_line(bottle_id)[3:] == ["degraded", "agent:running", "egress:exited(137)", "ssh:exited(137)"]


def test_exec_into_a_bottle_whose_agent_died_says_why_without_a_traceback(detached):
    # Positive control: the agent runs, exec works.
    assert bottle_launch("exec", "-T", detached, "--", "true", timeout=120).returncode == 0
    kill(f"bottle-tester-{detached}-agent")
    assert wait_for_state(detached, "exited")["state"] == "exited"
    result = bottle_launch("exec", "-T", detached, "--", "true", timeout=120)
    assert result.returncode != 0
    assert f"bottle '{detached}': its agent is not running (exited(137))" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
