"""Method-and-path rules through a real bottle: the agent image's curl, the egress gate as the
launcher starts it, the TLS test upstream (tls.test, other.test) behind it. A request outside its
host's rules is refused with rule `method` or `path` and the manifest entry to change, never
reaches the upstream, and never gets a credential swapped in, not even in report mode.

curl runs with --path-as-is, so `..` and percent-escapes reach the gate as written (curl would
otherwise resolve the dots itself, as a careful client does; an agent need not be one)."""

from __future__ import annotations

import json
import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_helpers import bottle_launch, launch_detached

OAUTH_TOKEN = "sk-ant-oat01-" + secrets.token_urlsafe(70)
ALLOWLIST = [
    # tls.test: GET and HEAD under /repos/acme/, and POST to an issues list only.
    {"host": "tls.test", "methods": ["GET", "HEAD"], "paths": ["/repos/acme/*"]},
    {"host": "tls.test", "methods": ["POST"], "paths": ["/repos/acme/*/issues"]},
    # other.test: any path, GET only.
    {"host": "other.test", "methods": ["GET"]},
]


def start(tmp_path: Path, upstream_network: str, ca_path: Path, egress: dict, env: dict) -> str:
    manifest = tmp_path / "claude-bottle.json"
    bottle = {"egress": egress, "env": env}
    manifest.write_text(json.dumps({"bottles": {"eg": bottle}, "agents": {"tester": {"bottle": "eg"}}}))
    launch_env = {"BOTTLE_EGRESS_UPSTREAM_CA": str(ca_path), "CLAUDE_BOTTLE_OAUTH_TOKEN": OAUTH_TOKEN}
    return launch_detached(manifest, upstream_network, env=launch_env).stdout.strip()


def sh(bottle_id: str, script: str) -> subprocess.CompletedProcess[str]:
    return bottle_launch("exec", bottle_id, "--", "bash", "-c", script, timeout=120)


def curl(bottle_id: str, args: str) -> str:
    """curl's output and then the status code after a space."""
    return sh(bottle_id, f"curl -sS --path-as-is -w ' %{{http_code}}' {args}").stdout


def received(tls_upstream, marker: str) -> dict[str, str]:
    """The headers (lower-cased: curl speaks HTTP/2 to the gate) of the POST the upstream logged
    for a path holding `marker`: what left the gate, not the masked echo the agent reads."""
    seen = next(json.loads(line) for line in tls_upstream.logs().decode().splitlines() if marker in line)
    return {name.lower(): value for name, value in seen["headers"].items()}


@pytest.fixture(scope="module")
def credential() -> str:
    return "cred-" + secrets.token_hex(16)


@pytest.fixture(scope="module")
def bottle(tmp_path_factory, upstream_network, upstream_subnet, test_ca, tls_upstream, credential) -> Iterator[str]:
    egress = {"allowlist": ALLOWLIST, "allow_cidrs": [upstream_subnet]}
    env = {"API_TOKEN": {"value": credential, "hosts": ["tls.test"]}}
    bottle_id = start(tmp_path_factory.mktemp("rules"), upstream_network, test_ca[1], egress, env)
    yield bottle_id
    bottle_launch("stop", bottle_id)


def test_a_method_rule_refuses_post_and_allows_get(bottle, tls_upstream):
    refused = curl(bottle, "-X POST --data x=1 https://other.test/rules-note")
    assert refused.endswith(" 403") and "(rule: method)" in refused, refused
    assert "POST is not a method the rules for other.test allow (GET)" in refused
    assert 'To allow it, add "POST" to the methods of bottles.eg.egress.allowlist entry for other.test' in refused
    assert "/rules-note" not in tls_upstream.logs().decode()  # it never left the gate
    allowed = curl(bottle, "https://other.test/rules-note")
    assert allowed == "hello from other.test over tls 200", allowed


def test_a_path_rule_allows_what_its_pattern_names(bottle):
    assert curl(bottle, "https://tls.test/repos/acme/app") == "hello from tls.test over tls 200"
    assert curl(bottle, "'https://tls.test/repos/acme/app/?page=2'") == "hello from tls.test over tls 200"


