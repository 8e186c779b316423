"""The objects a push adds, read from the quarantine the hook runs in: every git here inherits the
hook's environment (GIT_QUARANTINE_PATH, GIT_OBJECT_DIRECTORY, GIT_ALTERNATE_OBJECT_DIRECTORIES),
or it could not see them. A few processes per push whatever its size: one listing, one reader."""

from __future__ import annotations

import contextlib
import subprocess
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from ._budget import Deadline, ScanBudget, check_budget
from ._errors import ScanError


@dataclass(frozen=True)
class NewObject:
    oid: str
    type: str  # blob, tree, commit or tag
    size: int
    name: str  # the path rev-list first reached it by (a tag's own name); "" for commits and tips


def new_objects(repo: Path, tips: Sequence[str], budget: ScanBudget, deadline: Deadline) -> list[NewObject]:
    """Everything reachable from the tips and from no ref of the mirror, whatever the tips are
    (commit, tag, tree or blob). `--not --all`: a new branch's older commits count, and a force
    push hides nothing. Refused (OverBudget) as soon as the listing passes the budget."""
    listing = subprocess.Popen(
        ["git", "rev-list", "--objects", *tips, "--not", "--all"],
        cwd=repo, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    checking = subprocess.Popen(
        ["git", "cat-file", "--batch-check=%(objectname) %(objecttype) %(objectsize) %(rest)"],
        cwd=repo, stdin=listing.stdout, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    assert listing.stdout and checking.stdout
    listing.stdout.close()  # the pipe is cat-file's now; rev-list stops if cat-file dies
    objects: list[NewObject] = []
    size = 0
    with deadline.kill_at(listing, checking):
        for line in checking.stdout:
            fields = line.rstrip(b"\n").split(b" ", 3)
            if len(fields) != 4:
                raise ScanError(f"object {fields[0].decode(errors='replace')} is missing")
            oid, kind, length, name = fields
            objects.append(NewObject(oid.decode(), kind.decode(), int(length), name.decode(errors="replace")))
            size += int(length)
            check_budget(budget, len(objects), size)
        failed = listing.wait() or checking.wait()
    if failed:
        raise ScanError("git could not list the objects this push adds")
    return objects


def read_objects(repo: Path, oids: Sequence[str], deadline: Deadline) -> Iterator[bytes]:
    """Each object's raw content, in order, from one `git cat-file --batch`."""
    reader = subprocess.Popen(
        ["git", "cat-file", "--batch"], cwd=repo, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    assert reader.stdin and reader.stdout
    # Fed from a thread: cat-file answers while it is still being asked, and with both pipes
    # full each side would wait for the other.
    feeder = threading.Thread(target=_feed, args=(reader.stdin, oids), daemon=True)
    feeder.start()
    try:
        with deadline.kill_at(reader):
            for oid in oids:
                header = reader.stdout.readline().split()
                if len(header) != 3 or header[0].decode() != oid:
                    raise ScanError(f"git could not read object {oid}")
                content = reader.stdout.read(int(header[2]))
                if len(content) != int(header[2]) or reader.stdout.read(1) != b"\n":
                    raise ScanError(f"git could not read object {oid}")
                yield content
    finally:
        feeder.join()


def _feed(pipe: IO[bytes], lines: Iterable[str]) -> None:
    # A killed reader closes the pipe under us; its own error is the one reported.
    with contextlib.suppress(OSError), pipe:
        for line in lines:
            pipe.write(f"{line}\n".encode())


def peeled_types(repo: Path, oids: Sequence[str], deadline: Deadline) -> dict[str, tuple[str, str]]:
    """Each object's type, and the type of what it names once tags are followed (tag of a tag of
    a blob: `("tag", "blob")`), from one `git cat-file --batch-check`."""
    asked = "".join(f"{oid}\n{oid}^{{}}\n" for oid in oids).encode()
    result = deadline.run(["git", "cat-file", "--batch-check=%(objecttype)"], cwd=repo, input=asked)
    answers = result.stdout.decode().split("\n")
    if result.returncode != 0 or len(answers) != 2 * len(oids) + 1 or any(a.endswith(" missing") for a in answers):
        raise ScanError("git could not read the objects the pushed refs point at")
    return {oid: (answers[2 * i], answers[2 * i + 1]) for i, oid in enumerate(oids)}


def blob_origins(
    repo: Path, commits: Sequence[str], blobs: set[str], deadline: Deadline
) -> dict[str, list[tuple[str, str]]]:
    """For each blob, the (commit, path) pairs among `commits` whose changes bring it in, merges
    against each parent (`-m`). Only for the report: a blob no commit's change brings in (one a
    tag or tree points at, say) has none."""
    result = deadline.run(
        ["git", "log", "--stdin", "--no-walk=unsorted", "-m", "--raw", "--no-abbrev", "--no-renames", "-z",
         "--format=commit %H"],
        cwd=repo, input="".join(f"{c}\n" for c in commits).encode(),
    )  # fmt: skip
    if result.returncode != 0:
        raise ScanError("git could not list the pushed commits' changes")
    origins: dict[str, list[tuple[str, str]]] = {}
    commit = ""
    fields = iter(result.stdout.split(b"\0"))
    for field in fields:
        field = field.lstrip(b"\n")
        if field.startswith(b"commit "):
            commit = field[7:].decode()
        elif field.startswith(b":"):  # `:<mode> <mode> <old> <new> <status>`, then the path
            blob, path = field.split()[3].decode(), next(fields).decode(errors="replace")
            if blob in blobs and (commit, path) not in origins.get(blob, []):
                origins.setdefault(blob, []).append((commit, path))
    return origins
