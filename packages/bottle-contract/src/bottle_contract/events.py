"""The gates' event lines: one JSON object per line on the gate's stdout, where `docker logs`
and the launcher read them. Every gate writes them with `line`/`emit`, and the launcher's
readiness wait, `logs` and the session summary read them with `parse`.

    {"time": "2026-12-01T20:00:00Z", "gate": "egress", "event": "decision", ...fields}
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field
from typing import Any, TextIO

READY = "ready"  # the gate serves; the launcher hands over to the agent only after every READY
ERROR = "error"  # the gate cannot serve, with a "message"
DECISION = "decision"  # the egress gate let a request through or refused it
PUSHED = "pushed"  # the git gate took a push into a local workspace's mirror, with its "refs"
PASSTHROUGH = "passthrough"  # the egress gate tunnels a passthrough host without intercepting it
# The egress gate applied a live allowlist change (`bottle-launch allow`/`deny`, egress.LivePolicy):
# "serial", who ("by": the local user, "pid": the launcher's), "at", the entries it "added" and
# "removed", the whole "allow" and "deny" lists, and how many open tunnels it "closed".
POLICY = "policy"

# The fields of a DECISION line, as `logs` and the summary read them.
DECISION_BLOCK = "block"
DECISION_WOULD_BLOCK = "would-block"  # report mode: let through, logged as enforce would refuse


@dataclass(frozen=True)
class Event:
    gate: str
    event: str
    time: str
    fields: dict[str, Any] = field(default_factory=dict)

    def get(self, name: str, default: Any = None) -> Any:
        return self.fields.get(name, default)

    @property
    def refused(self) -> bool:
        """A decision that refused (or, in report mode, would have refused) a request."""
        return self.event == DECISION and self.fields.get("decision") in (DECISION_BLOCK, DECISION_WOULD_BLOCK)


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def line(gate: str, event: str, **fields: Any) -> str:
    """One event as its line, without the newline."""
    return json.dumps({"time": now(), "gate": gate, "event": event, **fields}, separators=(",", ":"))


def emit(gate: str, event: str, stream: TextIO | None = None, **fields: Any) -> None:
    out = stream or sys.stdout
    out.write(line(gate, event, **fields) + "\n")
    out.flush()


def parse(raw: bytes | str) -> Event | None:
    """The event a log line holds, or None for any other line (a tool's own output)."""
    text = raw.decode(errors="replace") if isinstance(raw, bytes) else raw
    if not text.startswith("{"):
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("event"), str):
        return None
    fields = {k: v for k, v in data.items() if k not in ("time", "gate", "event")}
    return Event(str(data.get("gate", "")), data["event"], str(data.get("time", "")), fields)
