"""One lock per mirror, so a fetch from upstream and a push forwarded upstream never interleave."""

from __future__ import annotations

import contextlib
import fcntl
import time
from collections.abc import Iterator
from pathlib import Path


class LockTimeout(Exception):
    pass


@contextlib.contextmanager
def repo_lock(repo_dir: Path, timeout: float) -> Iterator[None]:
    with open(repo_dir / "gate.lock", "a") as handle:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise LockTimeout(f"another operation held the repository for {timeout:.0f} s") from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
