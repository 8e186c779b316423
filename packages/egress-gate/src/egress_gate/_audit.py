"""One JSON line per decision, on stdout, where `docker logs` and the launcher read it
(bottle_contract.events: the line every gate writes)."""

from __future__ import annotations

from typing import Any

from bottle_contract import events


def emit(event: str, **fields: Any) -> None:
    events.emit("egress", event, **fields)
