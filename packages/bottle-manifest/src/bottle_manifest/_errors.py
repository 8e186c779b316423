"""The one error type the library raises for anything a user wrote or forgot."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

_PLAIN_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


@dataclass(frozen=True, order=True)
class Issue:
    """One problem, located precisely enough for a user to fix it without guessing."""

    file: str
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.path}: {self.message}"


class ManifestError(Exception):
    """Raised with every problem found, never just the first."""

    def __init__(self, issues: Iterable[Issue]) -> None:
        self.issues: tuple[Issue, ...] = tuple(issues)
        super().__init__("\n".join(str(issue) for issue in self.issues))


class ManifestNotFoundError(ManifestError):
    """No manifest exists in any of the places searched."""

    def __init__(self, searched: Sequence[str]) -> None:
        self.searched = tuple(searched)
        places = ", ".join(self.searched)
        super().__init__([Issue("claude-bottle.json", "$", f"no manifest found; searched: {places}")])


def json_path(loc: Sequence[str | int]) -> str:
    """Render a location as `bottles.gitea-dev.ssh[0].Port`; `$` is the document itself."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _PLAIN_KEY.match(part):
            out += f".{part}" if out else part
        else:
            out += f"[{part!r}]"
    return out or "$"
