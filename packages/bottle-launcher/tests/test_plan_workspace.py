"""The working folder in the plan: its volume, the checkouts and where claude starts."""

from __future__ import annotations

import json
import subprocess
from dataclasses import replace

from bottle_launcher.plan import GitRemote, LaunchOptions, Plan, build_runtime_plan
from bottle_launcher.plan._model import Checkout
from bottle_launcher.plan._workspace import checkout_script

KEY = "git.example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBciZoELc2LK1yk7EfOI5C31dP5Wa2s+Nq9gA4f/kEiA"
REMOTE = GitRemote("forge", "git.example.com", 22, "git", ("demo/app", "demo/docs"), KEY)


def plan(*checkouts: Checkout) -> Plan:
    base = Plan("dev", "b", (), (), (), None, (), (REMOTE,), ("api.anthropic.com",))
    return replace(base, checkouts=checkouts)


def test_the_working_folder_is_a_volume_of_the_bottle_s_own():
    runtime = build_runtime_plan(plan(), LaunchOptions(bottle_id="x1"))
    (volume,) = runtime.volumes
    assert volume.name == "bottle-dev-x1-work"
    assert volume.labels["dev.claude-bottle.id"] == "x1" and volume.labels["dev.claude-bottle.role"] == "work"
    assert runtime.agent.mounts == {volume.name: "/home/claude/work"}
    assert "BOTTLE_START_FOLDER" not in runtime.agent.environment
    assert checkout_script(runtime.plan) is None


def test_one_checkout_is_where_claude_starts_and_every_checkout_is_trusted():
    app, docs = Checkout("demo/app", "forge:demo/app", "app"), Checkout("demo/docs", "forge:demo/docs", "docs")
    one = build_runtime_plan(plan(app), LaunchOptions(bottle_id="x1"))
    assert one.agent.environment["BOTTLE_START_FOLDER"] == "/home/claude/work/app"
    two = build_runtime_plan(plan(app, docs), LaunchOptions(bottle_id="x1"))
    assert "BOTTLE_START_FOLDER" not in two.agent.environment  # two: claude starts above both
    state = json.loads(next(f.content for f in two.agent.files if f.path == ".bottle/claude-state.json"))
    assert set(state["projects"]) == {"/home/claude/work", "/home/claude/work/app", "/home/claude/work/docs"}


def test_the_checkout_script_clones_each_and_stops_at_the_first_failure(tmp_path):
    script = checkout_script(plan(Checkout("demo/app", "forge:demo/app; touch /tmp/x", "app")))
    assert script is not None
    assert "'forge:demo/app; touch /tmp/x'" in script  # quoted: a URL is never shell
    # Run it (with the folder pointed here): git's own reason comes out, and the exit code.
    done = subprocess.run(
        ["bash", "-c", script.replace("/home/claude/work", str(tmp_path))], capture_output=True, text=True
    )
    assert done.returncode == 1
    assert "checkout of demo/app failed" in done.stderr and "fatal:" in done.stderr


def test_an_agent_that_persists_mounts_volumes_named_for_it_and_its_project():
    persisting = replace(plan(), persist=True, project="/home/me/project")
    runtime = build_runtime_plan(persisting, LaunchOptions(bottle_id="x1"))
    work, state = runtime.volumes
    assert work.persistent and state.persistent
    assert work.name.startswith("claude-bottle-dev-") and work.name.endswith("-work")
    assert state.name == work.name.removesuffix("-work") + "-claude"
    # No bottle id on them: removing the bottle (by its id label) leaves them.
    assert "dev.claude-bottle.id" not in work.labels and work.labels["dev.claude-bottle.persist"] == "true"
    assert work.labels["dev.claude-bottle.project"] == "/home/me/project"
    assert runtime.agent.mounts == {work.name: "/home/claude/work", state.name: "/home/claude/.claude"}
    assert runtime.agent.labels["dev.claude-bottle.volume"] == work.name
    # Another project, or another agent, gets volumes of its own.
    elsewhere = build_runtime_plan(replace(persisting, project="/home/me/other"), LaunchOptions(bottle_id="x2"))
    other_agent = build_runtime_plan(replace(persisting, agent="ops"), LaunchOptions(bottle_id="x3"))
    names = {v.name for r in (runtime, elsewhere, other_agent) for v in r.volumes}
    assert len(names) == 6


def test_a_checkout_already_there_is_fetched_not_cloned_again(tmp_path):
    upstream = tmp_path / "up"
    subprocess.run(["git", "init", "-q", "-b", "main", str(upstream)], check=True)
    subprocess.run(["git", "-C", str(upstream), "-c", "user.name=a", "-c", "user.email=a@b", "commit", "-q",
                    "--allow-empty", "-m", "one"], check=True)  # fmt: skip
    script = checkout_script(plan(Checkout("demo/app", str(upstream), "app")))
    assert script is not None
    local = script.replace("/home/claude/work", str(tmp_path))
    assert subprocess.run(["bash", "-c", local]).returncode == 0
    (tmp_path / "app" / "left-by-the-last-session.txt").write_text("kept\n")
    assert subprocess.run(["bash", "-c", local]).returncode == 0  # a second start: fetched, not clobbered
    assert (tmp_path / "app" / "left-by-the-last-session.txt").read_text() == "kept\n"


def test_an_archived_clone_goes_into_a_fresh_working_folder_and_is_not_cloned_again():
    app = Checkout("workspace/app", "git-gate:workspace/app", "app", archived=True)
    docs = Checkout("demo/docs", "forge:demo/docs", "docs")
    runtime = build_runtime_plan(plan(app, docs), LaunchOptions(bottle_id="x1", workspace_clone=b"tar"))
    assert [(v.seed, runtime.agent.mounts[v.name]) for v in runtime.volumes] == [(b"tar", "/home/claude/work")]
    script = checkout_script(runtime.plan)
    assert script is not None and "forge:demo/docs" in script and "workspace/app" not in script
    assert checkout_script(plan(app)) is None
    # A persisted folder may hold the last session's work: nothing is unpacked over it.
    persisting = replace(plan(app), persist=True, project="/home/me/project")
    persisted = build_runtime_plan(persisting, LaunchOptions(bottle_id="x1", workspace_clone=b"tar")).volumes
    assert persisted and all(v.seed == b"" for v in persisted)
