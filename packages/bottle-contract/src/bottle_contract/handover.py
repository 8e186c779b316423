"""The handover: the launcher writes a container's secrets into its tmpfs through an exec's
stdin, and the marker file last (renamed into place), so whoever waits for the marker never
reads half a handover. Its content is the agent's env: NUL-separated NAME=value records."""

from __future__ import annotations

import time
from pathlib import Path

MARKER = "env"
TIMEOUT = 60.0  # seconds a gate waits for its handover before it gives up


def marker(directory: str | Path) -> Path:
    return Path(directory) / MARKER


def wait(directory: str | Path, timeout: float = TIMEOUT) -> bool:
    """Block until the marker is in `directory`; False once `timeout` passed without it."""
    path = marker(directory)
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True
