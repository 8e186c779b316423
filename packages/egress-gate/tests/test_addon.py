"""The addon against the pipeline it adapts, without Docker: mitmproxy's own test flows go through
the real hooks (egress_addon_harness.py). Each request of a table gets the steps `evaluate` gives
it, in enforce and report mode, and the addon's answers (403 text, decision lines, what leaves
for the upstream) are the ones the end-to-end tests in tests/test_egress_gate.py rely on.

Needs mitmproxy (12, on Python 3.12 or newer), which only the egress image carries: skipped
where it is not installed."""

from __future__ import annotations

import asyncio
import gzip
import os
import string
from dataclasses import replace

import pytest

# mitmproxy needs Python 3.12; the `egress-addon` tox env has it and sets this, so there a
# missing mitmproxy fails instead of skipping.
if os.environ.get("BOTTLE_TESTS_NEED_MITMPROXY"):
    import mitmproxy  # noqa: F401
else:
    pytest.importorskip("mitmproxy")

from bottle_contract.egress import Rule
from egress_addon_harness import Driver, gate_for, run, run_async
from egress_gate._config import GateConfig
from egress_gate._decision import evaluate
from egress_gate._gate import WITHHELD
from egress_gate._request import STREAM_ABOVE, Request
from egress_gate._rules import Policy
from egress_gate._secrets import KnownSecret
from mitmproxy import http
from mitmproxy.test import taddons, tflow

TOKEN = "ghp_" + "A1b2C3d4" * 5  # a GitHub token's format
AWS = "AKIA" + "Z7Q2RXK4LPN3T6VW"
CREDENTIAL = KnownSecret("real-token-0123456789", ("tls.test",), "API_TOKEN", "fake-token-9876543210")
BUILTIN = KnownSecret("sk-ant-oat01-" + "r" * 40, ("api.anthropic.com",), "", "sk-ant-oat01-" + "f" * 40)
PLAIN = KnownSecret("plain-secret-value", ("*",))
# A credential for a host with method-and-path rules, swapped everywhere it can be.
RULED = KnownSecret("real-ruled-0123456789", ("rules.test",), "RULED_TOKEN", "fake-ruled-9876543210",
                    ("headers", "url", "body"))  # fmt: skip
KNOWN = (CREDENTIAL, BUILTIN, PLAIN, RULED)
ADDRESSES = {
    "tls.test": ["93.184.215.14"],
    "other.test": ["93.184.215.15"],
    "pass.test": ["93.184.215.16"],
    "internal.test": ["10.0.0.5"],
    "evil.test": ["93.184.215.17"],
    "rules.test": ["93.184.215.18"],
}


def resolver(host: str, port: int) -> list[str]:
    if host not in ADDRESSES:
        raise OSError(-2, "Name or service not known")
    return ADDRESSES[host]


def config(mode: str = "enforce") -> GateConfig:
    return GateConfig(
        bottle="b",
        allowlist=("tls.test", "other.test", "pass.test", "internal.test", "nowhere.test", "rules.test"),
        allow_cidrs=("10.9.0.0/16",),
        passthrough=("pass.test",),
        ports={"other.test": (8443,)},
        mode=mode,
        rules=(
            Rule("rules.test", ("GET", "HEAD"), ("/repos/acme/*",)),
            Rule("rules.test", ("POST",), ("/repos/acme/*/issues",)),
        ),
    )


def https(host: str, path: str = "/", port: int = 443, headers: tuple = (), **kw) -> Request:
    named = host if port == 443 else f"{host}:{port}"
    header = dict(headers).get("Host", named)
    fields = (("Host", header), *((n, v) for n, v in headers if n != "Host"))
    return Request("GET", "https", host, port, path, fields, tunnel=True, sni=kw.pop("sni", host),
                   host_header=header, **kw)  # fmt: skip


def plain(host: str, path: str = "/", headers: tuple = ()) -> Request:
    fields = (("Host", host), *headers)
    return Request("GET", "http", host, 80, path, fields, host_header=host)


