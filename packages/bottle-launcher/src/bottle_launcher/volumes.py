"""Persisted volumes (an agent's `persist`): what exists, when each was last used, removing them.

The engine knows a volume's labels and size but not when it was last mounted, so the launcher
keeps that itself: a small JSON file under $XDG_STATE_HOME, written when a bottle starts and
ends. A volume used from another machine's launcher shows no last use here.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from .plan import ID_LABEL, LABEL, PERSIST_LABEL, PROJECT_LABEL


@dataclass(frozen=True)
class PersistedVolume:
    name: str
    agent: str
    project: str
    role: str  # "work" or "claude"
    size: int | None  # bytes; None when the engine did not say
    in_use_by: tuple[str, ...]  # bottle ids of the running bottles that mount it
    last_used: str | None  # ISO time, from this machine's record


def _state_file() -> Path:
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "claude-bottle" / "volumes.json"


def _read() -> dict[str, str]:
    try:
        data = json.loads(_state_file().read_text())
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def record_use(names: list[str]) -> None:
    """Note that these volumes are in use now; a failure to write is not worth a launch."""
    if not names:
        return
    data = _read()
    now = datetime.now(UTC).isoformat(timespec="seconds")
    data.update(dict.fromkeys(names, now))
    _write(data)


def forget(names: list[str]) -> None:
    data = _read()
    if any(name in data for name in names):
        for name in names:
            data.pop(name, None)
        _write(data)


def _write(data: dict[str, str]) -> None:
    path = _state_file()
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data, indent=2, sort_keys=True))


def describe(df_volumes: list[dict], users: dict[str, list[str]]) -> list[PersistedVolume]:
    """Persisted volumes from the engine's `df` answer, with who uses them and when they last were."""
    last = _read()
    found = []
    for entry in df_volumes:
        labels = entry.get("Labels") or {}
        if labels.get(PERSIST_LABEL) != "true" or ID_LABEL in labels:
            continue
        size = (entry.get("UsageData") or {}).get("Size")
        name = str(entry["Name"])
        found.append(
            PersistedVolume(
                name=name,
                agent=labels.get(f"{LABEL}.agent", ""),
                project=labels.get(PROJECT_LABEL, ""),
                role=labels.get(f"{LABEL}.role", ""),
                size=int(size) if isinstance(size, int) and size >= 0 else None,
                in_use_by=tuple(users.get(name, [])),
                last_used=last.get(name),
            )
        )
    return sorted(found, key=lambda v: (v.agent, v.project, v.role))
