"""The responses addon: every response streams (server-sent events arrive as they are sent); one
from a credential's host carries the placeholder wherever the real value was (`_mask.py`)."""

from __future__ import annotations

from bottle_contract import events
from mitmproxy import http

from egress_gate._audit import emit
from egress_gate._gate import HOST, Gate, redacted_path
from egress_gate._mask import ResponseMasker
from egress_gate._secrets import masks_for, swap


class Responses:
    def __init__(self, gate: Gate) -> None:
        self.gate = gate

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        if flow.response is None:
            return
        masks = masks_for(self.gate.policy.known, flow.metadata.get(HOST, ""))
        if not masks:
            flow.response.stream = True
            return
        response = flow.response
        response.headers.fields = tuple((name, swap(value, masks)) for name, value in response.headers.fields)
        if response.headers.get("content-encoding", "identity").strip().lower() not in ("", "identity"):
            # Asked for identity, sent compressed: the real value could come back unseen.
            emit(events.DECISION, bottle=self.gate.bottle, method=flow.request.method, host=flow.metadata[HOST],
                 path=redacted_path(flow), decision="block", rule="compressed-response", hint=None)  # fmt: skip
            flow.kill()
            return
        response.stream = ResponseMasker(masks)
