"""`bottle-launch check`: the gate's own decision pipeline, applied to a manifest's plan, with no
engine (test_check_equals_gate.py compares it with the gate itself). DNS is the one part not run
for real in the unit cases: the test machine resolves no public names, so a stub resolver stands
in there; the CLI case resolves `localhost` for real."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import bottle_manifest
import pytest
from bottle_launcher.egress_check import check
from bottle_launcher.plan import build_plan
from launcher_helpers import plan_of, private, public, write_manifest

MANIFEST = {
    "bottles": {
        "dev": {
            "env": {"GITEA_TOKEN": {"value": "literal-token", "hosts": ["gitea.example.com"]}},
            "egress": {
                "allowlist": ["gitea.example.com", "localhost", "pass.example.com", "*.internal.example"],
                "passthrough": ["pass.example.com"],
                "allow_cidrs": ["10.0.0.0/8"],
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


def test_an_allowlisted_public_host_is_allowed_and_its_credential_named(plan):
    verdict = check(plan, "https://gitea.example.com/api/v1", public)
    assert verdict.allowed and verdict.decision == "allow"
    assert [(s.check, s.rule) for s in verdict.steps] == [
        ("allowlist", "allowlist:gitea.example.com"),
        ("port", "port:443"),
        ("destination", "public-address"),
        ("tls", "intercepted"),
        ("target", "one-target"),
        ("url", "clean"),
        ("headers", "clean"),
        ("body", "clean"),
        ("credentials", "swapped"),
    ]
    assert "GITEA_TOKEN" in verdict.steps[-1].detail


def test_claudes_token_is_named_for_anthropic_hosts(plan):
    verdict = check(plan, "api.anthropic.com", public)  # a bare host means https
    assert verdict.url == "https://api.anthropic.com" and verdict.port == 443
    assert "matches 'api.anthropic.com' in the built-in defaults" in verdict.steps[0].detail
    assert "CLAUDE_CODE_OAUTH_TOKEN" in verdict.steps[-1].detail


def test_under_pipelock_no_token_is_said_to_be_swapped(tmp_path):
    data = json.loads(json.dumps(MANIFEST))
    data["bottles"]["dev"]["env"] = {}
    data["bottles"]["dev"]["egress"]["backend"] = "pipelock"
    path = tmp_path / "claude-bottle.json"
    path.write_text(json.dumps(data))
    plan = build_plan(bottle_manifest.load(path, home=tmp_path).agent("helper"))
    assert "credentials" not in [step.check for step in check(plan, "api.anthropic.com", public).steps]


def test_an_off_list_host_is_refused_with_the_line_that_allows_it(plan):
    verdict = check(plan, "https://evil.example/x", public)
    assert verdict.decision == "block" and verdict.refusal.rule == "not-allowlisted"
    assert verdict.refusal.hint == 'add "evil.example" to bottles.dev.egress.allowlist'


def test_a_name_resolving_to_a_private_address_is_refused(plan):
    verdict = check(plan, "https://a.internal.example/", private)
    assert verdict.refusal.rule == "internal-address" and "192.168.7.7" in verdict.refusal.detail


def test_ip_literals_need_allow_cidrs(plan):
    allowed = check(plan, "http://10.1.2.3/", public)
    assert allowed.allowed and [s.rule for s in allowed.steps[:2]] == ["port:80", "allow_cidrs:10.0.0.0/8"]
    refused = check(plan, "https://192.168.1.1/", public).refusal
    assert refused.rule == "ip-literal" and refused.hint == 'add "192.168.1.1/32" to bottles.dev.egress.allow_cidrs'


def test_an_ip_literal_gets_the_port_check_the_gate_makes(plan):
    # check used to skip the port for an address; the gate never did.
    refused = check(plan, "http://10.1.2.3:8080/", public).refusal
    assert refused.rule == "port" and refused.hint == 'add 8080 to bottles.dev.egress.ports["10.1.2.3"]'


def nowhere(host: str, port: int) -> list[str]:
    raise OSError(-2, "Name or service not known")


def test_a_name_that_does_not_resolve_is_refused_as_the_gate_refuses_it(plan):
    # check used to let it through ("not-resolved"); the gate refuses it (`unresolvable`).
    verdict = check(plan, "https://gitea.example.com/", nowhere)
    assert verdict.decision == "block" and verdict.refusal.rule == "unresolvable"
    assert verdict.refusal.detail.startswith("gitea.example.com does not resolve here")
    assert verdict.steps[-1] == verdict.refusal  # nothing after it: there is nowhere to connect


def test_no_resolve_skips_dns_and_goes_on(plan):
    verdict = check(plan, "https://gitea.example.com/", None)
    assert verdict.allowed and verdict.steps[2].rule == "not-resolved"


def test_the_url_is_scanned_as_the_gate_sees_it(plan):
    token = "ghp_" + "a1b2c3d4" * 5
    # A fragment never leaves the client: the gate never sees it, and neither does check.
    assert check(plan, f"https://gitea.example.com/page#{token}", public).allowed
    # The host's name is part of the URL scanned (never the address connected to), so a token
    # in a subdomain label is found: its repeats keep it under the label entropy limit.
    inside = check(plan, f"https://{token}.internal.example/", lambda host, port: ["10.0.0.9"]).refusal
    assert (inside.check, inside.rule) == ("url", "dlp:github-token")
    # Userinfo travels as basic auth, as curl sends it: the headers carry it, base64-encoded.
    assert check(plan, f"https://u:{token}@gitea.example.com/", public).allowed


def test_headers_and_body_are_judged_too(plan):
    token = "ghp_" + "A1b2C3d4" * 5
    header = check(plan, "https://gitea.example.com/", public, headers=[("X-Note", token)]).refusal
    assert header.check == "headers" and header.rule == "dlp:github-token"
    assert "header X-Note" in header.detail
    body = check(plan, "https://gitea.example.com/", public, method="POST", body=f"t={token}".encode()).refusal
    assert body.check == "body" and body.rule == "dlp:github-token"
    mismatch = check(plan, "https://gitea.example.com/", public, headers=[("Host", "evil.example")]).refusal
    assert mismatch.rule == "host-mismatch"


def test_report_mode_lists_every_refusal_the_gate_would_log(manifest):
    data = json.loads(manifest.read_text())
    data["bottles"]["dev"]["egress"]["mode"] = "report"
    manifest.write_text(json.dumps(data))
    plan = build_plan(bottle_manifest.load(manifest, home=manifest.parent).agent("helper"))
    verdict = check(plan, "https://evil.example:8443/?q=" + "ghp_" + "A1b2C3d4" * 5, public)
    assert verdict.decision == "would-block" and verdict.refusal.rule == "not-allowlisted"
    refused = [step.rule for step in verdict.steps if not step.allowed]
    assert refused == ["not-allowlisted", "port", "dlp:github-token"]


def test_passthrough_is_not_scanned(plan):
    verdict = check(plan, "https://pass.example.com/?q=" + "ghp_" + "A1b2C3d4" * 5, public)
    assert verdict.allowed and verdict.steps[-1].rule == "passthrough"


def test_a_token_in_the_url_is_refused(plan):
    verdict = check(plan, "https://gitea.example.com/?q=" + "ghp_" + "A1b2C3d4" * 5, public)
    assert verdict.refusal.rule == "dlp:github-token"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DOCKER_HOST": "unix:///nonexistent.sock"}  # proves no engine is needed
    return subprocess.run(
        [sys.executable, "-m", "bottle_launcher", "check", *args], capture_output=True, text=True, env=env, timeout=60
    )


def test_the_cli_answers_with_exit_codes_and_json(manifest):
    allowed = run("helper", "https://gitea.example.com/", "--manifest", str(manifest), "--no-resolve")
    assert allowed.returncode == 0 and allowed.stdout.startswith("https://gitea.example.com/: allowed"), allowed
    refused = run("helper", "http://localhost/", "--manifest", str(manifest), "--json")
    assert refused.returncode == 1, refused.stderr
    data = json.loads(refused.stdout)
    assert data["decision"] == "block" and data["rule"] == "internal-address"
    assert "127.0.0.1" in data["hint"] or "::1" in data["hint"]
    port = json.loads(run("helper", "https://gitea.example.com:22/", "--manifest", str(manifest), "--json").stdout)
    assert port["rule"] == "port" and port["hint"] == 'add 22 to bottles.dev.egress.ports["gitea.example.com"]'
    text = run("helper", "https://evil.example/", "--manifest", str(manifest))
    assert 'To allow it, add "evil.example" to bottles.dev.egress.allowlist in claude-bottle.json.' in text.stdout
    usage = run("helper", "ftp://x", "--manifest", str(manifest))
    assert usage.returncode == 2 and "http and https only" in usage.stderr and "Traceback" not in usage.stderr


def test_the_cli_sends_headers_and_a_body(manifest):
    token = "ghp_" + "A1b2C3d4" * 5
    args = ("helper", "https://gitea.example.com/", "--manifest", str(manifest), "--no-resolve", "--json")
    header = json.loads(run(*args, "-H", f"X-Note: {token}").stdout)
    assert header["rule"] == "dlp:github-token" and token not in json.dumps(header)
    body = json.loads(run(*args, "-X", "POST", "-d", f"t={token}").stdout)
    assert body["rule"] == "dlp:github-token" and body["steps"][-1]["check"] == "body"
    bad = run(*args, "-H", "no colon")
    assert bad.returncode == 2 and "NAME: VALUE" in bad.stderr


def test_report_mode_says_would_be_refused(manifest, tmp_path):
    data = json.loads(manifest.read_text())
    data["bottles"]["dev"]["egress"]["mode"] = "report"
    manifest.write_text(json.dumps(data))
    result = run("helper", "https://evil.example/", "--manifest", str(manifest), "--no-resolve")
    assert result.returncode == 1 and "would be refused (report mode lets it through)" in result.stdout
