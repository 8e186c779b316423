"""`bottle-launch check` and the egress gate give the same answer: a table of requests goes
through `check` and through the gate, as it runs in the sidecar, fed the files a launch hands it
(the config document and the sealed known secrets, read back by the gate's own readers).

Two gate sides: the gate's pipeline (always), and the real mitmproxy addon driven with mitmproxy's
test flows (egress-gate's tests/egress_addon_harness.py), where mitmproxy is installed. Both get
the very request `check` built for the URL, so any difference is a difference of decision."""

from __future__ import annotations

import json
import os
import string
import sys
from dataclasses import replace
from pathlib import Path

import bottle_manifest
import pytest
from bottle_contract.egress import LivePolicy
from bottle_launcher.egress_check import check, judge, judge_policy, known_for, request_for, running_policy
from bottle_launcher.egress_secrets import AGENT_TOKEN_VAR, TOKEN_HOSTS, seal
from bottle_launcher.plan import build_plan, egress_config
from egress_gate import Policy, evaluate
from egress_gate._config import GateConfig
from egress_gate._secrets import load_known

TOKEN = "ghp_" + "A1b2C3d4" * 5  # a GitHub token's format
AWS = "AKIA" + "Z7Q2RXK4LPN3T6VW"
API_TOKEN = "api-token-" + "0123456789abcdef" * 2  # the credential's real value
MY_TOKEN = "plain-secret-value-42"
MANIFEST = {
    "bottles": {
        "dev": {
            "env": {"API_TOKEN": {"value": API_TOKEN, "hosts": ["tls.test", "rules.test"]}, "MY_TOKEN": MY_TOKEN},
            "egress": {
                "allowlist": [
                    "tls.test",
                    "*.tls.test",
                    "other.test",
                    "pass.test",
                    "internal.test",
                    "nowhere.test",
                    # method-and-path rules, two alternatives for one host
                    {"host": "rules.test", "methods": ["GET", "HEAD"], "paths": ["/repos/acme/*"]},
                    {"host": "rules.test", "methods": ["POST"], "paths": ["/repos/acme/*/issues"]},
                ],
                "passthrough": ["pass.test"],
                "allow_cidrs": ["10.9.0.0/16"],
                "ports": {"other.test": [8443]},
            },
        }
    },
    "agents": {"helper": {"bottle": "dev"}},
}
ADDRESSES = {
    "tls.test": ["93.184.215.14"],
    "other.test": ["93.184.215.15"],
    "pass.test": ["93.184.215.16"],
    "internal.test": ["10.0.0.5"],
    "evil.test": ["93.184.215.17"],
    "api.anthropic.com": ["160.79.104.10"],
    "rules.test": ["93.184.215.18"],
}


def resolver(host: str, port: int) -> list[str]:
    """The same DNS answers on both sides: check's and the gate's resolvers differ only in where
    they ask from."""
    if host.endswith(".tls.test"):
        return ADDRESSES["tls.test"]
    if host not in ADDRESSES:
        raise OSError(-2, "Name or service not known")
    return ADDRESSES[host]


@pytest.fixture(params=["enforce", "report"])
def bottle(request, tmp_path):
    """The plan, and the gate's config and known secrets as a launch would hand them over."""
    data = json.loads(json.dumps(MANIFEST))
    data["bottles"]["dev"]["egress"]["mode"] = request.param
    manifest = tmp_path / "claude-bottle.json"
    manifest.write_text(json.dumps(data))
    spec = bottle_manifest.load(manifest, home=tmp_path).agent("helper")
    plan = build_plan(spec)
    credentials = {**spec.credential_hosts(), AGENT_TOKEN_VAR: TOKEN_HOSTS}
    env = {"API_TOKEN": API_TOKEN, "MY_TOKEN": MY_TOKEN, AGENT_TOKEN_VAR: "sk-ant-oat01-" + "t" * 40}
    sealed = seal(env, credentials, builtin=[AGENT_TOKEN_VAR], places=spec.credential_places())
    (tmp_path / "config.json").write_bytes(egress_config(plan).to_json())
    (tmp_path / "known.json").write_bytes(sealed.known)
    config = GateConfig.load(tmp_path / "config.json")
    known = load_known(tmp_path / "known.json")
    return plan, config, known, sealed.agent_env


