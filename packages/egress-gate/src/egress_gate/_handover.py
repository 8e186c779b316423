"""Wait for what the launcher hands over into the gate's tmpfs before an engine may start."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from egress_gate._audit import emit

HANDOVER_TIMEOUT = 60


def wait_for_handover(handover: Path, required: tuple[str, ...]) -> None:
    """Block until the `env` marker arrives (the launcher writes it last), then insist on each
    required file; on a timeout or a missing file, log why and exit: no engine runs without the
    bottle's CA."""
    deadline = time.monotonic() + HANDOVER_TIMEOUT
    while not (handover / "env").exists():
        if time.monotonic() > deadline:
            emit("error", message=f"the launcher did not hand over the CA within {HANDOVER_TIMEOUT} s")
            sys.exit(1)
        time.sleep(0.02)
    for name in required:
        if not (handover / name).is_file():
            emit("error", message=f"no {name} was handed over; refusing to run without the bottle's CA")
            sys.exit(1)