@pytest.mark.parametrize(
    "path",
    [
        "/repos/other/x",
        "/repos/acme/../other",  # dot segments are resolved before matching
        "/repos/acme%2F..%2Fother",  # an encoded slash is decoded before the dots are resolved
        "/repos/acme/%2e%2e/other",  # and so are encoded dots
        "/repos/acme/x/y",  # '*' is one segment
    ],
)
def test_a_path_rule_refuses_what_its_pattern_does_not_name(bottle, path):
    out = curl(bottle, f"'https://tls.test{path}'")
    assert out.endswith(" 403") and "(rule: path)" in out, out
    assert "to the paths of bottles.eg.egress.allowlist entry for tls.test" in out


def test_a_double_encoded_path_is_refused_with_no_change_to_suggest(bottle):
    out = curl(bottle, "'https://tls.test/repos/acme/%252e%252e/other'")
    assert out.endswith(" 403") and "(rule: path)" in out and "percent-encoded twice" in out, out
    assert "To allow it" not in out


def test_a_credential_goes_only_into_a_request_the_rules_allow(bottle, credential, tls_upstream):
    request = 'curl -sS --path-as-is -w " %{{http_code}}" -X POST -H "Authorization: Bearer $API_TOKEN" ' \
              '--data "x=1" https://tls.test/repos/acme/{path}'  # fmt: skip
    allowed = sh(bottle, request.format(path="app/issues")).stdout
    assert allowed.endswith(" 200"), allowed
    assert received(tls_upstream, "/repos/acme/app/issues")["authorization"] == f"Bearer {credential}"
    refused = sh(bottle, request.format(path="wiki")).stdout  # POST only to issues
    assert refused.endswith(" 403") and "(rule: path)" in refused, refused
    assert "/repos/acme/wiki" not in tls_upstream.logs().decode()


def test_the_gate_logs_each_refusal_with_its_rule(bottle, client):
    curl(bottle, "-X DELETE https://other.test/x")
    log = client.containers.get(f"bottle-tester-{bottle}-egress").logs().decode()
    lines = [json.loads(line) for line in log.splitlines() if '"event":"decision"' in line]
    assert any(line["rule"] == "method" and line["decision"] == "block" and line["host"] == "other.test"
               for line in lines)  # fmt: skip


def test_report_mode_lets_a_refused_request_through_without_its_credential(
    tmp_path, upstream_network, upstream_subnet, test_ca, tls_upstream, client, credential
):
    egress = {"allowlist": ALLOWLIST, "allow_cidrs": [upstream_subnet], "mode": "report"}
    env = {"API_TOKEN": {"value": credential, "hosts": ["tls.test"]}}
    preview = bottle_launch("plan", "tester", "--manifest", str(_manifest(tmp_path, egress, env)), "--json")
    assert json.loads(preview.stdout)["egress"]["rules"][0] == ALLOWLIST[0]
    bottle_id = start(tmp_path, upstream_network, test_ca[1], egress, env)
    try:
        placeholder = sh(bottle_id, 'printf %s "$API_TOKEN"').stdout
        out = sh(bottle_id, 'curl -sS -X POST -H "Authorization: Bearer $API_TOKEN" --data x=1 '
                            "https://tls.test/repos/acme/report-wiki").stdout  # fmt: skip
        # Let through (report mode), but with the placeholder: the rule says what the credential is for.
        authorization = received(tls_upstream, "/report-wiki")["authorization"]
        assert authorization == f"Bearer {placeholder}" != f"Bearer {credential}", out
        gate_log = client.containers.get(f"bottle-tester-{bottle_id}-egress").logs().decode()
        assert '"rule":"path"' in gate_log and '"decision":"would-block"' in gate_log
    finally:
        bottle_launch("stop", bottle_id)


def _manifest(tmp_path: Path, egress: dict, env: dict) -> Path:
    path = tmp_path / "preview.json"
    bottle = {"egress": egress, "env": env}
    path.write_text(json.dumps({"bottles": {"eg": bottle}, "agents": {"tester": {"bottle": "eg"}}}))
    return path
