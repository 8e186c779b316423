"""The git gate: a git daemon mirror of each declared repository. Pushes are scanned for
secrets and forwarded upstream atomically under leases; fetches refresh from upstream first.
Every failure closes."""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

__all__ = ["Deadline", "Finding", "GateConfig", "RefUpdate", "Remote", "ScanBudget", "scan_push"]

# Loaded on first use: the access hook runs for every fetch, and importing the scanner (and with
# it GitPython's neighbours) for a hook that needs none of it cost ~100 ms under gVisor.
_WHERE = {
    "Deadline": "._budget",
    "Finding": "._scan",
    "scan_push": "._scan",
    "GateConfig": "._config",
    "Remote": "._config",
    "ScanBudget": "._budget",
    "RefUpdate": "._upstream",
}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_WHERE[name], __name__), name)
