"""The gates' log lines, as the launcher reads them: one JSON object per line, named by its
"event" (ready, error, decision, pushed)."""

from __future__ import annotations

import json


def event_of(line: bytes) -> object:
    """The "event" of a gate's JSON log line, or None for any other line."""
    if not line.startswith(b"{"):
        return None
    try:
        data = json.loads(line)
    except ValueError:
        return None
    return data.get("event") if isinstance(data, dict) else None
