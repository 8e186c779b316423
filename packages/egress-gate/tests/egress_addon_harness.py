"""Feed a pipeline `Request` to the real addon as mitmproxy would, with mitmproxy's own test flows
(`mitmproxy.test`): for https a CONNECT, a TLS ClientHello carrying the request's SNI, then the
request inside the tunnel (where mitmproxy's request host is the address connected to); for http
a plain proxy request. Each hook goes through mitmproxy's addon manager, so the gate's child
addons are reached as in the proxy. What comes back is what the addon did: the steps it noted,
its response, its decision lines and the request as it would leave for the upstream.

A helper module, not a test: tests/test_addon.py here and the launcher's
tests/test_check_equals_gate.py import it (both only where mitmproxy is installed)."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import ssl
from dataclasses import dataclass, field

from egress_gate._config import GateConfig
from egress_gate._decision import Resolver
from egress_gate._gate import STEPS
from egress_gate._policy import Step
from egress_gate._request import Request
from egress_gate._secrets import KnownSecret
from egress_gate.addon import EgressGate
from mitmproxy import http, tls
from mitmproxy.proxy import context, layer
from mitmproxy.proxy.layers import TCPLayer
from mitmproxy.proxy.layers.http import (
    HttpConnectHook,
    HttpRequestHeadersHook,
    HttpRequestHook,
    HttpResponseHeadersHook,
)
from mitmproxy.proxy.layers.tls import TlsClienthelloHook, parse_client_hello
from mitmproxy.proxy.layers.websocket import WebsocketMessageHook
from mitmproxy.test import taddons, tflow, tutils
from mitmproxy.websocket import WebSocketMessage


@dataclass
class Outcome:
    steps: list[Step] = field(default_factory=list)
    status: int | None = None  # the gate's own answer (403), or None when it let the request go on
    text: str = ""  # that answer's body
    killed: bool = False  # the flow was cut rather than answered
    passthrough: bool = False  # the TLS was not intercepted: nothing after the handshake is seen
    lines: list[dict] = field(default_factory=list)  # every decision line, in order
    events: list[dict] = field(default_factory=list)  # every event line (a live change's `policy` too)
    upstream: http.Request | None = None  # the request as it leaves for the upstream, swaps made

    @property
    def refusals(self) -> list[str]:
        return [line["rule"] for line in self.lines if line["decision"] != "allow"]


def client_hello(sni: str | None) -> tls.ClientHello:
    """A real ClientHello, as a client that names `sni` (or none) sends it."""
    context_ = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context_.check_hostname = False
    outgoing = ssl.MemoryBIO()
    client = context_.wrap_bio(ssl.MemoryBIO(), outgoing, server_hostname=sni)
    with contextlib.suppress(ssl.SSLWantReadError):
        client.do_handshake()
    hello = parse_client_hello(outgoing.read())
    assert hello is not None
    return hello


def gate_for(config: GateConfig, known: tuple[KnownSecret, ...], resolver: Resolver) -> EgressGate:
    gate = EgressGate(config, known)
    gate.gate.resolver = resolver
    return gate


class Driver:
    """One addon under `taddons`, its hooks invoked through the addon manager."""

    def __init__(self, gate: EgressGate, tctx: taddons.context) -> None:
        self.gate, self.tctx = gate, tctx

    async def hook(self, event: object) -> None:
        # invoke_addon, not trigger_event: an exception in a hook fails the test instead of
        # being logged and swallowed as the running proxy would.
        await self.tctx.master.addons.invoke_addon(self.gate, event)

    async def connect(self, host: str, port: int) -> http.HTTPFlow:
        flow = tflow.tflow(
            req=tutils.treq(
                method=b"CONNECT",
                scheme=b"",
                host=host,
                port=port,
                authority=f"{host}:{port}".encode(),
                path=b"",
                headers=http.Headers(host=f"{host}:{port}"),
                content=b"",
            )
        )
        await self.hook(HttpConnectHook(flow))
        return flow

    async def handshake(self, flow: http.HTTPFlow, sni: str | None) -> tls.ClientHelloData:
        data = tls.ClientHelloData(context.Context(flow.client_conn, self.tctx.options), client_hello(sni))
        await self.hook(TlsClienthelloHook(data))
        return data

    async def send(self, flow: http.HTTPFlow, body: bytes) -> None:
        await self.hook(HttpRequestHeadersHook(flow))
        if flow.response is not None or flow.error is not None:
            return
        if callable(flow.request.stream):
            # Streamed as mitmproxy streams it: chunk by chunk, then the end of the body.
            chunks = [body[i : i + 65536] for i in range(0, len(body), 65536)] + [b""]
            flow.request.content = b"".join(piece for chunk in chunks for piece in flow.request.stream(chunk))
        await self.hook(HttpRequestHook(flow))

    async def respond(self, flow: http.HTTPFlow, response: http.Response) -> None:
        flow.response = response
        await self.hook(HttpResponseHeadersHook(flow))

    async def websocket(self, flow: http.HTTPFlow, content: bytes, from_client: bool = True) -> WebSocketMessage:
        flow.websocket = tflow.twebsocket(messages=False)
        message = WebSocketMessage(1, from_client, content)  # 1: a text frame
        flow.websocket.messages.append(message)
        await self.hook(WebsocketMessageHook(flow))
        return message

    async def raw_tunnel(self, flow: http.HTTPFlow) -> layer.NextLayer:
        """The tunnel's bytes turned out to be neither TLS nor HTTP: mitmproxy chose a TCP layer."""
        next_layer = layer.NextLayer(context.Context(flow.client_conn, self.tctx.options))
        next_layer.layer = TCPLayer(next_layer.context)
        await self.hook(layer.NextLayerHook(next_layer))
        return next_layer


