"""The scan's budget: how many objects and bytes one push may add, and how long its scan may take.
A push over any of them is refused with the reason (fail closed): a scan that gave up part-way
would let the unread part through, as GitHub's push protection does when its scan times out."""

from __future__ import annotations

import contextlib
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence

from bottle_contract.git import MiB, ScanBudget

from ._errors import ScanError

__all__ = ["Deadline", "OverBudget", "ScanBudget", "check_budget"]


class OverBudget(ScanError):
    pass


def check_budget(budget: ScanBudget, objects: int, size: int) -> None:
    # Called as the listing streams in, so an oversized push is refused before it is read.
    if objects > budget.max_objects:
        raise OverBudget(
            f"this push adds more than {budget.max_objects:,} objects, the most the gate scans in one push;"
            " push it in parts (older commits first)"
        )
    if size > budget.max_bytes:
        raise OverBudget(
            f"this push adds more than {_size(budget.max_bytes)} of objects, the most the gate scans in"
            " one push; push it in parts (older commits first), and keep large generated files out of git"
        )


def _size(count: int) -> str:
    return f"{count / MiB:g} MiB" if count >= MiB else f"{count:,} bytes"


class Deadline:
    """One clock for every step of a push's scan."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._end = time.monotonic() + seconds

    def exceeded(self) -> OverBudget:
        return OverBudget(f"the secret scan took longer than its {self.seconds:g} s budget; push it in parts")

    def remaining(self) -> float:
        left = self._end - time.monotonic()
        if left <= 0:
            raise self.exceeded()
        return left

    def run(self, command: Sequence[str], **kwargs: object) -> subprocess.CompletedProcess[bytes]:
        try:
            return subprocess.run(command, capture_output=True, timeout=self.remaining(), **kwargs)  # type: ignore[call-overload, no-any-return]
        except subprocess.TimeoutExpired:
            raise self.exceeded() from None

    @contextlib.contextmanager
    def kill_at(self, *processes: subprocess.Popen[bytes]) -> Iterator[None]:
        """Streaming processes: killed when the time is up (a blocked read then ends), and on any
        way out of the block, so none outlives the hook."""
        fired = threading.Event()

        def kill() -> None:
            fired.set()
            for process in processes:
                process.kill()

        timer = threading.Timer(self.remaining(), kill)
        timer.start()
        try:
            yield
        finally:
            timer.cancel()
            for process in processes:
                if process.poll() is None:
                    process.kill()
                process.wait()
                if process.stdout:
                    process.stdout.close()
            if fired.is_set():
                raise self.exceeded()
