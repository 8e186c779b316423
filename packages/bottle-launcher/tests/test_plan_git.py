"""The git gate's part of the plan: every URL form is rewritten to the gate; no key in the plan."""

from __future__ import annotations

import json

from bottle_launcher.plan import GitRemote, LaunchOptions, Plan, build_runtime_plan
from bottle_launcher.plan._git import gate_config, gitconfig, url_forms

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBciZoELc2LK1yk7EfOI5C31dP5Wa2s+Nq9gA4f/kEiA"


def remote(port: int = 22) -> GitRemote:
    return GitRemote("forge", "git.example.com", port, "git", ("demo/app",), f"git.example.com {KEY}", "~/.ssh/k")


def plan(*remotes: GitRemote) -> Plan:
    return Plan("a", "b", (), (), (), None, (), tuple(remotes), ("api.anthropic.com",))


def test_every_spelling_of_the_url_is_rewritten_to_the_gate():
    assert url_forms(remote(), "demo/app") == [
        "ssh://git@git.example.com:22/demo/app",
        "ssh://git@git.example.com/demo/app",
        "git@git.example.com:demo/app",
        "forge:demo/app",
        "ssh://forge/demo/app",
    ]
    # scp-like syntax cannot carry a port, so a non-22 upstream has no such form.
    assert "git@git.example.com:demo/app" not in url_forms(remote(2222), "demo/app")
    config = gitconfig(plan(remote()))
    assert config.startswith(
        '[url "git://git-gate:9418/demo/app"]\n\tinsteadOf = ssh://git@git.example.com:22/demo/app\n'
    )


def test_the_gate_gets_the_upstream_and_the_agent_only_the_rewrite():
    runtime = build_runtime_plan(plan(remote()), LaunchOptions(bottle_id="x"))
    gate = next(s for s in runtime.sidecars if s.role == "git")
    assert gate.ports == (9418,)
    assert gate.handover == "/run/git-gate"
    config = json.loads(gate_config(runtime.plan))
    assert config["remotes"][0]["key_alias"] == "git.example.com"
    assert config["push_refs"] == ["refs/heads/*", "refs/tags/*"]
    assert [f.path for f in runtime.agent.files] == [
        ".bottle/ca.pem",
        ".bottle/claude-state.json",
        ".claude/settings.json",
        ".gitconfig",
    ]
    assert all(b"PRIVATE KEY" not in f.content for s in (*runtime.sidecars, runtime.agent) for f in s.files)
