"""The mitmproxy addon that enforces a bottle's egress policy. `python -m egress_gate` runs it.

Order of checks, each a JSON decision line, and a 403 naming the rule (never a secret):
1. allowlist and port (80 and 443 unless the bottle declares more) on the CONNECT host and on a
   plain-HTTP request's host;
2. destination: an IP literal needs an allow_cidrs range, and a name must not resolve into an
   internal range no allow_cidrs entry covers (SSRF). The connection then goes to the address
   that was checked, never to a second resolution of the name (DNS rebinding);
3. one target: inside a tunnel, the TLS SNI, an absolute-form request's authority and the Host
   header must all name the CONNECT host; in plain HTTP, the Host header must name the URL's;
4. a tunnel carries TLS or HTTP only: raw TCP (a server that speaks first, SSH) is closed;
5. DLP on URL, headers and (decompressed) body, and on the client's WebSocket messages. A
   bottle's own secret, and its usual encodings, may go only to the hosts it is granted for;
6. credentials: the agent holds a placeholder, swapped here for the real value in the headers of
   requests to the credential's hosts (in the URL, body and WebSocket messages only where the
   credential says so), after steps 1-5, and refused everywhere else. Their responses carry the
   placeholder where the real value was.
Steps 1-5 up to the headers run in `requestheaders`. A body up to STREAM_ABOVE is scanned whole
in `request`; a larger or chunked one is scanned as it streams (`_upload.py`).
Responses are streamed, never buffered, so server-sent events arrive as they are sent.
"""

from __future__ import annotations

import asyncio
import socket

from mitmproxy import connection, http, tls
from mitmproxy.proxy import commands, events, layer, layers

from egress_gate._abort import abort_upstream
from egress_gate._audit import emit
from egress_gate._config import GateConfig
from egress_gate._dlp import Finding, scan_known, scan_patterns, scan_url_entropy
from egress_gate._mask import ResponseMasker
from egress_gate._policy import (
    Decision,
    check_destination,
    check_port,
    decide,
    ip_literal,
    match,
    normalize,
    target_disagreement,
)
from egress_gate._secrets import KnownSecret, load_known, masks_for, swap, swap_text, swaps_for
from egress_gate._upload import UploadScanner, inflatable

STREAM_ABOVE = 4 << 20  # bytes; a larger request body is scanned as it streams, never held whole
_HOST = "egress_gate.host"  # flow.metadata keys: the host the request was admitted for,
_REFUSED = "egress_gate.refused"  # whether a block (or report mode's would-block) was logged,
_SWAPS = "egress_gate.swaps"  # and the credentials this host may receive in the body
_MESSAGES = {
    "sni-mismatch": "the TLS name is not the tunnel's host",
    "authority-mismatch": "the request names another host than its tunnel's",
    "host-mismatch": "the Host header names another host than the request's target",
}


def _response(status: int, text: str) -> http.Response:
    return http.Response.make(status, text.encode(), {"Content-Type": "text/plain; charset=utf-8"})


