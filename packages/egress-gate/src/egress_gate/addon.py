"""The mitmproxy addon that enforces a bottle's egress policy. Loaded by mitmdump with `-s`.

Order of checks, each a JSON decision line, and a 403 naming the rule (never a secret):
1. allowlist on the CONNECT host and on a plain-HTTP request's host;
2. destination: an IP literal needs an allow_cidrs range, and a name must not resolve into an
   internal range no allow_cidrs entry covers (SSRF);
3. inside an intercepted tunnel, the TLS SNI and the Host header must equal the CONNECT host;
4. DLP on URL, headers and (decompressed) body, and on the client's WebSocket messages. A
   bottle's own secret may go only to the hosts it is granted for.
Responses are streamed, never buffered, so server-sent events arrive as they are sent.
"""

from __future__ import annotations

import asyncio
import socket

from mitmproxy import http, tls

from egress_gate._audit import emit
from egress_gate._config import GateConfig
from egress_gate._dlp import Finding, scan_known, scan_patterns, scan_url_entropy
from egress_gate._policy import Decision, check_destination, decide, ip_literal, match, normalize
from egress_gate._secrets import KnownSecret, load_known


def _response(status: int, text: str) -> http.Response:
    return http.Response.make(status, text.encode(), {"Content-Type": "text/plain; charset=utf-8"})


def _bare_host(host_header: str) -> str:
    if host_header.startswith("["):
        return host_header[1:].split("]", 1)[0]
    return host_header.rsplit(":", 1)[0] if host_header.count(":") == 1 else host_header


class EgressGate:
    def __init__(self, config: GateConfig | None = None, known: tuple[KnownSecret, ...] | None = None) -> None:
        self.config = config or GateConfig.load()
        self.known = known if known is not None else load_known(self.config.handover / "known.json")

    def running(self) -> None:
        emit("ready", bottle=self.config.bottle, port=self.config.port)

    # -- decisions ------------------------------------------------------------------------
    @property
    def reporting(self) -> bool:
        return self.config.mode == "report"

    def _log(self, flow: http.HTTPFlow, host: str, decision: Decision) -> None:
        verdict = "allow" if decision.allowed else ("would-block" if self.reporting else "block")
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

    async def _destination(self, host: str, port: int) -> Decision:
        if ip_literal(host) is not None:
            return check_destination(host, [], self.config.allow_cidrs, self.config.bottle)
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError:
            return Decision(False, "unresolvable", None)
        addresses = sorted({str(info[4][0]) for info in infos})
        return check_destination(host, addresses, self.config.allow_cidrs, self.config.bottle)

    async def _admit(self, flow: http.HTTPFlow, host: str, port: int) -> bool:
        """Allowlist (or, for an IP literal, allow_cidrs) and the SSRF check."""
        if ip_literal(host) is None:
            listed = decide(host, self.config.allowlist, self.config.bottle)
            if not listed.allowed:
                self._block(
                    flow, host, listed, f"{normalize(host)} is not on the allowlist of bottle {self.config.bottle!r}"
                )
                return False
        destination = await self._destination(host, port)
        if not destination.allowed:
            what = {
                "ip-literal": f"{host} is an IP address outside the bottle's allow_cidrs",
                "internal-address": f"{host} resolves to an internal address",
                "unresolvable": f"{host} does not resolve",
            }.get(destination.rule, f"{host} is refused")
            return not self._block(flow, host, destination, what)
        return True

    # -- hooks ----------------------------------------------------------------------------
    async def http_connect(self, flow: http.HTTPFlow) -> None:
        await self._admit(flow, flow.request.host, flow.request.port)

    def tls_clienthello(self, data: tls.ClientHelloData) -> None:
        address = data.context.server.address
        host = normalize(address[0]) if address else ""
        sni = normalize(data.client_hello.sni or "")
        # Passthrough only when the SNI names the CONNECT host; otherwise the tunnel is
        # intercepted and the request hook refuses the mismatch with a readable 403.
        if host and sni == host and match(host, self.config.passthrough) is not None:
            data.ignore_connection = True
            emit("passthrough", bottle=self.config.bottle, host=host)

    async def request(self, flow: http.HTTPFlow) -> None:
        if flow.response is not None:
            return
        tunnelled = flow.server_conn.address is not None and flow.request.first_line_format == "relative"
        if not tunnelled:
            # A plain-HTTP proxy request (absolute form): nothing was checked yet.
            if not await self._admit(flow, flow.request.host, flow.request.port):
                return
            host = normalize(flow.request.host)
        else:
            host = normalize(flow.server_conn.address[0])
            if not self._same_host(flow, host):
                return
        if not self._scan(flow, host):
            self._log(flow, host, Decision(True, "allowed"))

    def _same_host(self, flow: http.HTTPFlow, host: str) -> bool:
        sni = flow.client_conn.sni
        if sni and normalize(sni) != host:
            message = f"the TLS name {sni!r} is not the tunnel's host {host!r}"
            return not self._block(flow, host, Decision(False, "sni-mismatch", None), message)
        header = flow.request.host_header
        if header and normalize(_bare_host(header)) != host:
            decision = Decision(False, "host-mismatch", None)
            return not self._block(
                flow, host, decision, f"the Host header {header!r} is not the tunnel's host {host!r}"
            )
        return True

    def _scan(self, flow: http.HTTPFlow, host: str) -> bool:
        """True when a finding was blocked (or, in report mode, logged as one)."""
        request = flow.request
        findings = scan_patterns(request.url, "url") + scan_url_entropy(request.url, host)
        for name, value in request.headers.items(multi=True):
            findings += scan_patterns(value, f"header {name}")
        body = request.get_content(strict=False) or b""
        text = body.decode("utf-8", errors="replace") if body else ""
        findings += scan_patterns(text, "body")
        whole = "\n".join([request.url, *request.headers.values(), text])
        findings += scan_known(whole, "request", [k.value for k in self.known])
        blocking = self._blocking(findings, host)
        if blocking is None:
            return False
        decision = Decision(False, f"dlp:{blocking.rule}", None)
        self._block(flow, host, decision, f"possible secret ({blocking.rule}) in the {blocking.where}")
        return True

    def _blocking(self, findings: list[Finding], host: str) -> Finding | None:
        """The first finding that is not a granted secret travelling to one of its hosts."""
        for finding in findings:
            owners = [k for k in self.known if finding.match in k.value or k.value in finding.match]
            if owners and all(k.may_go_to(host) for k in owners):
                continue
            return finding
        return None

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        if flow.response is not None:
            flow.response.stream = True

    def websocket_message(self, flow: http.HTTPFlow) -> None:
        assert flow.websocket is not None
        message = flow.websocket.messages[-1]
        if not message.from_client:
            return
        host = normalize(flow.server_conn.address[0]) if flow.server_conn.address else normalize(flow.request.host)
        text = message.text if message.is_text else message.content.decode("utf-8", errors="replace")
        findings = scan_patterns(text, "websocket") + scan_known(text, "websocket", [k.value for k in self.known])
        blocking = self._blocking(findings, host)
        if blocking is not None:
            if not self.reporting:
                message.drop()
            emit("decision", bottle=self.config.bottle, method="WEBSOCKET", host=host, path="",
                 decision="would-block" if self.reporting else "block", rule=f"dlp:{blocking.rule}",
                 hint=None)  # fmt: skip


def _redacted_path(flow: http.HTTPFlow) -> str:
    """The path without its query: query values are where tokens travel."""
    return flow.request.path.split("?", 1)[0][:200]


addons = [EgressGate()]
