"""Live allowlist changes in the real addon, through mitmproxy's own test flows (as
test_addon.py): the same addon, never recreated, refuses a host and then lets it through once
the live file names it; a deny kills the flows of a tunnel already open to the host and closes
its connection, and leaves other tunnels alone; the watch applies a change without any request.

Needs mitmproxy (the `egress-addon` tox env); skipped where it is not installed."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
from pathlib import Path

import pytest

if os.environ.get("BOTTLE_TESTS_NEED_MITMPROXY"):
    import mitmproxy  # noqa: F401
else:
    pytest.importorskip("mitmproxy")

from bottle_contract.egress import LivePolicy
from egress_addon_harness import Driver, gate_for, lines_of, run_async
from egress_gate._config import GateConfig
from egress_gate._livefile import LiveFile
from egress_gate._request import Request
from egress_gate._watch import LiveWatch
from egress_gate.addon import EgressGate
from mitmproxy import http
from mitmproxy.addons.proxyserver import Proxyserver
from mitmproxy.proxy.layers.http import HttpRequestHeadersHook
from mitmproxy.test import taddons, tflow

ADDRESSES = {"tls.test": ["93.184.215.14"], "new.test": ["93.184.215.20"]}
CONFIG = GateConfig(bottle="b", bottle_id="3f9c2a1b", allowlist=("tls.test",))


def resolver(host: str, port: int) -> list[str]:
    if host not in ADDRESSES:
        raise OSError(-2, "Name or service not known")
    return ADDRESSES[host]


def https(host: str, path: str = "/") -> Request:
    return Request("GET", "https", host, 443, path, (("Host", host),), tunnel=True, sni=host, host_header=host)


def write(path: Path, document: LivePolicy) -> None:
    """As the launcher does: a temporary file renamed into place."""
    part = path.with_name(".live.json.part")
    part.write_bytes(document.to_json())
    os.replace(part, path)


def gate_with_live_file(tmp_path: Path) -> tuple[EgressGate, Path]:
    gate = gate_for(CONFIG, (), resolver)
    path = tmp_path / "live.json"
    gate.gate.live = LiveFile(path)
    return gate, path


def policy_lines(captured: str) -> list[dict]:
    return [json.loads(line) for line in captured.splitlines() if '"event":"policy"' in line]


def test_a_refused_host_is_let_through_once_the_live_file_names_it(tmp_path):
    gate, path = gate_with_live_file(tmp_path)
    refused, _ = asyncio.run(run_async(gate, https("new.test", "/first")))
    assert refused.status == 403 and "(rule: not-allowlisted)" in refused.text
    assert 'To allow it, add "new.test" to bottles.b.egress.allowlist in claude-bottle.json.\n' in refused.text
    assert "To allow it now, a person can run on the host: bottle-launch allow 3f9c2a1b new.test\n" in refused.text
    assert refused.lines[0]["command"] == "bottle-launch allow 3f9c2a1b new.test"
    write(path, LivePolicy(allow=("new.test",), serial=1, by="alice", pid=42, at="2026-12-01T20:00:00Z"))
    allowed, flow = asyncio.run(run_async(gate, https("new.test", "/second")))  # the same addon
    assert allowed.status is None and flow is not None and flow.request.host == "93.184.215.20", allowed
    assert [(line["method"], line["rule"]) for line in allowed.lines] == [
        ("CONNECT", "allowlist:new.test"),
        ("GET", "allowed"),
    ]
    (line,) = [event for event in allowed.events if event["event"] == "policy"]
    assert (line["serial"], line["by"], line["pid"], line["added"], line["removed"]) == (
        1, "alice", 42, ["new.test"], [],
    )  # fmt: skip
    write(path, LivePolicy(serial=2))
    again, _ = asyncio.run(run_async(gate, https("new.test", "/third")))
    assert again.status == 403


def inside(tunnel: http.HTTPFlow) -> http.HTTPFlow:
    """A request in the tunnel `tunnel` (a CONNECT), as the client sends it there."""
    host = tunnel.request.pretty_host
    tunnel.client_conn.sni = host
    flow = tflow.tflow(client_conn=tunnel.client_conn)
    flow.request.headers["Host"] = host
    return flow


class _Handler:
    """A client connection's handler as mitmproxy's proxyserver keeps it, recording its closing."""

    def __init__(self, client: object) -> None:
        self.client = client
        self.closed: list[object] = []

    def close_connection(self, connection: object, half_close: bool = False) -> None:
        self.closed.append(connection)


def test_a_deny_kills_an_open_tunnels_flows_and_closes_it_and_no_other(tmp_path):
    async def main() -> tuple:
        gate, path = gate_with_live_file(tmp_path)
        write(path, LivePolicy(allow=("new.test",), serial=1))
        proxyserver = Proxyserver()
        with taddons.context(gate, proxyserver) as tctx:
            driver = Driver(gate, tctx)
            denied_tunnel = await driver.connect("new.test", 443)
            kept_tunnel = await driver.connect("tls.test", 443)
            handlers = {}
            for tunnel in (denied_tunnel, kept_tunnel):
                handlers[tunnel.client_conn.id] = proxyserver.connections[tunnel.client_conn.id] = _Handler(
                    tunnel.client_conn
                )
            in_flight = inside(denied_tunnel)  # its response not in yet
            await driver.hook(HttpRequestHeadersHook(in_flight))
            other = inside(kept_tunnel)
            await driver.hook(HttpRequestHeadersHook(other))
            assert in_flight.response is None and other.response is None  # both let through
            write(path, LivePolicy(serial=2))
            captured = io.StringIO()
            with contextlib.redirect_stdout(captured):
                gate.gate.refresh()  # what the watch does every POLL seconds
                after = inside(denied_tunnel)
                await driver.hook(HttpRequestHeadersHook(after))
            return gate, denied_tunnel, kept_tunnel, handlers, in_flight, other, after, captured.getvalue()

    gate, denied_tunnel, kept_tunnel, handlers, in_flight, other, after, captured = asyncio.run(main())
    assert in_flight.error is not None and in_flight.error.msg == "Connection killed."
    assert handlers[denied_tunnel.client_conn.id].closed == [denied_tunnel.client_conn]
    assert other.error is None and handlers[kept_tunnel.client_conn.id].closed == []
    assert gate.gate.tunnels[denied_tunnel.client_conn.id].revoked is not None
    # A request that still arrives on the closing tunnel is refused, not sent.
    assert after.response is not None and after.response.status_code == 403
    (policy,) = policy_lines(captured)
    assert policy["removed"] == ["new.test"] and policy["closed"] == 1
    closing = lines_of(captured)[0]
    assert (closing["method"], closing["host"], closing["decision"], closing["rule"]) == (
        "CONNECT", "new.test", "block", "not-allowlisted",
    )  # fmt: skip


def test_report_mode_logs_what_a_deny_would_close_and_closes_nothing(tmp_path):
    async def main() -> tuple:
        gate = gate_for(GateConfig(bottle="b", bottle_id="3f9c2a1b", allowlist=("tls.test",), mode="report"), (),
                        resolver)  # fmt: skip
        path = tmp_path / "live.json"
        gate.gate.live = LiveFile(path)
        write(path, LivePolicy(allow=("new.test",), serial=1))
        with taddons.context(gate) as tctx:
            tunnel = await Driver(gate, tctx).connect("new.test", 443)
            closed: list[str] = []
            gate.gate.close = lambda client_id: closed.append(client_id) or True
            write(path, LivePolicy(serial=2))
            captured = io.StringIO()
            with contextlib.redirect_stdout(captured):
                gate.gate.refresh()
            return gate, tunnel, closed, captured.getvalue()

    gate, tunnel, closed, captured = asyncio.run(main())
    assert closed == [] and gate.gate.tunnels[tunnel.client_conn.id].revoked is None
    assert lines_of(captured)[0]["decision"] == "would-block"
    assert policy_lines(captured)[0]["closed"] == 0


def test_the_watch_applies_a_change_with_no_request(tmp_path):
    async def main() -> list[str]:
        gate, path = gate_with_live_file(tmp_path)
        watch = LiveWatch(gate.gate)
        with taddons.context(gate):
            captured = io.StringIO()
            with contextlib.redirect_stdout(captured):
                watch.running()
                write(path, LivePolicy(allow=("new.test",), serial=1))
                for _ in range(40):
                    await asyncio.sleep(0.05)
                    if "new.test" in gate.gate.policy.config.allowlist:
                        break
                watch.done()
        return gate.gate.policy.config.allowlist

    assert "new.test" in asyncio.run(main())


def test_a_live_file_that_does_not_parse_is_logged_and_the_policy_kept(tmp_path):
    gate, path = gate_with_live_file(tmp_path)
    path.write_text('{"allow": ["new.test"], "unknown": 1}')
    captured = io.StringIO()
    with contextlib.redirect_stdout(captured):
        gate.gate.refresh()
    assert '"event":"error"' in captured.getvalue() and "the live policy was not applied" in captured.getvalue()
    assert gate.gate.policy.config.allowlist == ("tls.test",)
