"""Which refs a push may touch, and what they may point at.

Only the refs the config names (branches and tags by default): anything else (refs/notes/*, a
made-up refs/foo/*) is neither fetched back into the mirror nor what a forge shows. And a ref
must name a commit, directly or through annotated tags: a ref (a lightweight tag, say) straight at
a blob or a tree, or a tag of one, carries content no commit holds.
"""

from __future__ import annotations

from collections.abc import Sequence
from fnmatch import fnmatchcase
from pathlib import Path

from ._budget import Deadline
from ._objects import peeled_types
from ._upstream import RefUpdate


def outside(updates: Sequence[RefUpdate], patterns: Sequence[str]) -> list[str]:
    """Refs no pattern matches, deletions included. Shell-style patterns: `*` spans `/` too."""
    return [u.ref for u in updates if not any(fnmatchcase(u.ref, pattern) for pattern in patterns)]


def refusals(repo: Path, updates: Sequence[RefUpdate], patterns: Sequence[str], deadline: Deadline) -> list[str]:
    """One line per refused ref, naming the ref and why; empty when every ref may be pushed."""
    lines = [
        f"{ref}: outside the refs this gate forwards ({', '.join(patterns)})" for ref in outside(updates, patterns)
    ]
    written = [u for u in updates if not u.is_delete]
    types = peeled_types(repo, [u.new for u in written], deadline) if written else {}
    for update in written:
        kind, peeled = types[update.new]
        if peeled != "commit":
            what = f"a {peeled}" if kind == peeled else f"a tag of a {peeled}"
            lines.append(f"{update.ref}: points at {what}, not a commit")
    return lines
