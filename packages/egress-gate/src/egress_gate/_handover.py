"""Wait for what the launcher hands over into the gate's tmpfs before an engine may start."""

from __future__ import annotations

import sys
from pathlib import Path

from bottle_contract import events, handover

from egress_gate._audit import emit


def wait_for_handover(directory: Path, required: tuple[str, ...]) -> None:
    """Block until the marker arrives (the launcher writes it last), then insist on each
    required file; on a timeout or a missing file, log why and exit: no engine runs without the
    bottle's CA."""
    if not handover.wait(directory):
        emit(events.ERROR, message=f"the launcher did not hand over the CA within {handover.TIMEOUT:g} s")
        sys.exit(1)
    for name in required:
        if not (directory / name).is_file():
            emit(events.ERROR, message=f"no {name} was handed over; refusing to run without the bottle's CA")
            sys.exit(1)
