"""Nothing lost at the end: before a bottle is removed, find what the agent had not pushed in the
git repositories of its working folder, and save it to the host (or ask first, or not).

The reading happens in a helper container that mounts the working folder read-only (see
_scripts.py); what comes out travels through the engine's exec streams, so a remote engine works.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

from bottle_contract.agent import WORKDIR
from bottle_manifest import format_size

from ._folder import folder_name, readme, rescue_folder, rescue_root, unpack
from ._report import RepoLoss, parse_scan
from ._scripts import SAVE, SCAN

__all__ = [
    "Mode",
    "RESCUE_SIZE",
    "RESCUE_TIMEOUT",
    "Outcome",
    "RepoLoss",
    "RunResult",
    "WorkspaceReader",
    "find_losses",
    "rescue",
    "rescue_root",
    "save",
]

Mode = Literal["ask", "save", "discard"]

RESCUE_TIMEOUT = 120.0  # seconds for the scan and every save together
RESCUE_SIZE = 512 << 20  # bytes that may come out of one bottle
FULL_BUNDLE_LIMIT = 256 << 20  # above this, a bundle of the unpushed commits only
SCAN_LIMIT = 1 << 20


@dataclass(frozen=True)
class RunResult:
    code: int | None  # None: it did not finish
    stdout: bytes
    stderr: bytes
    truncated: bool = False  # stdout went over the limit and was cut
    timed_out: bool = False


class WorkspaceReader(Protocol):
    def run(self, script: str, args: list[str], *, limit: int, timeout: float) -> RunResult:
        """Run a bash `script` with `args` in the helper, as the agent's user, in the working folder."""


class RescueError(Exception):
    """The working folder could not be read at all."""


@dataclass
class Outcome:
    losses: list[RepoLoss] = field(default_factory=list)
    folder: Path | None = None
    saved: dict[str, RepoLoss] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)


def find_losses(reader: WorkspaceReader, timeout: float = RESCUE_TIMEOUT, root: str = WORKDIR) -> list[RepoLoss]:
    result = reader.run(SCAN, [root], limit=SCAN_LIMIT, timeout=timeout)
    if result.timed_out:
        raise RescueError(f"reading the working folder took over {timeout:.0f} s")
    if result.code != 0:
        raise RescueError(f"reading the working folder failed: {_tail(result.stderr)}")
    return [loss for loss in parse_scan(result.stdout.decode(errors="replace")) if loss.anything]


def save(
    reader: WorkspaceReader,
    losses: list[RepoLoss],
    folder: Path,
    agent: str,
    bottle_id: str,
    deadline: float,
    root: str = WORKDIR,
) -> Outcome:
    """Save each repository's losses into `folder` within the time and size budget; what could
    not be saved is said, per repository, in the outcome and in the README."""
    outcome = Outcome(losses, folder)
    budget = RESCUE_SIZE
    folder.mkdir(parents=True, exist_ok=True)
    for loss in losses:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            outcome.failed[loss.path] = f"the rescue ran out of time ({RESCUE_TIMEOUT:.0f} s in all)"
            continue
        path = root if loss.path == "." else f"{root}/{loss.path}"
        result = reader.run(SAVE, [path, str(FULL_BUNDLE_LIMIT)], limit=budget, timeout=remaining)
        if result.timed_out:
            outcome.failed[loss.path] = f"the rescue ran out of time ({RESCUE_TIMEOUT:.0f} s in all)"
        elif result.truncated:
            outcome.failed[loss.path] = f"too large: the rescue saves at most {format_size(RESCUE_SIZE)} of a bottle"
        elif result.code != 0:
            outcome.failed[loss.path] = f"saving failed: {_tail(result.stderr)}"
        else:
            written = unpack(result.stdout, folder / folder_name(loss.path))
            if "commits.bundle" not in written and "changes.patch" not in written:
                outcome.failed[loss.path] = "saving failed: git wrote neither a bundle nor a patch"
            else:
                outcome.saved[loss.path] = loss
                budget -= len(result.stdout)
    (folder / "README.md").write_text(readme(agent, bottle_id, folder, outcome.saved, outcome.failed))
    return outcome


def rescue(
    open_reader: Callable[[], AbstractContextManager[WorkspaceReader | None]],
    agent: str,
    bottle_id: str,
    mode: Mode,
    say: Callable[[str], None],
    ask: Callable[[str], str] | None = None,
) -> Outcome:
    """Find unsaved work in a bottle's working folder; save it (after asking, in `ask` mode)
    unless `discard`. Says what it found and where it went, or exactly what was not saved."""
    if mode == "discard":
        say("claude-bottle: unsaved work, if any, is discarded (--discard)")
        return Outcome()
    deadline = time.monotonic() + RESCUE_TIMEOUT
    with open_reader() as reader:
        if reader is None:
            return Outcome()
        try:
            losses = find_losses(reader, RESCUE_TIMEOUT)
        except RescueError as exc:
            say(f"claude-bottle: could not check bottle {bottle_id} for unsaved work: {exc}; nothing was saved")
            return Outcome(failed={".": str(exc)})
        if not losses:
            return Outcome()
        folder = rescue_folder(agent, bottle_id)
        say(f"claude-bottle: bottle {bottle_id} has work that is not pushed:")
        for loss in losses:
            say(f"  {loss.describe()}")
        if mode == "ask" and ask is not None:
            answer = ask(f"Save it to {folder}? [Y/n] ").strip().lower()
            if answer in ("n", "no"):
                say("claude-bottle: discarded")
                return Outcome(losses)
        outcome = save(reader, losses, folder, agent, bottle_id, deadline)
    if outcome.saved:
        say(f"claude-bottle: saved to {folder} (its README.md says how to apply it)")
    for path, why in outcome.failed.items():
        say(f"claude-bottle: NOT saved: {path}: {why}")
    return outcome


def _tail(stderr: bytes) -> str:
    lines = stderr.decode(errors="replace").strip().splitlines()
    return lines[-1] if lines else "no message"
