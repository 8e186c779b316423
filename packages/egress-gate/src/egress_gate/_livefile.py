"""The live policy file in the gate's tmpfs (bottle_contract.egress.LIVE_FILE), looked at often
and read only when it changed: one stat per look. The launcher renames each new document into
place, so a change is a new inode, and a reader never sees half a document."""

from __future__ import annotations

import os
from pathlib import Path

from bottle_contract.egress import LivePolicy

Signature = tuple[int, int, int]  # inode, mtime in ns, size


class LiveFile:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._seen: Signature | None = None

    def changed(self) -> LivePolicy | None:
        """The document if it changed since the last look, else None (also while there is none).
        A document that does not parse raises ContractError, once: it is not looked at again
        until it changes."""
        try:
            status = os.stat(self.path)
        except FileNotFoundError:
            return None
        signature = (status.st_ino, status.st_mtime_ns, status.st_size)
        if signature == self._seen:
            return None
        self._seen = signature
        return LivePolicy.from_json(self.path.read_bytes())