def post(request: Request, body: bytes) -> Request:
    fields = (*request.headers, ("Content-Length", str(len(body))))
    return replace(request, method="POST", headers=fields, body=body)


TABLE = {
    "allowed-host": https("tls.test", "/ok"),
    "plain-http": plain("tls.test", "/plain"),
    "unlisted-host": https("evil.test"),
    "unlisted-plain-http": plain("evil.test"),
    "wrong-port": https("tls.test", port=8443),
    "declared-port": https("other.test", port=8443),
    "ip-literal-outside-allow-cidrs": https("192.0.2.7", sni=None),
    "ip-literal-inside-allow-cidrs": plain("10.9.1.2"),
    "internal-resolving-name": https("internal.test"),
    "unresolvable-name": https("nowhere.test"),
    "passthrough": https("pass.test"),
    "passthrough-host-with-another-sni": https("pass.test", sni="tls.test"),
    "sni-mismatch": https("tls.test", sni="other.test"),
    "host-mismatch": https("tls.test", headers=(("Host", "other.test"),)),
    "authority-mismatch": https("tls.test", authority="other.test"),
    "plain-host-mismatch": replace(plain("tls.test"), headers=(("Host", "other.test"),), host_header="other.test"),
    "secret-in-url": https("tls.test", f"/search?q={TOKEN}"),
    "secret-in-header": https("tls.test", headers=(("X-Note", TOKEN),)),
    "high-entropy-url": https("tls.test", "/x?v=" + string.ascii_letters[:30] + string.digits),
    "credential-to-its-host": https("tls.test", headers=(("Authorization", f"Bearer {CREDENTIAL.placeholder}"),)),
    "credential-to-another-host": https("other.test", headers=(("Authorization", f"Bearer {CREDENTIAL.placeholder}"),)),
    "builtin-credential-elsewhere": https("tls.test", headers=(("Authorization", f"Bearer {BUILTIN.placeholder}"),)),
    "credential-encoded-in-body": post(https("other.test"), b"x=" + CREDENTIAL.value[::-1].encode()),
    "secret-in-body": post(https("tls.test", "/upload"), f'{{"key": "{AWS}"}}'.encode()),
    "own-secret-in-body": post(https("tls.test"), f"token={PLAIN.value}".encode()),
    "unscannable-streamed-body": replace(
        https("tls.test"),
        method="POST",
        headers=(("Host", "tls.test"), ("Transfer-Encoding", "chunked"), ("Content-Encoding", "br")),
    ),
    "streamed-secret": post(https("tls.test", "/sink"), b"0" * (STREAM_ABOVE + 10) + f" {AWS} ".encode()),
    "streamed-clean": post(https("tls.test", "/sink"), b"0123456789abcdef" * (STREAM_ABOVE // 16 + 10)),
    "everything-wrong-at-once": https("evil.test", f"/?q={TOKEN}", port=8443, headers=(("X-Note", AWS),)),
    "rule-allows-get": https("rules.test", "/repos/acme/app", headers=(("Authorization", RULED.placeholder),)),
    "rule-allows-post-to-issues": post(https("rules.test", "/repos/acme/app/issues"), b"{}"),
    "rule-refuses-post": post(https("rules.test", "/repos/acme/app"), f"t={RULED.placeholder}".encode()),
    "rule-refuses-a-method": replace(https("rules.test", "/repos/acme/app"), method="DELETE"),
    "rule-refuses-another-path": https("rules.test", "/repos/other/x"),
    "rule-refuses-dot-dot": https("rules.test", "/repos/acme/../other"),
    "rule-refuses-an-encoded-slash": https("rules.test", "/repos/acme%2F..%2Fother"),
    "rule-refuses-encoded-dots": https("rules.test", "/repos/acme/%2e%2e/other"),
    "rule-in-plain-http": plain("rules.test", "/repos/other/x"),
    "rule-refuses-a-streamed-body": post(https("rules.test", "/repos/acme/app"), b"0" * (STREAM_ABOVE + 10)),
}


def keyed(steps) -> list[tuple]:
    return [(s.check, s.allowed, s.rule, s.detail, s.hint) for s in steps]


@pytest.mark.parametrize("mode", ["enforce", "report"])
@pytest.mark.parametrize("case", sorted(TABLE))
def test_the_addon_takes_the_pipelines_steps(case, mode):
    request = TABLE[case]
    expected = evaluate(Policy(config(mode), KNOWN), request, resolver)
    outcome = run(config(mode), KNOWN, request, resolver)
    assert keyed(outcome.steps) == keyed(expected.steps)
    refusals = [s.rule for s in expected.steps if not s.allowed]
    if mode == "enforce":
        assert refusals[:1] == outcome.refusals  # one line, for the refusal the 403 names
        if refusals and not request.streamed:
            # Refused before a byte went on, with the refusal's words and rule.
            assert outcome.status == 403 and outcome.upstream is None, outcome
            refusal = expected.refusal
            assert outcome.text.startswith(f"claude-bottle egress gate: {refusal.detail} (rule: {refusal.rule}).\n")
            assert ("To allow it, " in outcome.text) is (refusal.hint is not None)
        elif refusals:  # streamed: cut, never answered (or cut mid-body)
            assert outcome.status is None and (outcome.killed or case == "streamed-secret"), outcome
    else:
        # Report mode refuses nothing and logs each refusal (one per head's DLP).
        assert outcome.status is None and outcome.refusals == refusals, outcome.lines
        assert all(line["decision"] == "would-block" for line in outcome.lines if line["decision"] != "allow")


def test_the_gate_scans_the_name_not_the_address_it_connects_to():
    label = TOKEN.lower()  # host names are lowercase; the repeats keep its entropy under the limit
    cfg = replace(config(), allowlist=("*.tls.test",))
    request = https(f"{label}.tls.test")
    outcome = run(cfg, KNOWN, request, lambda host, port: ["93.184.215.14"])
    assert outcome.status == 403 and "rule: dlp:github-token" in outcome.text, outcome


def test_an_admitted_tunnel_and_its_request_are_decision_lines_and_go_to_the_checked_address():
    outcome = run(config(), KNOWN, https("tls.test", "/ok?secret=query"), resolver)
    assert [(line["method"], line["rule"], line["decision"]) for line in outcome.lines] == [
        ("CONNECT", "allowlist:tls.test", "allow"),
        ("GET", "allowed", "allow"),
    ]
    assert outcome.lines[1]["path"] == "/ok"  # never the query
    assert outcome.upstream is not None and outcome.upstream.host == "93.184.215.14"


def test_an_ip_literal_admitted_by_allow_cidrs_is_logged_so():
    outcome = run(config(), KNOWN, https("10.9.0.1", sni=None), resolver)
    assert outcome.lines[0]["rule"] == "allow_cidrs"


def test_passthrough_is_two_lines_and_nothing_more():
    outcome = run(config(), KNOWN, https("pass.test"), resolver)
    assert outcome.passthrough
    assert [(line["method"], line["rule"]) for line in outcome.lines] == [
        ("CONNECT", "allowlist:pass.test"),
        ("CONNECT", "passthrough"),
    ]


def test_a_credential_is_swapped_in_for_its_host_only_after_it_was_judged():
    request = https("tls.test", f"/x?t={CREDENTIAL.placeholder}",
                    headers=(("Authorization", f"Bearer {CREDENTIAL.placeholder}"),))  # fmt: skip
    outcome = run(config(), KNOWN, post(request, f"b={CREDENTIAL.placeholder}".encode()), resolver)
    upstream = outcome.upstream
    assert upstream is not None and upstream.headers["Authorization"] == f"Bearer {CREDENTIAL.value}"
    # Headers only by default: the URL and the body keep the placeholder.
    assert CREDENTIAL.placeholder in upstream.path and upstream.content == f"b={CREDENTIAL.placeholder}".encode()
    assert outcome.steps[-1].rule == "swapped" and "API_TOKEN" in outcome.steps[-1].detail
    wide = replace(CREDENTIAL, swap_in=("headers", "url", "body"))
    everywhere = run(config(), (wide,), post(request, f"b={CREDENTIAL.placeholder}".encode()), resolver).upstream
    assert everywhere is not None and CREDENTIAL.value in everywhere.path
    assert everywhere.content == f"b={CREDENTIAL.value}".encode()


def test_a_refused_credential_names_the_manifest_change():
    request = https("other.test", headers=(("Authorization", f"Bearer {CREDENTIAL.placeholder}"),))
    text = run(config(), KNOWN, request, resolver).text
    assert "credential API_TOKEN may go only to tls.test; it is in the header Authorization" in text
    assert 'To allow it, add "other.test" to bottles.b.env.API_TOKEN.hosts in claude-bottle.json.' in text
    builtin = https("tls.test", headers=(("Authorization", f"Bearer {BUILTIN.placeholder}"),))
    text = run(config(), KNOWN, builtin, resolver).text
    assert "may go only to api.anthropic.com" in text and "To allow it" not in text


def test_a_gzip_body_is_scanned_decompressed():
    body = gzip.compress(f'{{"note": "key {AWS}"}}'.encode())
    request = post(replace(https("tls.test", "/upload"), headers=(("Host", "tls.test"), ("Content-Encoding", "gzip"))),
                   body)  # fmt: skip
    outcome = run(config(), KNOWN, request, resolver)
    assert outcome.status == 403 and "rule: dlp:aws-access-key-id" in outcome.text and "in the body" in outcome.text


def test_a_streamed_secret_is_logged_with_its_path_and_the_body_stops():
    request = TABLE["streamed-secret"]
    outcome = run(config(), KNOWN, request, resolver)
    line = outcome.lines[-1]
    assert (line["rule"], line["path"], line["decision"]) == ("dlp:aws-access-key-id", "/sink", "block")
    assert AWS.encode() not in (outcome.upstream.content if outcome.upstream else b"")


def _with_host(host: str) -> http.HTTPFlow:
    flow = tflow.tflow(resp=True)
    flow.metadata["egress_gate.host"] = host
    return flow


def test_a_response_from_a_credentials_host_is_masked_and_others_stream():
    async def main() -> tuple[http.HTTPFlow, http.HTTPFlow, http.HTTPFlow]:
        gate = gate_for(config(), KNOWN, resolver)
        with taddons.context(gate) as tctx:
            driver = Driver(gate, tctx)
            own, other, compressed = _with_host("tls.test"), _with_host("other.test"), _with_host("tls.test")
            own.response.headers["X-Echo"] = CREDENTIAL.value
            await driver.respond(own, own.response)
            await driver.respond(other, other.response)
            compressed.response.headers["Content-Encoding"] = "gzip"
            await driver.respond(compressed, compressed.response)
        return own, other, compressed

    own, other, compressed = asyncio.run(main())
    assert own.response.headers["X-Echo"] == CREDENTIAL.placeholder
    assert b"".join(own.response.stream(CREDENTIAL.value.encode()) + own.response.stream(b"")) == (
        CREDENTIAL.placeholder.encode()
    )
    assert other.response.stream is True
    assert compressed.error is not None  # asked for identity, sent compressed: cut


def test_websocket_messages_go_through_the_body_step():
    async def main() -> tuple:
        gate = gate_for(config(), KNOWN, resolver)
        with taddons.context(gate) as tctx:
            driver = Driver(gate, tctx)
            flow = _with_host("tls.test")
            clean = await driver.websocket(flow, f"hi {CREDENTIAL.placeholder}".encode())
            leak = await driver.websocket(flow, f"key {AWS}".encode())
            echoed = await driver.websocket(flow, CREDENTIAL.value.encode(), from_client=False)
        return clean, leak, echoed

    clean, leak, echoed = asyncio.run(main())
    assert not clean.dropped and clean.content == f"hi {CREDENTIAL.placeholder}".encode()  # headers only by default
    assert leak.dropped
    assert echoed.content == CREDENTIAL.placeholder.encode()


def test_a_raw_tcp_tunnel_is_closed():
    async def main() -> tuple:
        gate = gate_for(config(), KNOWN, resolver)
        with taddons.context(gate) as tctx:
            driver = Driver(gate, tctx)
            connect = await driver.connect("tls.test", 443)
            return await driver.raw_tunnel(connect)

    next_layer = asyncio.run(main())
    assert type(next_layer.layer).__name__ == "_Closed"


def test_report_mode_lets_an_unlisted_host_through_with_a_would_block_line():
    outcome, flow = asyncio.run(run_async(gate_for(config("report"), KNOWN, resolver), https("evil.test", "/r")))
    assert outcome.status is None and flow is not None and flow.request.host == "93.184.215.17"
    assert [(line["method"], line["decision"], line["rule"]) for line in outcome.lines] == [
        ("CONNECT", "would-block", "not-allowlisted"),
        ("GET", "allow", "allowed"),
    ]


def _ruled(path: str, method: str = "GET") -> Request:
    """A request to the ruled host carrying its credential's placeholder in every place."""
    placeholder = RULED.placeholder
    request = https("rules.test", f"{path}?t={placeholder}", headers=(("Authorization", f"Bearer {placeholder}"),))
    return replace(post(request, f"b={placeholder}".encode()), method=method)


def test_a_request_the_rules_allow_gets_its_credential():
    upstream = run(config(), KNOWN, _ruled("/repos/acme/app/issues", "POST"), resolver).upstream
    assert upstream is not None and upstream.headers["Authorization"] == f"Bearer {RULED.value}"
    assert RULED.value in upstream.path and upstream.content == f"b={RULED.value}".encode()


def test_enforce_mode_refuses_what_the_rules_refuse_before_any_credential_is_swapped():
    outcome = run(config(), KNOWN, _ruled("/repos/acme/app", "POST"), resolver)
    assert outcome.status == 403 and outcome.upstream is None
    assert "(rule: path)" in outcome.text
    assert 'To allow it, add a pattern matching "/repos/acme/app" to the paths of bottles.b.egress.allowlist entry ' \
           "for rules.test in claude-bottle.json." in outcome.text  # fmt: skip
    assert [s.check for s in outcome.steps][-1] == "rules"


def test_report_mode_lets_a_refused_request_through_with_the_placeholders_only():
    outcome, flow = asyncio.run(
        run_async(gate_for(config("report"), KNOWN, resolver), _ruled("/repos/acme/app", "PUT"))
    )
    upstream = outcome.upstream
    assert outcome.status is None and upstream is not None
    assert flow is not None and flow.metadata[WITHHELD] is True  # what a WebSocket upgrade's messages honour
    assert outcome.refusals == ["method"] and outcome.lines[-1]["decision"] == "would-block"
    # Not swapped in anywhere: the rule says what the credential may be used for.
    assert upstream.headers["Authorization"] == f"Bearer {RULED.placeholder}"
    assert RULED.value not in upstream.path and upstream.content == f"b={RULED.placeholder}".encode()
    assert outcome.steps[-1].rule == "withheld"


def test_report_mode_swaps_nothing_into_a_refused_streamed_body():
    body = b"0" * (STREAM_ABOVE + 10) + RULED.placeholder.encode()
    outcome = run(config("report"), KNOWN, post(https("rules.test", "/repos/other"), body), resolver)
    assert outcome.upstream is not None and outcome.upstream.content == body


def test_websocket_messages_of_a_refused_upgrade_keep_the_placeholder():
    async def main() -> tuple:
        gate = gate_for(config("report"), KNOWN, resolver)
        with taddons.context(gate) as tctx:
            driver = Driver(gate, tctx)
            refused, allowed = _with_host("rules.test"), _with_host("rules.test")
            refused.metadata[WITHHELD] = True  # as a refused upgrade's head leaves it (tested above)
            return (
                await driver.websocket(refused, f"hi {RULED.placeholder}".encode()),
                await driver.websocket(allowed, f"hi {RULED.placeholder}".encode()),
            )

    refused, allowed = asyncio.run(main())
    assert refused.content == f"hi {RULED.placeholder}".encode()
    assert allowed.content == f"hi {RULED.value}".encode()
