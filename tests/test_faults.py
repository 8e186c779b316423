"""Whatever goes wrong, and however the launcher ends, no bottle part is left behind."""

from __future__ import annotations

import os
import signal
import time

import pexpect
import pytest
from e2e_helpers import bottle_launch, launch_yes, launcher_command

AGENT_LABEL = "dev.claude-bottle.agent=tester"


def parts(client, pid: int | None = None) -> set[str]:
    labels = [AGENT_LABEL] + ([f"dev.claude-bottle.launcher-pid={pid}"] if pid else [])
    # The engine's list alone, not containers.list(), which inspects each one and fails on a
    # short-lived helper (a fence) removed in between.
    containers = [c["Names"][0].lstrip("/") for c in client.api.containers(all=True, filters={"label": labels})]
    networks = client.networks.list(filters={"label": labels})
    return set(containers) | {n.name for n in networks}


def spawn(manifest, upstream_network, *args: str, yes: bool = True) -> pexpect.spawn:
    argv, env = launcher_command(
        "tester", "--manifest", str(manifest), "--egress-network", upstream_network, *(["--yes"] if yes else []),
        *args, env={"E2E_SECRET": "s"},
    )  # fmt: skip
    return pexpect.spawn(argv[0], argv[1:], env=env, encoding="utf-8", timeout=120)


def wait_for(predicate, timeout: float = 60, interval: float = 0.02) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    pytest.fail("condition not reached in time")


def test_failing_sidecar_leaves_nothing(client, images, manifest):
    before = parts(client)
    # The host network cannot be joined by a bridge container: the egress sidecar fails midway,
    # after the bottle's internal network and the sidecar container exist.
    result = launch_yes(manifest, "host", ("true",), env={"E2E_SECRET": "s"})
    assert result.returncode == 1
    assert "the Docker engine refused" in result.stderr
    assert "Traceback" not in result.stderr
    assert parts(client) == before


def test_unknown_runtime_is_a_clear_error(images, manifest, upstream_network):
    result = bottle_launch(
        "tester", "--manifest", str(manifest), "--yes", "--runtime", "nope", "--", "true", env={"E2E_SECRET": "s"}
    )
    assert result.returncode == 1
    assert "runtime 'nope' is not registered" in result.stderr


def test_sigkill_of_the_launcher_then_prune_leaves_nothing(client, images, manifest, upstream_network):
    child = spawn(manifest, upstream_network, "--", "sleep", "infinity")
    try:
        agent = [f"dev.claude-bottle.launcher-pid={child.pid}", "dev.claude-bottle.role=agent"]
        wait_for(lambda: bool(client.api.containers(filters={"label": agent, "status": "running"})))
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        left = parts(client, child.pid)
        assert left, "the killed launcher should have left its bottle behind"
        result = bottle_launch("prune")
        assert result.returncode == 0, result.stderr
        assert parts(client, child.pid) == set()
    finally:
        child.close(force=True)


def test_ctrl_c_during_start_leaves_nothing(client, images, manifest, upstream_network):
    child = spawn(manifest, upstream_network, "--", "sleep", "infinity")
    try:
        wait_for(lambda: parts(client, child.pid), interval=0.005)
        child.sendintr()  # Ctrl-C on the terminal, while the bottle is being built up
        child.expect(pexpect.EOF)
        child.close()
        assert child.exitstatus == 130
        assert parts(client, child.pid) == set()
    finally:
        child.close(force=True)


def test_without_a_terminal_and_without_yes_it_refuses(images, manifest, upstream_network):
    result = bottle_launch("tester", "--manifest", str(manifest), "--", "true", env={"E2E_SECRET": "s"}, stdin=-3)
    assert result.returncode == 1
    assert "no terminal to ask on" in result.stderr


# The agent's command prints a marker computed in the shell, so the preflight (which shows the
# command) can never match it.
READY = "echo ready-$((40+2))"


def test_answering_y_starts_the_bottle_and_passes_the_terminal_through(client, images, manifest, upstream_network):
    child = spawn(manifest, upstream_network, "--", "sh", "-c", f"{READY}; read x; echo got-$x; exit 3", yes=False)
    try:
        child.expect_exact("Start this bottle? [y/N] ")
        child.sendline("y")
        child.expect_exact("ready-42")
        child.sendline("typed-in")  # read by the agent's command through its TTY
        child.expect_exact("got-typed-in")
        child.expect(pexpect.EOF)
        child.close()
        assert child.exitstatus == 3  # the agent's exit code is the launcher's
        assert parts(client, child.pid) == set()
    finally:
        child.close(force=True)


def test_the_default_answer_is_no(client, images, manifest, upstream_network):
    child = spawn(manifest, upstream_network, "--", "true", yes=False)
    try:
        child.expect_exact("Start this bottle? [y/N] ")
        child.sendline("")
        child.expect_exact("not started")
        child.expect(pexpect.EOF)
        child.close()
        assert child.exitstatus == 1
        assert parts(client, child.pid) == set()
    finally:
        child.close(force=True)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_a_signal_while_attached_removes_the_bottle(client, images, manifest, upstream_network, signum):
    child = spawn(manifest, upstream_network, "--", "sh", "-c", f"{READY}; sleep 1000")
    try:
        child.expect_exact("ready-42")
        assert parts(client, child.pid)
        os.kill(child.pid, signum)
        child.expect_exact(f"{signal.Signals(signum).name}; removing the bottle")
        child.expect(pexpect.EOF)
        child.close()
        assert child.exitstatus == 128 + signum
        assert parts(client, child.pid) == set()
    finally:
        child.close(force=True)


def test_ctrl_c_while_attached_reaches_the_agent(client, images, manifest, upstream_network):
    script = f"trap 'echo agent-got-int; exit 5' INT; {READY}; while :; do sleep 0.1; done"
    child = spawn(manifest, upstream_network, "--", "sh", "-c", script)
    try:
        child.expect_exact("ready-42")
        child.sendintr()
        child.expect_exact("agent-got-int")
        child.expect(pexpect.EOF)
        child.close()
        assert child.exitstatus == 5  # the launcher was not interrupted; the agent was
        assert parts(client, child.pid) == set()
    finally:
        child.close(force=True)


def test_without_a_terminal_the_output_and_exit_code_still_come_through(client, images, manifest, upstream_network):
    script = "read line; echo out-$((6*7)) $line; exit 4"
    result = launch_yes(manifest, upstream_network, ("sh", "-c", script), env={"E2E_SECRET": "s"}, input="piped-in\n")
    assert "out-42 piped-in" in result.stdout
    assert result.returncode == 4