async def _through(driver: Driver, request: Request) -> tuple[Outcome, http.HTTPFlow | None]:
    outcome = Outcome()
    client_conn = None
    address = request.host
    if request.tunnel:
        connect = await driver.connect(request.host, request.port)
        outcome.steps = list(connect.metadata.get(STEPS, []))
        if connect.response is not None or driver.gate.gate.tunnels.get(connect.client_conn.id) is None:
            outcome.status = connect.response.status_code if connect.response else None
            outcome.text = connect.response.text if connect.response else ""
            return outcome, None
        client_conn, address = connect.client_conn, connect.request.host  # the checked address
        if request.scheme == "https":
            data = await driver.handshake(connect, request.sni)
            tunnel = driver.gate.gate.tunnels[client_conn.id]
            outcome.steps = list(tunnel.steps)
            if data.ignore_connection:
                outcome.passthrough = True
                return outcome, None
        client_conn.sni = request.sni
    flow = tflow.tflow(
        client_conn=client_conn,
        req=http.Request(
            host=address if request.tunnel else request.host,
            port=request.port,
            method=request.method.encode(),
            scheme=request.scheme.encode(),
            authority=request.authority.encode(),
            path=request.path.encode(),
            http_version=b"HTTP/1.1",
            headers=http.Headers([(name.encode(), value.encode()) for name, value in request.headers]),
            content=None,
            trailers=None,
            timestamp_start=0,
            timestamp_end=None,
        ),
    )
    # The body as it arrived, with no content-length added: the request's own headers say it.
    flow.request.raw_content = request.body
    await driver.send(flow, request.body)
    outcome.steps = list(flow.metadata.get(STEPS, []))
    if flow.response is not None:
        outcome.status, outcome.text = flow.response.status_code, flow.response.text or ""
    outcome.killed = flow.error is not None
    if flow.response is None and not outcome.killed:
        outcome.upstream = flow.request
    return outcome, flow


def lines_of(captured: str) -> list[dict]:
    return [json.loads(line) for line in captured.splitlines() if '"event":"decision"' in line]


async def run_async(gate: EgressGate, request: Request) -> tuple[Outcome, http.HTTPFlow | None]:
    captured = io.StringIO()
    with taddons.context(gate) as tctx, contextlib.redirect_stdout(captured):
        outcome, flow = await _through(Driver(gate, tctx), request)
    outcome.lines = lines_of(captured.getvalue())
    outcome.events = [json.loads(line) for line in captured.getvalue().splitlines() if line.startswith("{")]
    return outcome, flow


def run(config: GateConfig, known: tuple[KnownSecret, ...], request: Request, resolver: Resolver) -> Outcome:
    """`request` through a fresh addon: what the gate did with it."""
    return asyncio.run(run_async(gate_for(config, known, resolver), request))[0]
