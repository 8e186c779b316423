"""What the user sees when a bottle ends: the hosts its egress gate refused, each with the rule
and the manifest change that would allow it (read from the gate's JSON decision lines)."""

from __future__ import annotations

import json
from collections.abc import Iterable


def blocked(lines: Iterable[bytes]) -> dict[str, tuple[str, str | None]]:
    """host -> (rule, hint) for every host refused (or, in report mode, that would have been)."""
    found: dict[str, tuple[str, str | None]] = {}
    for line in lines:
        if not line.startswith(b"{"):
            continue
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if record.get("event") == "decision" and record.get("decision") in ("block", "would-block"):
            found.setdefault(str(record.get("host", "")), (str(record.get("rule", "")), record.get("hint")))
    return found


def render(found: dict[str, tuple[str, str | None]]) -> str:
    if not found:
        return ""
    lines = ["egress refused during this session:"]
    for host, (rule, hint) in sorted(found.items()):
        lines.append(f"  {host or '(no host)'}  [{rule}]" + (f"  to allow: {hint}" if hint else ""))
    return "\n".join(lines)
