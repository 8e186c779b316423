"""`bottle-launch check` against a real bottle's gate: the same requests, sent with curl from inside
the bottle and asked of `check` on the host, get the same decision and the same rule.

The test names (tls.test, allowed.test) resolve only inside the test network, so `check` asks
with --no-resolve for them (the gate's own SSRF answer is covered by tests/test_egress_gate.py);
a name on the allowlist that resolves nowhere is asked with DNS, and both refuse it. Credentials
are left out: their placeholders exist only in a running bottle, and check never sees them
(packages/bottle-launcher/tests/test_check_equals_gate.py compares those with the addon)."""

from __future__ import annotations

import json
import random
import shlex
import string
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_helpers import bottle_launch, launch_detached
from egress_attacks import gate_decisions, sh

TOKEN = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
AWS = "AKIA" + "Q3EGZ7XK2LPN4RTV"
ENTROPY = "".join(random.Random(7).sample(string.ascii_letters + string.digits, 40))  # 5.3 bits a character

# case -> (URL, curl's and check's request options, whether check resolves the name here)
CASES: dict[str, tuple[str, list[str], bool]] = {
    "allowed-https": ("https://tls.test/check-ok", [], False),
    "allowed-plain-http": ("http://allowed.test/check-plain", [], False),
    "unlisted-host": ("https://blocked.test/check-unlisted", [], False),
    "wrong-port": ("https://tls.test:8443/check-port", [], False),
    "ip-literal-outside-allow-cidrs": ("https://192.0.2.7/check-literal", [], False),
    "unresolvable-name": ("https://nowhere.test/check-nowhere", [], True),
    "host-mismatch": ("https://tls.test/check-host", ["-H", "Host: other.test"], False),
    "secret-in-url": (f"https://tls.test/check-url?q={TOKEN}", [], False),
    "high-entropy-url": (f"https://tls.test/check-entropy?v={ENTROPY}", [], False),
    "secret-in-a-fragment": (f"https://tls.test/check-fragment#{TOKEN}", [], False),
    "secret-in-a-header": ("https://tls.test/check-header", ["-H", f"X-Note: {TOKEN}"], False),
    "secret-in-body": ("https://tls.test/check-body", ["-X", "POST", "-d", f"key={AWS}"], False),
}


@pytest.fixture(scope="module")
def bottle(tmp_path_factory, upstream_network, upstream_subnet, test_ca, tls_upstream) -> Iterator[tuple[str, Path]]:
    egress = {
        "allowlist": ["tls.test", "other.test", "allowed.test", "nowhere.test"],
        "allow_cidrs": [upstream_subnet],
    }
    manifest = tmp_path_factory.mktemp("check") / "claude-bottle.json"
    manifest.write_text(json.dumps({"bottles": {"chk": {"egress": egress}}, "agents": {"tester": {"bottle": "chk"}}}))
    env = {"BOTTLE_EGRESS_UPSTREAM_CA": str(test_ca[1]), "CLAUDE_BOTTLE_OAUTH_TOKEN": "sk-ant-oat01-" + "x" * 60}
    bottle_id = launch_detached(manifest, upstream_network, env=env).stdout.strip()
    yield bottle_id, manifest
    bottle_launch("stop", bottle_id)


def _gate(client, bottle_id: str, url: str, options: list[str]) -> tuple[str, list[str]]:
    """curl's status code and the rules of the refusals the gate logged for this request."""
    before = len(gate_decisions(client, bottle_id))
    args = " ".join(shlex.quote(arg) for arg in [*options, url])
    out = sh(bottle_id, f"curl -sS -o /dev/null -w '%{{http_code}}' {args}").stdout.strip()
    lines = gate_decisions(client, bottle_id)[before:]
    return out, [line["rule"] for line in lines if line["decision"] != "allow"]


def _check(manifest: Path, url: str, options: list[str], resolve: bool) -> dict:
    extra = [] if resolve else ["--no-resolve"]
    result = bottle_launch("check", "tester", url, "--manifest", str(manifest), "--json", *extra, *options)
    assert result.returncode in (0, 1), result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize("case", sorted(CASES))
def test_check_and_the_gate_agree(client, bottle, case):
    bottle_id, manifest = bottle
    url, options, resolve = CASES[case]
    status, refused = _gate(client, bottle_id, url, options)
    answer = _check(manifest, url, options, resolve)
    assert answer["rule"] == (refused[0] if refused else None), (answer, refused, status)
    assert (answer["decision"] == "allow") is (not refused)
    if answer["decision"] == "allow":
        assert status.startswith(("2", "4")) and status != "403", status  # let through (the upstream answers)
    else:
        # Refused: a 403 from the gate, or (at CONNECT) curl's "000" after a refused tunnel.
        assert status in ("403", "000"), status