def table(placeholder: str) -> dict[str, tuple[str, dict]]:
    """case -> (URL, check's keyword arguments; `sni` replaces the TLS name check would send)."""
    bearer = [("Authorization", f"Bearer {placeholder}")]
    return {
        "allowed-host": ("https://tls.test/ok", {}),
        "plain-http": ("http://tls.test/plain", {}),
        "unlisted-host": ("https://evil.test/", {}),
        "wrong-port": ("https://tls.test:8443/", {}),
        "declared-port": ("https://other.test:8443/", {}),
        "ip-literal-outside-allow-cidrs": ("https://192.0.2.7/", {}),
        "ip-literal-inside-allow-cidrs": ("http://10.9.1.2/", {}),
        "ip-literal-on-another-port": ("http://10.9.1.2:8080/", {}),
        "internal-resolving-name": ("https://internal.test/", {}),
        "unresolvable-name": ("https://nowhere.test/", {}),
        "passthrough": ("https://pass.test/?q=" + TOKEN, {}),
        "sni-mismatch": ("https://tls.test/", {"sni": "other.test"}),
        "host-mismatch": ("https://tls.test/", {"headers": [("Host", "other.test")]}),
        "plain-host-mismatch": ("http://tls.test/", {"headers": [("Host", "other.test")]}),
        "secret-in-url": ("https://tls.test/search?q=" + TOKEN, {}),
        "secret-in-a-fragment": ("https://tls.test/page#" + TOKEN, {}),
        "token-in-a-host-label": ("https://" + TOKEN.lower() + ".tls.test/", {}),
        "high-entropy-url": ("https://tls.test/x?v=" + string.ascii_letters[:30] + string.digits, {}),
        "secret-in-a-header": ("https://tls.test/", {"headers": [("X-Note", TOKEN)]}),
        "credential-placeholder-to-its-host": ("https://tls.test/", {"headers": bearer}),
        "credential-placeholder-to-another-host": ("https://other.test/", {"headers": bearer}),
        "credential-placeholder-in-a-body-elsewhere": (
            "https://other.test/",
            {"method": "POST", "body": f"x={placeholder}".encode()},
        ),
        "secret-in-body": ("https://tls.test/upload", {"method": "POST", "body": f'{{"k": "{AWS}"}}'.encode()}),
        "own-plain-secret-in-body": ("https://tls.test/", {"method": "POST", "body": f"t={MY_TOKEN}".encode()}),
        "claudes-host": ("https://api.anthropic.com/v1/messages", {}),
        "everything-wrong-at-once": (f"https://evil.test:8443/?q={TOKEN}", {"headers": [("X-Note", AWS)]}),
        # method-and-path rules; the bearer shows whether the credential is swapped in (report mode)
        "rule-allows-get": ("https://rules.test/repos/acme/app", {"headers": bearer}),
        "rule-allows-post-to-issues": ("https://rules.test/repos/acme/app/issues", {"method": "POST", "body": b"{}"}),
        "rule-refuses-a-method": ("https://rules.test/repos/acme/app", {"method": "DELETE", "headers": bearer}),
        "rule-refuses-post-elsewhere": ("https://rules.test/repos/acme/app", {"method": "POST", "body": b"{}"}),
        "rule-refuses-another-path": ("https://rules.test/repos/other/app", {"headers": bearer}),
        "rule-refuses-dot-dot": ("https://rules.test/repos/acme/../other", {}),
        "rule-refuses-an-encoded-slash": ("https://rules.test/repos/acme%2F..%2Fother", {}),
        "rule-refuses-encoded-dots": ("https://rules.test/repos/acme/%2e%2e/other", {}),
        "rule-refuses-double-encoding": ("https://rules.test/repos/acme/%252e%252e/other", {}),
        "rule-in-plain-http": ("http://rules.test/repos/other/app", {}),
        "rule-and-a-secret-in-the-url": (f"https://rules.test/repos/other/app?q={TOKEN}", {}),
    }


CASES = sorted(table("x"))
HARNESS = str(Path(__file__).parents[2] / "egress-gate" / "tests")  # the gate's tests: egress_addon_harness


def _request(url: str, options: dict):
    options = dict(options)
    sni = options.pop("sni", None)
    text, request = request_for(url, **options)
    return text, (replace(request, sni=sni) if sni else request)


def _check(plan, known, url: str, options: dict):
    text, request = _request(url, options)
    return judge(plan, text, request, resolver, known), request


def keyed(steps) -> list[tuple]:
    """What must agree: each step's check, verdict, rule and hint. (check words a few details
    its own way: where an allowlist entry comes from, the addresses resolved here.)"""
    return [(s.check, s.allowed, s.rule, s.hint) for s in steps]


