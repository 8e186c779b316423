"""The folder gitleaks reads: the text of every object, packed into files, and the way back from
a finding's file and line to the object and its own line.

Packed, because creating a file in the gate's writable layer costs ~0.45 ms: one per object took
1.4 s for the 3,000 objects of 1,000 small commits. Into files of about PACK bytes, because
gitleaks scans files in parallel and each one alone: those 7 MB took 1.3 s as one file and
0.4 s as 28. An object over CHUNK bytes is cut into windows, because gitleaks holds about four
times a file in memory (a 256 MiB file took more than the gate's 1 GiB; 16 MiB, ~70 MiB).
Files are named by number: no pushed path can meet 8.16's path allowlist (vendor, *.pdf,
go.sum, ...) or be read as the folder's `.gitleaks.toml`. A multi-line rule can run from one
piece into the next; its finding is reported against the first.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from . import _extract
from ._budget import MiB
from ._objects import NewObject

CHUNK = 16 * MiB  # the most of one object in one file
OVERLAP = 64 * 1024  # an object cut into windows repeats this much at the start of each next one
PACK = 256 * 1024  # a file takes no further piece past this


@dataclass(frozen=True)
class Piece:
    """One object's text, or a window of it, in one file."""

    obj: NewObject | None  # None: the pushed ref names
    at: int  # the file's line the piece starts on
    line: int  # the object's line that is; 0 where lines do not map back (binary, tree names)
    message: int = 0  # a commit's or tag's line its message starts on


def windows(text: bytes) -> Iterator[tuple[memoryview, int]]:
    """`text` in windows of CHUNK bytes, each after the first starting OVERLAP bytes early (a
    secret cut by one window is whole in the next), with the line each starts on."""
    view, line, counted = memoryview(text), 1, 0
    for end in range(CHUNK, len(text) + CHUNK, CHUNK):
        start = max(0, end - CHUNK - OVERLAP)
        line += text.count(b"\n", counted, start)
        counted = start
        yield view[start:end], line


class Folder:
    """Use as a context manager: the file being filled is closed on the way out."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._pieces: dict[str, list[Piece]] = {}  # per file, in line order
        self._starts: dict[str, list[int]] = {}  # their first lines, for bisect
        self._file: IO[bytes] | None = None
        self._name = ""
        self._size = self._line = 0

    def __enter__(self) -> Folder:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._file:
            self._file.close()

    def add(self, obj: NewObject | None, text: bytes, own_lines: bool = True, message: int = 0) -> None:
        for window, line in windows(text):
            if self._file is None or (self._pieces[self._name] and self._size + len(window) > PACK):
                self._start()
            assert self._file
            data = _extract.neutral(bytes(window))
            self._pieces[self._name].append(Piece(obj, self._line, line if own_lines else 0, message))
            self._starts[self._name].append(self._line)
            self._file.write(data)
            if not data.endswith(b"\n"):  # the next piece starts on a line of its own
                self._file.write(b"\n")
            self._size += len(data) + 1
            self._line += data.count(b"\n") + (not data.endswith(b"\n"))

    def _start(self) -> None:
        self.__exit__()
        self._name = str(len(self._pieces))
        self._file = open(self.path / self._name, "wb")  # noqa: SIM115 (closed by the next one, or __exit__)
        self._pieces[self._name], self._starts[self._name] = [], []
        self._file.write(_extract.SIGNATURE)
        self._size, self._line = len(_extract.SIGNATURE), _extract.SIGNATURE_LINES + 1

    def locate(self, file: str, line: int) -> tuple[Piece, int]:
        """The piece a finding at `line` of `file` (as gitleaks names it) is in, and the line in its object."""
        name = Path(file).name
        piece = self._pieces[name][bisect_right(self._starts[name], line) - 1]
        return piece, piece.line + line - piece.at
