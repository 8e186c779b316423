"""The read-only commands, run as a user runs them: a real process, real files, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "claude-bottle.example.json"
KEY = "gitea.example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBciZoELc2LK1yk7EfOI5C31dP5Wa2s+Nq9gA4f/kEiA"


def run(
    *args: str, cwd: Path | None = None, home: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "HOME": str(home), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "bottle_launcher", *args],
        cwd=cwd or home,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


def test_validate_ok(home):
    result = run("validate", "--manifest", str(EXAMPLE), home=home)
    assert result.returncode == 0, result.stderr
    assert "ok: 1 agents, 1 bottles" in result.stdout


def test_validate_prints_one_line_per_error_and_exits_1(home, tmp_path):
    bad = tmp_path / "claude-bottle.json"
    bad.write_text(
        json.dumps(
            {
                "bottles": {"b": {"egress": {"allowlist": ["https://x.com"]}, "evn": {}}},
                "agents": {"a": {"bottle": "zz"}},
            }
        )
    )
    result = run("validate", cwd=tmp_path, home=home)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert sorted(lines) == sorted(
        [
            f"{bad}: bottles.b.egress.allowlist[0]: 'https://x.com' has a scheme; "
            "write just the host name, e.g. 'x.com'",
            f"{bad}: bottles.b.evn: unknown key 'evn'; did you mean 'env'?",
            f"{bad}: agents.a.bottle: bottle 'zz' does not exist; bottles: b",
        ]
    )
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_no_manifest_anywhere(home, tmp_path):
    result = run("validate", cwd=tmp_path, home=home)
    assert result.returncode == 1
    assert "no manifest found; searched:" in result.stderr
    assert str(home / "claude-bottle.json") in result.stderr


def test_plan_json_has_the_documented_keys_and_no_secret_values(home):
    secret = "hunter2-super-secret"
    result = run("plan", "demo", "--json", "--manifest", str(EXAMPLE), home=home, env={"GH_PAT": secret})
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    assert plan["agent"] == "demo"
    assert plan["bottle"] == "demo-bottle"
    assert plan["sources"] == [str(EXAMPLE)]
    assert plan["env"] == [
        {"name": "GITEA_TOKEN", "source": "prompt"},
        {"name": "GITHUB_TOKEN", "source": "host", "credential_hosts": ["api.github.com", "github.com"]},
        {"name": "GIT_AUTHOR_NAME", "source": "literal"},
    ]
    assert plan["skills"] == ["init-prd"]
    assert plan["prompt"] == "You help maintain the demo project."
    assert plan["ssh"] == [{"host": "gitea", "hostname": "gitea.example.com", "port": 30009, "user": "git"}]
    assert plan["git"] == [
        {"host": "forge", "hostname": "git.example.com", "port": 22, "repos": ["demo/app", "demo/docs"]}
    ]
    allowlist = plan["egress"]["allowlist"]
    assert allowlist == sorted(set(allowlist))
    assert {"api.anthropic.com", "github.com", "*.pythonhosted.org"} <= set(allowlist)
    assert secret not in result.stdout + result.stderr
    assert "demo" not in plan["env"][2].values()  # the literal's value is not shown either


def test_plan_never_prompts_and_needs_no_host_variables(home):
    result = run("plan", "demo", "--manifest", str(EXAMPLE), home=home)
    assert result.returncode == 0, result.stderr
    assert "GITEA_TOKEN  <prompt>" in result.stdout
    assert "GITHUB_TOKEN  <host>  placeholder; real value only to api.github.com, github.com" in result.stdout
    assert "gitea -> gitea.example.com:30009" in result.stdout


def test_plan_unknown_agent(home):
    result = run("plan", "nope", "--manifest", str(EXAMPLE), home=home)
    assert result.returncode == 1
    assert "agents.nope: no such agent; agents: demo" in result.stderr


def test_schema_prints_the_json_schema(home):
    result = run("schema", home=home)
    assert result.returncode == 0
    assert json.loads(result.stdout) == json.loads((ROOT / "docs" / "manifest.schema.json").read_text())


def test_usage_errors_exit_2(home):
    assert run("plan", home=home).returncode == 2
    assert run("plan", "demo", "--bogus", "--manifest", str(EXAMPLE), home=home).returncode == 2
    assert run("validate", "--manifest", home=home).returncode == 2


def test_agent_name_is_shorthand_for_start_and_subcommands_win(home, tmp_path):
    manifest = tmp_path / "claude-bottle.json"
    manifest.write_text(
        json.dumps({"bottles": {"b": {}}, "agents": {"plan": {"bottle": "b"}, "helper": {"bottle": "b"}}})
    )
    # `plan` is a subcommand, so `bottle-launch plan` is the subcommand, not the agent
    assert "Missing argument 'AGENT'" in run("plan", cwd=tmp_path, home=home).stderr
    # `start plan` reaches the agent named plan; `bottle-launch helper` is `start helper`
    for args in (["start", "plan"], ["helper"]):
        result = run(
            *args, "--yes", "--", "true", cwd=tmp_path, home=home, env={"DOCKER_HOST": "unix:///nonexistent.sock"}
        )
        assert "no such agent" not in result.stderr
        assert "No such command" not in result.stderr
    unknown = run("nobody", cwd=tmp_path, home=home)
    assert unknown.returncode == 1
    assert "agents.nobody: no such agent; agents: helper, plan" in unknown.stderr


def test_start_without_token_refuses_before_anything_starts(home, tmp_path):
    manifest = tmp_path / "claude-bottle.json"
    manifest.write_text(json.dumps({"bottles": {"b": {}}, "agents": {"a": {"bottle": "b"}}}))
    env = {"CLAUDE_BOTTLE_OAUTH_TOKEN": "", "DOCKER_HOST": "unix:///nonexistent.sock"}
    result = run("a", "--yes", cwd=tmp_path, home=home, env=env)
    assert result.returncode == 1
    assert "CLAUDE_BOTTLE_OAUTH_TOKEN is not set" in result.stderr
    assert "claude setup-token" in result.stderr


def test_missing_skill_is_an_error_before_anything_starts(home, tmp_path):
    manifest = tmp_path / "claude-bottle.json"
    manifest.write_text(json.dumps({"bottles": {"b": {}}, "agents": {"a": {"bottle": "b", "skills": ["nope"]}}}))
    result = run("a", "--yes", "--", "true", cwd=tmp_path, home=home, env={"DOCKER_HOST": "unix:///nonexistent.sock"})
    assert result.returncode == 1
    assert "skill(s) not found: nope" in result.stderr
    assert str(tmp_path / ".claude" / "skills") in result.stderr


def test_missing_host_variable_is_an_error_before_anything_starts(home, tmp_path):
    manifest = tmp_path / "claude-bottle.json"
    manifest.write_text(
        json.dumps({"bottles": {"b": {"env": {"T": "${NOPE_NOT_SET}"}}}, "agents": {"a": {"bottle": "b"}}})
    )
    result = run("a", "--yes", "--", "true", cwd=tmp_path, home=home, env={"DOCKER_HOST": "unix:///nonexistent.sock"})
    assert result.returncode == 1
    assert "needs host variable 'NOPE_NOT_SET'" in result.stderr


def test_an_unreadable_identity_file_stops_the_launch_before_anything_starts(home, tmp_path):
    manifest = tmp_path / "claude-bottle.json"
    entry = {
        "Host": "gitea",
        "Hostname": "gitea.example.com",
        "IdentityFile": str(tmp_path / "missing_key"),
        "KnownHostKey": KEY,
    }
    manifest.write_text(json.dumps({"bottles": {"b": {"ssh": [entry]}}, "agents": {"a": {"bottle": "b"}}}))
    # DOCKER_HOST points nowhere: the identity is checked before the engine is even contacted.
    result = run("a", "--yes", "--", "true", cwd=tmp_path, home=home, env={"DOCKER_HOST": "tcp://127.0.0.1:9"})
    assert result.returncode == 1
    assert f"ssh entry 'gitea': cannot read IdentityFile {tmp_path / 'missing_key'}" in result.stderr
    assert "Traceback" not in result.stderr
    (tmp_path / "missing_key").write_text("ssh-ed25519 AAAA public half\n")
    result = run("a", "--yes", "--", "true", cwd=tmp_path, home=home, env={"DOCKER_HOST": "tcp://127.0.0.1:9"})
    assert "is not a private key" in result.stderr
