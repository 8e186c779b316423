"""The tunnels addon: a CONNECT is admitted (allowlist, port, destination) or refused; its TLS is
passed through or intercepted; a tunnel that carries neither TLS nor HTTP is closed."""

from __future__ import annotations

from bottle_contract import events
from mitmproxy import connection, http, tls
from mitmproxy.proxy import commands, layer, layers
from mitmproxy.proxy import events as proxy_events

from egress_gate._audit import emit
from egress_gate._decision import admitted_rule, tls_step
from egress_gate._gate import REFUSED, Gate, Tunnel
from egress_gate._policy import Step, normalize


class Tunnels:
    def __init__(self, gate: Gate) -> None:
        self.gate = gate

    async def http_connect(self, flow: http.HTTPFlow) -> None:
        gate = self.gate
        host, port = normalize(flow.request.host), flow.request.port
        decision = await gate.admit(host, port)
        if gate.record(flow, host, decision.steps) or decision.address is None:
            return  # refused (report mode: a name with no address has nowhere to go)
        gate.tunnels[flow.client_conn.id] = Tunnel(host, port, list(decision.steps))
        # mitmproxy connects to the CONNECT request's host: make that the checked address.
        flow.request.data.host = decision.address
        if not flow.metadata.get(REFUSED):  # report mode logged a would-block already
            gate.log(flow, host, Step("admission", True, admitted_rule(decision)))

    def client_disconnected(self, client: connection.Client) -> None:
        self.gate.tunnels.pop(client.id, None)

    def tls_clienthello(self, data: tls.ClientHelloData) -> None:
        gate = self.gate
        tunnel = gate.tunnels.get(data.context.client.id)
        if tunnel is None:
            return
        step = tls_step(gate.policy, tunnel.host, data.client_hello.sni)
        tunnel.steps.append(step)
        if step.rule == "passthrough":
            data.ignore_connection = True
            emit(events.PASSTHROUGH, bottle=gate.bottle, host=tunnel.host)
            emit(events.DECISION, bottle=gate.bottle, method="CONNECT", host=tunnel.host, path="",
                 decision="allow", rule="passthrough", hint=None)  # fmt: skip
        else:
            # The upstream gets only the admitted CONNECT host's name (and is verified against
            # it), never the client's SNI: a name the request hook will refuse never leaves the
            # gate, not even in a handshake. The address is already the checked one.
            data.context.server.sni = tunnel.host

    def next_layer(self, nextlayer: layer.NextLayer) -> None:
        """A tunnel whose bytes are neither TLS nor HTTP (or whose server speaks first, as SSH
        does) would become a raw relay that nothing scans: close it instead. mitmproxy's own
        NextLayer addon, which runs before this one, has chosen the layer; a passthrough's
        relay (no flow) is left alone."""
        chosen = nextlayer.layer
        if not isinstance(chosen, layers.TCPLayer) or chosen.flow is None:
            return
        context = nextlayer.context
        tunnel = self.gate.tunnels.get(context.client.id)
        emit(events.DECISION, bottle=self.gate.bottle, method="TCP", host=tunnel.host if tunnel else "", path="",
             decision="would-block" if self.gate.reporting else "block", rule="raw-tcp", hint=None)  # fmt: skip
        if not self.gate.reporting:
            nextlayer.layer = _Closed(context)


class _Closed(layer.Layer):
    """A layer that closes both ends of its connection as it starts, and ignores the rest."""

    def _handle_event(self, event: proxy_events.Event) -> layer.CommandGenerator[None]:
        if isinstance(event, proxy_events.Start):
            yield commands.CloseConnection(self.context.client)
            if self.context.server.connected:
                yield commands.CloseConnection(self.context.server)
