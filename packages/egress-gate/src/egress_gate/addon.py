"""The mitmproxy addon: every CONNECT and every plain-HTTP request is checked against the
bottle's allowlist. Loaded by mitmdump with `-s`; see __main__.py."""

from __future__ import annotations

from mitmproxy import http, tls

from egress_gate._audit import emit
from egress_gate._config import GateConfig
from egress_gate._policy import Decision, decide


def _refusal(host: str, decision: Decision, bottle: str) -> http.Response:
    body = (
        f"claude-bottle egress gate: {host} is not on the allowlist of bottle {bottle!r}.\n"
        f"To allow it, {decision.hint} in claude-bottle.json.\n"
    )
    return http.Response.make(403, body.encode(), {"Content-Type": "text/plain; charset=utf-8"})


class EgressGate:
    def __init__(self, config: GateConfig | None = None) -> None:
        self.config = config or GateConfig.load()

    def running(self) -> None:
        emit("ready", bottle=self.config.bottle, port=self.config.port)

    def _check(self, flow: http.HTTPFlow, path: str) -> None:
        host = flow.request.host
        decision = decide(host, self.config.allowlist, self.config.bottle)
        emit(
            "decision",
            bottle=self.config.bottle,
            method=flow.request.method,
            host=host,
            path=path,
            decision="allow" if decision.allowed else "block",
            rule=decision.rule,
            hint=decision.hint,
        )
        if not decision.allowed:
            flow.response = _refusal(host, decision, self.config.bottle)

    def http_connect(self, flow: http.HTTPFlow) -> None:
        self._check(flow, "")

    def tls_clienthello(self, data: tls.ClientHelloData) -> None:
        # Until TLS interception lands (issue 6), allowed tunnels pass through untouched.
        data.ignore_connection = True

    def request(self, flow: http.HTTPFlow) -> None:
        if flow.response is None and not flow.request.is_http2 and flow.request.scheme == "http":
            self._check(flow, flow.request.path.split("?", 1)[0])


addons = [EgressGate()]