class EgressGate:
    def __init__(self, config: GateConfig | None = None, known: tuple[KnownSecret, ...] | None = None) -> None:
        self.config = config or GateConfig.load()
        self.known = known if known is not None else load_known(self.config.handover / "known.json")
        # Every form of every known secret, each one looked for in each request.
        self.forms = [form for k in self.known for form in k.forms]
        # The host and port each client connection's CONNECT was admitted for, by connection id.
        self.tunnels: dict[str, tuple[str, int]] = {}

    def running(self) -> None:
        emit("ready", bottle=self.config.bottle, port=self.config.port)

    # -- decisions ------------------------------------------------------------------------
    @property
    def reporting(self) -> bool:
        return self.config.mode == "report"

    def _log(self, flow: http.HTTPFlow, host: str, decision: Decision) -> None:
        verdict = "allow" if decision.allowed else ("would-block" if self.reporting else "block")
        if not decision.allowed:
            flow.metadata[_REFUSED] = True
        emit(
            "decision",
            bottle=self.config.bottle,
            method=flow.request.method,
            host=host,
            path=_redacted_path(flow),
            decision=verdict,
            rule=decision.rule,
            hint=decision.hint,
        )

    def _block(self, flow: http.HTTPFlow, host: str, decision: Decision, message: str) -> bool:
        """Refuse the flow (True), or in report mode only log that enforce would have (False)."""
        self._log(flow, host, decision)
        if self.reporting:
            return False
        text = f"claude-bottle egress gate: {message} (rule: {decision.rule}).\n"
        if decision.hint:
            text += f"To allow it, {decision.hint} in claude-bottle.json.\n"
        flow.response = _response(403, text)
        return True

    async def _destination(self, host: str, port: int) -> tuple[Decision, str | None]:
        """The SSRF check, and the one address it approved: the connection goes there."""
        if ip_literal(host) is not None:
            return check_destination(host, [], self.config.allow_cidrs, self.config.bottle), host.strip("[]")
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError:
            return Decision(False, "unresolvable", None), None
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        return check_destination(host, addresses, self.config.allow_cidrs, self.config.bottle), addresses[0]

    async def _admit(self, flow: http.HTTPFlow, host: str, port: int) -> str | None:
        """Allowlist (or, for an IP literal, allow_cidrs), port and the SSRF check: the address
        to connect to, or None when refused (report mode: the first resolved one)."""
        if ip_literal(host) is None:
            listed = decide(host, self.config.allowlist, self.config.bottle)
            if not listed.allowed:
                message = f"{normalize(host)} is not on the allowlist of bottle {self.config.bottle!r}"
                if self._block(flow, host, listed, message):
                    return None
        allowed_port = check_port(host, port, self.config.ports, self.config.bottle)
        message = f"port {port} is not open for {normalize(host)}"
        if not allowed_port.allowed and self._block(flow, host, allowed_port, message):
            return None
        destination, address = await self._destination(host, port)
        if not destination.allowed:
            what = {
                "ip-literal": f"{host} is an IP address outside the bottle's allow_cidrs",
                "internal-address": f"{host} resolves to an internal address",
                "unresolvable": f"{host} does not resolve",
            }.get(destination.rule, f"{host} is refused")
            if self._block(flow, host, destination, what) or address is None:
                return None
        return address

    # -- hooks ----------------------------------------------------------------------------
    async def http_connect(self, flow: http.HTTPFlow) -> None:
        host, port = normalize(flow.request.host), flow.request.port
        address = await self._admit(flow, host, port)
        if address is None:
            return
        self.tunnels[flow.client_conn.id] = (host, port)
        # mitmproxy connects to the CONNECT request's host: make that the checked address.
        flow.request.data.host = address
        if not flow.metadata.get(_REFUSED):
            rule = "allow_cidrs" if ip_literal(host) else decide(host, self.config.allowlist, self.config.bottle).rule
            self._log(flow, host, Decision(True, rule))

    def client_disconnected(self, client: connection.Client) -> None:
        self.tunnels.pop(client.id, None)

    def tls_clienthello(self, data: tls.ClientHelloData) -> None:
        host = self.tunnels.get(data.context.client.id, ("", 0))[0]
        sni = normalize(data.client_hello.sni or "")
        # Passthrough only when the SNI names the CONNECT host; otherwise the tunnel is
        # intercepted and the request hook refuses the mismatch with a readable 403.
        if host and sni == host and match(host, self.config.passthrough) is not None:
            data.ignore_connection = True
            emit("passthrough", bottle=self.config.bottle, host=host)
            emit("decision", bottle=self.config.bottle, method="CONNECT", host=host, path="",
                 decision="allow", rule="passthrough", hint=None)  # fmt: skip
        elif host:
            # The upstream gets only the admitted CONNECT host's name (and is verified against
            # it), never the client's SNI: a name the request hook will refuse never leaves the
            # gate, not even in a handshake. The address is already the checked one.
            data.context.server.sni = host

    def next_layer(self, nextlayer: layer.NextLayer) -> None:
        """A tunnel whose bytes are neither TLS nor HTTP (or whose server speaks first, as SSH
        does) would become a raw relay that nothing scans: close it instead. mitmproxy's own
        NextLayer addon, which runs before this one, has chosen the layer; a passthrough's
        relay (no flow) is left alone."""
        chosen = nextlayer.layer
        if not isinstance(chosen, layers.TCPLayer) or chosen.flow is None:
            return
        context = nextlayer.context
        host = self.tunnels.get(context.client.id, ("", 0))[0]
        emit("decision", bottle=self.config.bottle, method="TCP", host=host, path="",
             decision="would-block" if self.reporting else "block", rule="raw-tcp", hint=None)  # fmt: skip
        if not self.reporting:
            nextlayer.layer = _Closed(context)

    async def requestheaders(self, flow: http.HTTPFlow) -> None:
        """Everything decided before the body: allowlist, SNI and Host, URL and headers. A large
        body is then scanned as it streams; a small one waits for the `request` hook."""
        host = await self._head(flow)
        if host is None:
            if flow.response is not None and _streamed(flow.request):
                # Answering now would make mitmproxy buffer the whole body first: cut it instead.
                flow.response = None
                flow.kill()
            return
        flow.metadata[_HOST] = host
        request = flow.request
        swaps = flow.metadata[_SWAPS] = swaps_for(self.known, host, "body")
        request.path = swap_text(request.path, swaps_for(self.known, host, "url"))
        headers = swaps_for(self.known, host, "headers")
        if headers:
            # Field by field, so names keep their case and order.
            request.headers.fields = tuple((name, swap(value, headers)) for name, value in request.headers.fields)
        if masks_for(self.known, host):
            # Its response is masked as it streams, which a compressed body would defeat.
            request.headers["accept-encoding"] = "identity"
        if _streamed(request):
            encoding = request.headers.get("content-encoding", "").strip().lower()
            request.stream = UploadScanner(
                lambda text: self._blocking(scan_patterns(text, "body") + scan_known(text, "body", self.forms), host),
                lambda finding: self._refuse_midstream(flow, host, finding),
                encoding,
                swaps,
            )

    async def _head(self, flow: http.HTTPFlow) -> str | None:
        """The host the request goes to, or None when it is refused (report mode: never)."""
        request = flow.request
        tunnel = self.tunnels.get(flow.client_conn.id)
        if tunnel is None:
            # A plain-HTTP proxy request (absolute form): nothing was checked yet.
            host, port = normalize(request.host), request.port
            address = await self._admit(flow, host, port)
            if address is None:
                return None
            request.data.host = address  # connect where the check approved; the Host header stays
            sni, authority = None, ""
        else:
            host, port = tunnel
            sni, authority = flow.client_conn.sni, request.authority
        mismatch = target_disagreement(host, port, sni=sni, authority=authority, host_header=request.host_header)
        if mismatch is not None and self._block(flow, host, mismatch, f"{_MESSAGES[mismatch.rule]} ({host!r})"):
            return None
        findings = scan_patterns(request.url, "url") + scan_url_entropy(request.url, host)
        findings += scan_known(request.url, "url", self.forms)
        for name, value in request.headers.items(multi=True):
            findings += scan_patterns(value, f"header {name}") + scan_known(value, f"header {name}", self.forms)
        if self._refuse(flow, host, findings):
            return None
        encoding = request.headers.get("content-encoding", "").strip().lower()
        if _streamed(request) and not inflatable(encoding):
            decision = Decision(False, "unscannable-encoding", None)
            if self._block(flow, host, decision, f"a streamed body in {encoding!r} cannot be scanned"):
                return None
        return host

    async def request(self, flow: http.HTTPFlow) -> None:
        host = flow.metadata.get(_HOST)
        if host is None or flow.response is not None:
            return  # refused at the headers
        if isinstance(flow.request.stream, UploadScanner):
            if not flow.metadata.get(_REFUSED):
                self._log(flow, host, Decision(True, "allowed"))
            return
        body = flow.request.get_content(strict=False) or b""
        text = body.decode("utf-8", errors="replace") if body else ""
        if self._refuse(flow, host, scan_patterns(text, "body") + scan_known(text, "body", self.forms)):
            return
        swapped = swap(body, flow.metadata[_SWAPS])
        if swapped != body:
            flow.request.content = swapped  # re-encoded as the client encoded it
        if not flow.metadata.get(_REFUSED):  # report mode logged a would-block already
            self._log(flow, host, Decision(True, "allowed"))

    def _refuse(self, flow: http.HTTPFlow, host: str, findings: list[Finding]) -> bool:
        """True when a finding was blocked (or, in report mode, logged as one)."""
        blocking = self._blocking(findings, host)
        if blocking is None:
            return False
        decision, message = self._finding_decision(blocking, host)
        self._block(flow, host, decision, message)
        return not self.reporting

    def _refuse_midstream(self, flow: http.HTTPFlow, host: str, finding: Finding) -> bool:
        """Log the finding and, unless reporting, cut the upstream off; True when the body stops."""
        decision, _ = self._finding_decision(finding, host)
        self._log(flow, host, decision)
        if self.reporting:
            return False
        abort_upstream(flow)
        return True

    def _finding_decision(self, finding: Finding, host: str) -> tuple[Decision, str]:
        owners = self._owners(finding)
        credentials = [k for k in owners if k.placeholder and not k.may_go_to(host)]
        if credentials:
            k = credentials[0]
            hint = f'add "{host}" to bottles.{self.config.bottle}.env.{k.name}.hosts' if k.name else None
            message = f"credential {k.name or 'of this bottle'} may go only to {', '.join(k.hosts)}"
            return Decision(False, "dlp:credential", hint), f"{message}; it is in the {finding.where}"
        return Decision(False, f"dlp:{finding.rule}", None), f"possible secret ({finding.rule}) in the {finding.where}"

    def _owners(self, finding: Finding) -> list[KnownSecret]:
        return [k for k in self.known if any(f in finding.match or finding.match in f for f in k.forms)]

    def _blocking(self, findings: list[Finding], host: str) -> Finding | None:
        """The first finding that is not a granted secret travelling to one of its hosts."""
        for finding in findings:
            owners = self._owners(finding)
            if owners and all(k.may_go_to(host) for k in owners):
                continue
            return finding
        return None

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        if flow.response is None:
            return
        masks = masks_for(self.known, flow.metadata.get(_HOST, ""))
        if not masks:
            flow.response.stream = True
            return
        response = flow.response
        response.headers.fields = tuple((name, swap(value, masks)) for name, value in response.headers.fields)
        if response.headers.get("content-encoding", "identity").strip().lower() not in ("", "identity"):
            # Asked for identity, sent compressed: the real value could come back unseen.
            emit("decision", bottle=self.config.bottle, method=flow.request.method, host=flow.metadata[_HOST],
                 path=_redacted_path(flow), decision="block", rule="compressed-response", hint=None)  # fmt: skip
            flow.kill()
            return
        response.stream = ResponseMasker(masks)

    def websocket_message(self, flow: http.HTTPFlow) -> None:
        assert flow.websocket is not None
        message = flow.websocket.messages[-1]
        host = flow.metadata.get(_HOST, "")
        if not message.from_client:
            masks = masks_for(self.known, host)
            if masks:
                message.content = swap(message.content, masks)
            return
        text = message.text if message.is_text else message.content.decode("utf-8", errors="replace")
        findings = scan_patterns(text, "websocket") + scan_known(text, "websocket", self.forms)
        blocking = self._blocking(findings, host)
        if blocking is None:
            swaps = swaps_for(self.known, host, "body")
            if swaps:
                message.content = swap(message.content, swaps)
            return
        if not self.reporting:
            message.drop()
        emit("decision", bottle=self.config.bottle, method="WEBSOCKET", host=host, path="",
             decision="would-block" if self.reporting else "block",
             rule=self._finding_decision(blocking, host)[0].rule, hint=None)  # fmt: skip


class _Closed(layer.Layer):
    """A layer that closes both ends of its connection as it starts, and ignores the rest."""

    def _handle_event(self, event: events.Event) -> layer.CommandGenerator[None]:
        if isinstance(event, events.Start):
            yield commands.CloseConnection(self.context.client)
            if self.context.server.connected:
                yield commands.CloseConnection(self.context.server)


def _streamed(request: http.Request) -> bool:
    """A chunked body, or one longer than STREAM_ABOVE, is scanned as it streams. (An HTTP/2 body
    without a content-length cannot be told from no body here, so it is buffered.)"""
    length = request.headers.get("content-length")
    if length is None:
        return "chunked" in request.headers.get("transfer-encoding", "").lower()
    try:
        return int(length) > STREAM_ABOVE
    except ValueError:
        return True


def _redacted_path(flow: http.HTTPFlow) -> str:
    """The path without its query: query values are where tokens travel."""
    return flow.request.path.split("?", 1)[0][:200]
