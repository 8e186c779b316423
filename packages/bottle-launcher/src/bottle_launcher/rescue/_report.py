"""What would be lost, per repository: parsed from the scan, said in one line each."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RepoLoss:
    path: str  # relative to the working folder ("." for the folder itself)
    changed: int  # tracked files with uncommitted changes, staged or not
    untracked: int  # untracked files that are not ignored
    unpushed: int  # commits no remote-tracking ref contains
    stashes: int

    @property
    def anything(self) -> bool:
        return any((self.changed, self.untracked, self.unpushed, self.stashes))

    def describe(self) -> str:
        parts = []
        if self.unpushed:
            parts.append(_count(self.unpushed, "commit") + " not pushed")
        if self.stashes:
            parts.append(_count(self.stashes, "stash", "stashes"))
        if self.changed:
            parts.append(_count(self.changed, "changed file"))
        if self.untracked:
            parts.append(_count(self.untracked, "untracked file"))
        return f"{self.path}: " + (", ".join(parts) if parts else "nothing unsaved")


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def parse_scan(output: str) -> list[RepoLoss]:
    """The scan's lines; a line that does not parse (a repository the scan could not read) is
    kept as one with unknown counts rather than dropped."""
    losses = []
    for line in output.splitlines():
        fields = line.split("\t", 4)
        if len(fields) != 5:
            continue
        *counts, path = fields
        try:
            numbers = [int(c.strip() or 0) for c in counts]
        except ValueError:
            continue
        losses.append(RepoLoss(path, *numbers))
    return losses
