"""The live-policy addon: looks for a new live document (`bottle-launch allow`/`deny`) every POLL
seconds, so that a deny closes the tunnels it refuses even while they send nothing. Requests do
not wait for it: the gate also looks before each admission and request (`Gate.refresh`)."""

from __future__ import annotations

import asyncio
import contextlib

from bottle_contract import events

from egress_gate._audit import emit
from egress_gate._gate import Gate

POLL = 0.25  # seconds; a look is one stat of a tmpfs file


class LiveWatch:
    def __init__(self, gate: Gate) -> None:
        self.gate = gate
        self._task: asyncio.Task[None] | None = None

    def running(self) -> None:
        self.gate.refresh()
        # On the proxy's own loop: a change is applied between two hooks, never during one.
        self._task = asyncio.get_running_loop().create_task(self._watch())

    def done(self) -> None:
        if self._task is not None:
            self._task.cancel()

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(POLL)
            try:
                self.gate.refresh()
            except Exception as exc:  # the watch must outlive one bad change; say what it was
                with contextlib.suppress(Exception):
                    emit(events.ERROR, bottle=self.gate.bottle, message=f"applying the live policy failed: {exc!r}")
