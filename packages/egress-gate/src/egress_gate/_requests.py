"""The requests addon: each request's head (and a plain-HTTP request's admission) is judged in
`requestheaders`; a body up to STREAM_ABOVE is judged whole in `request`, a larger or chunked one
as it streams (`_upload.py`). Credentials are swapped in only after their part was judged, and
never into a request its host's method-and-path rules refused (report mode lets it through)."""

from __future__ import annotations

from mitmproxy import http

from egress_gate._abort import abort_upstream
from egress_gate._content import scan_text
from egress_gate._decision import UNSCANNED, credentials, inspect_body, inspect_head
from egress_gate._gate import HOST, REFUSED, SWAPS, WITHHELD, Gate
from egress_gate._policy import Step, normalize
from egress_gate._request import streamed
from egress_gate._routes import withholds
from egress_gate._secrets import masks_for, swap, swap_text, swaps_for
from egress_gate._upload import UploadScanner, inflatable

_ALLOWED = Step("request", True, "allowed")  # the line an allowed request ends with


class Requests:
    def __init__(self, gate: Gate) -> None:
        self.gate = gate

    async def requestheaders(self, flow: http.HTTPFlow) -> None:
        """Everything decided before the body: allowlist, SNI and Host, URL and headers. A large
        body is then scanned as it streams; a small one waits for the `request` hook."""
        head = await self._head(flow)
        request = flow.request
        is_streamed = streamed(tuple(request.headers.items(multi=True)))
        if head is None:
            if flow.response is not None and is_streamed:
                # Answering now would make mitmproxy buffer the whole body first: cut it instead.
                flow.response = None
                flow.kill()
            return
        host, encoding, withheld = head
        flow.metadata[HOST] = host
        flow.metadata[WITHHELD] = withheld
        known = self.gate.policy.known
        swapped = () if withheld else known  # what the rules refused gets the placeholders only
        swaps = flow.metadata[SWAPS] = swaps_for(swapped, host, "body")
        request.path = swap_text(request.path, swaps_for(swapped, host, "url"))
        headers = swaps_for(swapped, host, "headers")
        if headers:
            # Field by field, so names keep their case and order.
            request.headers.fields = tuple((name, swap(value, headers)) for name, value in request.headers.fields)
        if masks_for(known, host):
            # Its response is masked as it streams, which a compressed body would defeat.
            request.headers["accept-encoding"] = "identity"
        if not is_streamed:
            return
        if not inflatable(encoding):
            request.stream = True  # report mode only (enforce refused it): through, unscanned, as logged
            return
        policy = self.gate.policy
        request.stream = UploadScanner(
            lambda text: scan_text(policy, host, text, "body"),
            lambda step: self._refuse_midstream(flow, host, step),
            encoding,
            swaps,
        )

    async def _head(self, flow: http.HTTPFlow) -> tuple[str, str, bool] | None:
        """The host the request goes to, its body's encoding and whether its credentials are
        withheld (`withholds`), or None when it is refused (report mode: only when its name has
        no address)."""
        gate, request = self.gate, flow.request
        tunnel = gate.tunnels.get(flow.client_conn.id)
        if tunnel is None:
            # A plain-HTTP proxy request (absolute form): nothing was checked yet.
            host, port = normalize(request.host), request.port
            admission = await gate.admit(host, port)
            if gate.record(flow, host, admission.steps) or admission.address is None:
                return None
            request.data.host = admission.address  # connect where the check approved; the Host header stays
        else:
            host, port = tunnel.host, tunnel.port
            gate.note(flow, tunnel.steps)
            gate.refresh()  # a deny the watch has not seen yet still stops this request
            if tunnel.revoked is not None:
                gate.record(flow, host, [tunnel.revoked])  # its connection is being closed
                return None
            tunnel.carry(flow)
        judged = gate.request_of(flow, host, port, tunnel is not None)
        steps = inspect_head(gate.policy, judged)
        if gate.record(flow, host, steps):
            return None
        return host, judged.encoding, withholds(steps)

    async def request(self, flow: http.HTTPFlow) -> None:
        gate = self.gate
        host = flow.metadata.get(HOST)
        if host is None or flow.response is not None:
            return  # refused at the headers
        stream = flow.request.stream
        if stream:
            # Judged as it streamed; a refusal was logged (and the upstream cut) there.
            judged = stream.judged if isinstance(stream, UploadScanner) else UNSCANNED
            gate.note(flow, [judged] if judged else [])
            if judged is None or judged.allowed or gate.reporting:
                self._done(flow, host)
            return
        body = flow.request.get_content(strict=False) or b""
        if gate.record(flow, host, [inspect_body(gate.policy, host, body)]):
            return
        swapped = swap(body, flow.metadata[SWAPS])
        if swapped != body:
            flow.request.content = swapped  # re-encoded as the client encoded it
        self._done(flow, host)

    def _done(self, flow: http.HTTPFlow, host: str) -> None:
        granted = credentials(self.gate.policy, host, flow.metadata.get(WITHHELD, False))
        if granted is not None:
            self.gate.note(flow, [granted])
        if not flow.metadata.get(REFUSED):  # report mode logged a would-block already
            self.gate.log(flow, host, _ALLOWED)

    def _refuse_midstream(self, flow: http.HTTPFlow, host: str, step: Step) -> bool:
        """Log the refusal and, unless reporting, cut the upstream off; True when the body stops."""
        self.gate.log(flow, host, step)
        if self.gate.reporting:
            return False
        abort_upstream(flow)
        return True
