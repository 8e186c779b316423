"""Work that survives the bottle: a checkout at start, and nothing lost at the end.

A real git upstream (sshd) behind the bottle's real git gate. The agent's working folder is a
volume; at the end, a helper container reads it and the launcher saves what was not pushed under
$XDG_DATA_HOME/claude-bottle/rescued/<agent>/<time>-<id>/, where `git clone` and `git apply` on
the host take it back. Each way a bottle ends is tried: `stop`, `stop --discard`, SIGTERM to an
attached launcher, and a person at a terminal who is asked.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
from pathlib import Path

import git_fixtures
import pytest
from e2e_helpers import bottle_launch, launch_detached, launch_yes, launcher_command, leftovers
from git_fixtures import REPO, git_bottle
from terminal import Terminal

APP = "/home/claude/work/app"
GIT = "git -c user.name=agent -c user.email=agent@test"
# An unpushed commit, a change to a tracked file, and an untracked file.
MAKE_WORK = (
    f"cd {APP} && echo 'def feature(): pass' > feature.py && git add feature.py && {GIT} commit -q -m 'agent work' "
    "&& echo 'changed by the agent' >> upstream.txt && echo draft > notes.md"
)
PROMPT = re.compile(r"bash-[\d.]+\$")


# A real sshd with the repository, behind a forced command that lets a test make upstream refuse
# fetches from some point on.
key, forge = git_fixtures.key, git_fixtures.forge


@pytest.fixture(scope="module")
def manifest(tmp_path_factory, key, forge, upstream_subnet) -> Path:
    folder = tmp_path_factory.mktemp("workspace")
    bottle = git_bottle(folder, key, forge, upstream_subnet)
    path = folder / "claude-bottle.json"
    agents = {"tester": {"bottle": "ws", "checkout": [REPO]}}
    path.write_text(json.dumps({"bottles": {"ws": bottle}, "agents": agents}))
    return path


@pytest.fixture
def data_home(tmp_path) -> Path:
    return tmp_path / "data"


def rescued(data_home: Path) -> list[Path]:
    root = data_home / "claude-bottle" / "rescued" / "tester"
    return sorted(root.iterdir()) if root.exists() else []


def sh(bottle_id: str, script: str) -> subprocess.CompletedProcess[str]:
    result = bottle_launch("exec", "-T", bottle_id, "--", "bash", "-c", script, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def assert_work_comes_back(folder: Path, tmp_path: Path) -> None:
    """The bundle clones with the agent's commit; the patch applies on top and gives back the
    change and the untracked file."""
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(folder / "app" / "commits.bundle"), str(clone)], check=True)
    log = subprocess.run(["git", "-C", str(clone), "log", "--format=%s"], capture_output=True, text=True).stdout
    assert "agent work" in log, log
    subprocess.run(["git", "-C", str(clone), "apply", str(folder / "app" / "changes.patch")], check=True)
    assert "changed by the agent" in (clone / "upstream.txt").read_text()
    assert (clone / "notes.md").read_text() == "draft\n"
    assert "git clone" in (folder / "README.md").read_text()


def test_the_checkout_is_fresh_and_claude_starts_inside_it(manifest, forge, upstream_network, client, data_home):
    made = forge.sh(f"upstream-commit {REPO} 'just before the launch'").strip()
    # The agent's command (claude, normally) says where it started.
    command = ("bash", "-c", "pwd > /tmp/started-in; exec sleep infinity")
    started = launch_yes(manifest, upstream_network, command, "--detach", env={"XDG_DATA_HOME": str(data_home)})
    assert started.returncode == 0, started.stderr
    bottle_id = started.stdout.strip()
    try:
        seen = sh(bottle_id, "cat /tmp/started-in; pwd; git log -1 --format=%H; git config remote.origin.url").stdout
        assert seen.split() == [APP, APP, made, f"forge:{REPO}"], seen
        # claude's state trusts the checkout, so no trust dialog stands before the input box.
        state = json.loads(sh(bottle_id, 'cat "$CLAUDE_CONFIG_DIR/.claude.json"').stdout)
        assert state["projects"][APP]["hasTrustDialogAccepted"] is True
    finally:
        stopped = bottle_launch("stop", bottle_id, env={"XDG_DATA_HOME": str(data_home)})
    # A fresh checkout has nothing unsaved: nothing is written, nothing is said.
    assert stopped.returncode == 0, stopped.stderr
    assert rescued(data_home) == [] and "claude-bottle:" not in stopped.stderr, stopped.stderr
    assert leftovers(client, bottle_id) == []


def test_a_checkout_that_fails_ends_the_launch_before_claude_starts(manifest, forge, upstream_network):
    # The gate's own start reads upstream twice (fetch, then its HEAD); the checkout's clone, which
    # makes the gate refresh from upstream first, is refused.
    forge.sh("echo 2 > /tmp/fetches-left")
    try:
        result = bottle_launch(
            "tester", "--manifest", str(manifest), "--yes", "--egress-network", upstream_network,
            "--", "bash", "-c", "echo claude-started",
        )  # fmt: skip
    finally:
        forge.sh("rm -f /tmp/fetches-left")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "the checkout failed, so claude was not started" in result.stderr, result.stderr
    assert "checkout of demo/app failed" in result.stderr
    assert "claude-started" not in result.stdout and "Traceback" not in result.stderr


def test_stop_saves_unpushed_and_uncommitted_work_to_the_host(manifest, upstream_network, client, data_home, tmp_path):
    env = {"XDG_DATA_HOME": str(data_home)}
    bottle_id = launch_detached(manifest, upstream_network, env=env).stdout.strip()
    sh(bottle_id, MAKE_WORK)
    stopped = bottle_launch("stop", bottle_id, env=env)
    assert stopped.returncode == 0, stopped.stderr
    (folder,) = rescued(data_home)
    assert folder.name.endswith(f"-{bottle_id}")
    assert f"claude-bottle: bottle {bottle_id} has work that is not pushed:" in stopped.stderr
    assert "app: 1 commit not pushed, 1 changed file, 1 untracked file" in stopped.stderr
    assert f"saved to {folder}" in stopped.stderr
    assert_work_comes_back(folder, tmp_path)
    assert leftovers(client, bottle_id) == []


def test_stop_with_discard_saves_nothing(manifest, upstream_network, client, data_home):
    env = {"XDG_DATA_HOME": str(data_home)}
    bottle_id = launch_detached(manifest, upstream_network, env=env).stdout.strip()
    sh(bottle_id, MAKE_WORK)
    stopped = bottle_launch("stop", "--discard", bottle_id, env=env)
    assert stopped.returncode == 0, stopped.stderr
    assert rescued(data_home) == []
    assert "discarded (--discard)" in stopped.stderr
    assert leftovers(client, bottle_id) == []


def test_sigterm_to_an_attached_launcher_saves_the_work(manifest, upstream_network, client, data_home, tmp_path):
    env = {"XDG_DATA_HOME": str(data_home)}
    script = f"{MAKE_WORK} && echo work-done && sleep 600"
    argv, full_env = launcher_command(
        "tester", "--manifest", str(manifest), "--yes", "--egress-network", upstream_network,
        "--", "bash", "-c", script, env=env,
    )  # fmt: skip
    launcher = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=full_env)
    try:
        assert launcher.stdout is not None
        deadline = time.monotonic() + 120
        while "work-done" not in launcher.stdout.readline():
            assert time.monotonic() < deadline and launcher.poll() is None, "the agent never did its work"
        bottle_id = client.containers.list(
            filters={"label": [f"dev.claude-bottle.launcher-pid={launcher.pid}", "dev.claude-bottle.role=agent"]}
        )[0].labels["dev.claude-bottle.id"]
        launcher.send_signal(signal.SIGTERM)
        _, stderr = launcher.communicate(timeout=180)
    finally:
        if launcher.poll() is None:
            launcher.kill()
    assert launcher.returncode == 128 + signal.SIGTERM, stderr
    (folder,) = rescued(data_home)
    assert f"saved to {folder}" in stderr, stderr
    assert_work_comes_back(folder, tmp_path)
    assert leftovers(client, bottle_id) == []


@pytest.mark.parametrize("answer", ["", "n"])
def test_at_a_terminal_the_person_is_asked_and_saving_is_the_default(
    manifest, upstream_network, client, data_home, tmp_path, answer
):
    args = ["tester", "--manifest", str(manifest), "--yes", "--egress-network", upstream_network]
    terminal = Terminal([*args, "--", "bash", "--norc", "-i"], env={"XDG_DATA_HOME": str(data_home)})
    try:
        terminal.wait_for(lambda screen: bool(PROMPT.search(screen)), "bash's prompt", timeout=120)
        terminal.type(f"{MAKE_WORK}; echo made-$((6*7))")
        terminal.wait_for_text("made-42", timeout=60)
        terminal.type("exit")
        screen = terminal.wait_for_text("[Y/n]", timeout=120)
        assert "app: 1 commit not pushed, 1 changed file, 1 untracked file" in screen, screen
        terminal.type(answer)
        code = terminal.wait_for_exit(timeout=120)
    finally:
        terminal.close()
    transcript = terminal.transcript.decode(errors="replace")
    assert code == 0, transcript[-3000:]
    assert "Traceback" not in transcript
    if answer == "n":
        assert rescued(data_home) == [] and "claude-bottle: discarded" in transcript
    else:
        (folder,) = rescued(data_home)
        assert "saved to" in transcript
        assert_work_comes_back(folder, tmp_path)
