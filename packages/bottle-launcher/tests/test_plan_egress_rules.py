"""Method-and-path rules through the launcher: the manifest's object allowlist entries reach the
plan, the gate's config document, `plan` (text and JSON), the preflight and `check`; pipelock,
which cannot enforce them, is refused. No engine: the gate's side is its own pipeline."""

from __future__ import annotations

import dataclasses
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import bottle_manifest
import pytest
from bottle_contract.egress import EgressConfig, Rule
from bottle_launcher import preflight
from bottle_launcher.egress import backend_for
from bottle_launcher.egress_check import check
from bottle_launcher.errors import LaunchError
from bottle_launcher.plan import EgressRule, build_plan, describe, egress_config
from launcher_helpers import plan_of, public, write_manifest
from rich.console import Console

TOKEN = "gh-token-0123456789abcdef"
MANIFEST = {
    "bottles": {
        "dev": {
            "env": {"GH_TOKEN": {"value": TOKEN, "hosts": ["api.github.com"]}},
            "egress": {
                "allowlist": [
                    "pypi.org",
                    {"host": "api.github.com", "methods": ["get", "HEAD"], "paths": ["/repos/acme/*"]},
                    {"host": "api.github.com", "methods": ["POST"], "paths": ["/repos/acme/*/issues"]},
                    {"host": "uploads.github.com", "methods": ["GET"]},
                ],
            },
        }
    },
    "agents": {"helper": {"bottle": "dev"}},
}


@pytest.fixture
def manifest(tmp_path: Path) -> Path:
    return write_manifest(tmp_path, MANIFEST)


@pytest.fixture
def plan(manifest: Path):
    return plan_of(manifest)


def test_the_plan_keeps_the_host_list_and_adds_the_rules(plan):
    assert {"pypi.org", "api.github.com", "uploads.github.com"} <= set(plan.egress_allowlist)
    assert plan.egress_rules == (
        EgressRule("api.github.com", ("GET", "HEAD"), ("/repos/acme/*",)),
        EgressRule("api.github.com", ("POST",), ("/repos/acme/*/issues",)),
        EgressRule("uploads.github.com", ("GET",)),
    )


def test_the_gates_config_carries_the_rules_through_its_document(plan):
    config = EgressConfig.from_json(egress_config(plan).to_json())
    assert config.rules == (
        Rule("api.github.com", ("GET", "HEAD"), ("/repos/acme/*",)),
        Rule("api.github.com", ("POST",), ("/repos/acme/*/issues",)),
        Rule("uploads.github.com", ("GET",)),
    )


def test_plan_json_and_text_show_the_rules(plan, manifest):
    assert describe(plan)["egress"]["rules"] == [
        {"host": "api.github.com", "methods": ["GET", "HEAD"], "paths": ["/repos/acme/*"]},
        {"host": "api.github.com", "methods": ["POST"], "paths": ["/repos/acme/*/issues"]},
        {"host": "uploads.github.com", "methods": ["GET"]},
    ]
    text = run_cli("plan", "helper", "--manifest", str(manifest)).stdout
    assert "api.github.com only: GET, HEAD to /repos/acme/* or POST to /repos/acme/*/issues\n" in text
    assert "uploads.github.com only: GET to any path" in text


def test_the_preflight_shows_each_hosts_rules_beside_it(plan):
    out = io.StringIO()
    preflight.render(plan, image="img", runtime="runc", command=("claude",), console=Console(file=out, width=200))
    text = out.getvalue()
    assert "api.github.com  (only GET, HEAD to /repos/acme/* or POST to /repos/acme/*/issues)" in text
    assert "uploads.github.com  (only GET to any path)" in text
    assert [line.split() for line in text.splitlines() if "pypi.org" in line] == [["pypi.org"]]  # a plain entry


def test_pipelock_refuses_a_plan_with_rules_at_launch(plan):
    # The manifest refuses the pairing; a plan built another way still never reaches pipelock.
    pipelocked = dataclasses.replace(plan, egress_backend="pipelock")
    with pytest.raises(LaunchError, match=r"pipelock cannot enforce the method and path rules for api\.github\.com"):
        backend_for("pipelock").sidecar(pipelocked)


# -- `bottle-launch check` ---------------------------------------------------------------------


def test_check_refuses_a_method_the_rules_do_not_name_and_allows_get(plan):
    refused = check(plan, "https://api.github.com/repos/acme/app", public, method="DELETE")
    assert refused.decision == "block" and refused.refusal is not None and refused.refusal.rule == "method"
    assert refused.refusal.hint == (
        'add "DELETE" to the methods of bottles.dev.egress.allowlist entry for api.github.com'
    )
    assert [s.check for s in refused.steps][-1] == "rules"  # the credential step never came
    allowed = check(plan, "https://api.github.com/repos/acme/app", public)
    assert allowed.allowed
    rules = next(s for s in allowed.steps if s.check == "rules")
    assert rules.detail == "GET /repos/acme/app matches a rule for api.github.com: GET, HEAD to /repos/acme/*"
    assert allowed.steps[-1].rule == "swapped"


@pytest.mark.parametrize(
    "path", ["/repos/other/x", "/repos/acme/../other", "/repos/acme%2F..%2Fother", "/repos/acme/%2e%2e/other"]
)
def test_check_refuses_a_path_outside_the_patterns(plan, path):
    verdict = check(plan, f"https://api.github.com{path}", public)
    assert verdict.refusal is not None and verdict.refusal.rule == "path", verdict.steps


def test_check_in_report_mode_says_the_credential_is_withheld(manifest):
    data = json.loads(manifest.read_text())
    data["bottles"]["dev"]["egress"]["mode"] = "report"
    manifest.write_text(json.dumps(data))
    plan = build_plan(bottle_manifest.load(manifest, home=manifest.parent).agent("helper"))
    verdict = check(plan, "https://api.github.com/repos/acme/app", public, method="PUT")
    assert verdict.decision == "would-block" and verdict.refusal is not None and verdict.refusal.rule == "method"
    last = verdict.steps[-1]
    assert (last.check, last.rule) == ("credentials", "withheld") and "GH_TOKEN" in last.detail


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DOCKER_HOST": "unix:///nonexistent.sock"}  # proves no engine is needed
    return subprocess.run(
        [sys.executable, "-m", "bottle_launcher", *args], capture_output=True, text=True, env=env, timeout=60
    )


def test_the_check_cli_names_the_rule_and_the_entry_to_change(manifest):
    args = ("check", "helper", "--manifest", str(manifest), "--no-resolve")
    post = run_cli(*args, "-X", "POST", "https://api.github.com/repos/acme/app")
    assert post.returncode == 1, post.stderr
    assert post.stdout.startswith("https://api.github.com/repos/acme/app: refused  [path]")
    assert "rules        NO  /repos/acme/app is not a path the rules for api.github.com allow for POST" in post.stdout
    assert (
        'To allow it, add a pattern matching "/repos/acme/app" to the paths of bottles.dev.egress.allowlist entry '
        "for api.github.com in claude-bottle.json." in post.stdout
    )
    get = run_cli(*args, "https://api.github.com/repos/acme/app", "--json")
    assert get.returncode == 0, get.stdout
    steps = json.loads(get.stdout)["steps"]
    assert {"check": "rules", "allowed": True, "rule": "rules:api.github.com"}.items() <= next(
        s for s in steps if s["check"] == "rules"
    ).items()
