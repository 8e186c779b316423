"""Claude Code's configuration in the plan: seeded so the client opens on its input box, in a
working folder that is not $HOME, with the agent's own claude options."""

from __future__ import annotations

import dataclasses
import io
import json

import pytest
from bottle_contract.agent import HOME as AGENT_HOME
from bottle_contract.agent import WORKDIR
from bottle_launcher import preflight
from bottle_launcher.images import BuildOptions
from bottle_launcher.images._build import _build_args
from bottle_launcher.plan import LaunchOptions, Plan, build_runtime_plan
from rich.console import Console


def plan(**claude: str) -> Plan:
    base = Plan("a", "b", (), (), (), None, (), (), ("api.anthropic.com",))
    return dataclasses.replace(base, **{f"claude_{key}": value for key, value in claude.items()})


def agent_file(p: Plan, path: str) -> dict:
    agent = build_runtime_plan(p, LaunchOptions(bottle_id="x")).agent
    found = next(f for f in agent.files if f.path == path)
    assert found.directory == AGENT_HOME and found.uid == 1000 and found.mode == 0o600
    return json.loads(found.content)


def test_claude_starts_in_a_trusted_working_folder_that_is_not_home():
    agent = build_runtime_plan(plan(), LaunchOptions(bottle_id="x")).agent
    assert agent.working_dir == WORKDIR != AGENT_HOME
    state = agent_file(plan(), ".bottle/claude-state.json")  # merged into claude's own by the entrypoint
    assert agent.environment["CLAUDE_CONFIG_DIR"] == f"{AGENT_HOME}/.claude"
    assert state["hasCompletedOnboarding"] is True
    assert state["projects"][WORKDIR]["hasTrustDialogAccepted"] is True
    assert AGENT_HOME not in state["projects"]


def test_without_options_the_settings_hold_no_mode_or_model():
    settings = agent_file(plan(), ".claude/settings.json")
    assert "permissions" not in settings and "model" not in settings


def test_the_agents_mode_and_model_reach_every_claude_through_its_settings():
    settings = agent_file(plan(permission_mode="bypassPermissions", model="opus"), ".claude/settings.json")
    assert settings["permissions"] == {"defaultMode": "bypassPermissions"}
    assert settings["model"] == "opus"


@pytest.mark.parametrize(("mode", "warned"), [("bypassPermissions", True), ("plan", False)])
def test_the_preflight_shows_the_claude_options(mode, warned):
    out = io.StringIO()
    preflight.render(
        plan(permission_mode=mode, model="sonnet"),
        image="img",
        runtime="runc",
        command=("claude",),
        console=Console(file=out, width=120),
    )
    text = out.getvalue()
    assert f"claude mode   {mode}" in text and "claude model  sonnet" in text and WORKDIR in text
    assert ("tools run without asking" in text) is warned


def test_a_claude_code_version_is_a_build_argument_of_the_agent_image_only():
    options = BuildOptions(claude_code_version="2.1.400")
    assert _build_args(options, "agent")["CLAUDE_CODE_VERSION"] == "2.1.400"
    assert "CLAUDE_CODE_VERSION" not in _build_args(options, "egress")
    assert "CLAUDE_CODE_VERSION" not in _build_args(BuildOptions(), "agent")


def test_the_version_comes_from_the_host_variable(monkeypatch):
    monkeypatch.setenv("BOTTLE_CLAUDE_CODE_VERSION", "2.1.400")
    assert BuildOptions.from_env().claude_code_version == "2.1.400"
    monkeypatch.delenv("BOTTLE_CLAUDE_CODE_VERSION")
    assert BuildOptions.from_env().claude_code_version is None