@pytest.mark.parametrize("case", CASES)
def test_check_answers_as_the_gates_pipeline(bottle, case):
    plan, config, known, agent_env = bottle
    url, options = table(agent_env["API_TOKEN"])[case]
    verdict, request = _check(plan, known, url, options)
    gate = evaluate(Policy(config, known), request, resolver)
    assert keyed(verdict.steps) == keyed(gate.steps)
    assert verdict.allowed is gate.allowed
    answer = verdict.as_dict()  # what `check --json` prints
    refusal = gate.refusal
    assert (answer["rule"], answer["hint"]) == ((refusal.rule, refusal.hint) if refusal else (None, None))


@pytest.mark.parametrize("case", CASES)
def test_check_answers_as_the_gates_addon(bottle, case):
    if not os.environ.get("BOTTLE_TESTS_NEED_MITMPROXY"):  # the `egress-addon` tox env has it
        pytest.importorskip("mitmproxy")
    if HARNESS not in sys.path:
        sys.path.insert(0, HARNESS)
    from egress_addon_harness import run

    plan, config, known, agent_env = bottle
    url, options = table(agent_env["API_TOKEN"])[case]
    verdict, request = _check(plan, known, url, options)
    outcome = run(config, known, request, resolver)
    assert keyed(verdict.steps) == keyed(outcome.steps)
    refused = [s.rule for s in verdict.steps if not s.allowed]
    if plan.egress_mode == "enforce":
        assert outcome.refusals == refused  # the one decision line the refusal makes
        if refused:
            assert outcome.status == 403 and f"(rule: {refused[0]})" in outcome.text
    else:
        assert outcome.status is None and outcome.refusals == refused  # each would-block, nothing refused


def test_checks_own_credentials_are_the_launchs_but_for_their_values(bottle):
    """Without `known`, check seals stand-ins the way a launch seals the real values: the same
    names, hosts and places, so it says the same of where each credential may go."""
    plan, _, known, _ = bottle

    def shape(entries) -> list[tuple]:
        return sorted((k.name, k.hosts, k.placeholder is not None, k.swap_in) for k in entries if k.placeholder)

    assert shape(known_for(plan)) == shape(known)
    assert API_TOKEN not in {k.value for k in known_for(plan)}
    verdict = check(plan, "https://tls.test/", resolver)
    assert verdict.steps[-1].rule == "swapped" and verdict.steps[-1].detail.endswith("API_TOKEN")


LIVE = LivePolicy(allow=("evil.test", "*.other.test"), deny=("x.tls.test",), serial=2)
LIVE_CASES = {
    "allowed-live": ("https://evil.test/ok", {}),
    "denied-live-under-a-wildcard": ("https://x.tls.test/", {}),
    "still-allowed-beside-it": ("https://y.tls.test/", {}),
    "credential-to-a-live-host": ("https://evil.test/", {"headers": [("Authorization", "Bearer PLACEHOLDER")]}),
}


@pytest.mark.parametrize("case", sorted(LIVE_CASES))
def test_check_of_a_running_bottle_answers_as_its_gate_after_live_changes(bottle, case, tmp_path):
    """`check <bottle-id>`: the gate's documents as read from the running gate, merged by the
    gate's function; the addon with the same live file, never recreated."""
    if not os.environ.get("BOTTLE_TESTS_NEED_MITMPROXY"):
        pytest.importorskip("mitmproxy")
    if HARNESS not in sys.path:
        sys.path.insert(0, HARNESS)
    import asyncio

    from egress_addon_harness import gate_for, run_async
    from egress_gate._livefile import LiveFile

    _, config, known, agent_env = bottle
    url, options = LIVE_CASES[case]
    options = {**options, "headers": [(n, v.replace("PLACEHOLDER", agent_env["API_TOKEN"])) for n, v in
                                      options.get("headers", [])]}  # fmt: skip
    text, request = _request(url, options)
    live = tmp_path / "live.json"
    live.write_bytes(LIVE.to_json())
    verdict = judge_policy(running_policy(config.to_json(), live.read_bytes(), known), text, request, resolver)
    addon = gate_for(config, known, resolver)
    addon.gate.live = LiveFile(live)
    outcome, _ = asyncio.run(run_async(addon, request))
    assert keyed(verdict.steps) == keyed(outcome.steps)
    assert "evil.test" in addon.gate.policy.config.allowlist  # applied by the running addon itself
    expected = {"allowed-live": None, "denied-live-under-a-wildcard": "denied", "still-allowed-beside-it": None,
                "credential-to-a-live-host": "dlp:credential"}  # fmt: skip
    refusal = verdict.refusal
    assert (refusal.rule if refusal else None) == expected[case]
