"""The WebSocket addon: each client message goes through the body step (`_content.scan_text`)
and carries the real value of a credential where the credential says so, unless the host's
method-and-path rules refused the upgrade (report mode let it through); each server message
from a credential's host carries the placeholder instead of the real value."""

from __future__ import annotations

from bottle_contract import events
from mitmproxy import http

from egress_gate._audit import emit
from egress_gate._content import scan_text
from egress_gate._gate import HOST, WITHHELD, Gate
from egress_gate._secrets import masks_for, swap, swaps_for


class WebSockets:
    def __init__(self, gate: Gate) -> None:
        self.gate = gate

    def websocket_message(self, flow: http.HTTPFlow) -> None:
        assert flow.websocket is not None
        gate = self.gate
        message = flow.websocket.messages[-1]
        host = flow.metadata.get(HOST, "")
        if not message.from_client:
            masks = masks_for(gate.policy.known, host)
            if masks:
                message.content = swap(message.content, masks)
            return
        text = message.text if message.is_text else message.content.decode("utf-8", errors="replace")
        step = scan_text(gate.policy, host, text, "websocket")
        if step.allowed:
            swaps = () if flow.metadata.get(WITHHELD) else swaps_for(gate.policy.known, host, "body")
            if swaps:
                message.content = swap(message.content, swaps)
            return
        if not gate.reporting:
            message.drop()
        emit(events.DECISION, bottle=gate.bottle, method="WEBSOCKET", host=host, path="",
             decision="would-block" if gate.reporting else "block", rule=step.rule, hint=None)  # fmt: skip
