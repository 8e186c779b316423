"""What gitleaks is shown of each object: bytes it cannot skip, with every line where it was.

gitleaks 8.16 skips three things an attacker controls (docs/design/gates.md): a file whose magic
number says application/* (zip, pdf, elf, ...), a line holding `gitleaks:allow`, and text inside
binary data (UTF-16, or a token between NUL bytes that no rule's boundary accepts).
"""

from __future__ import annotations

import re

# 8.16 tests image types before application ones, so a PNG signature up front makes every file an
# image to it whatever follows, and image files are read. The signature ends two lines.
SIGNATURE = b"\x89PNG\r\n\x1a\n"
SIGNATURE_LINES = 2
# The check is case-sensitive; the upper-case copy keeps every column and line where it was.
ALLOW_MARKER = b"gitleaks:allow"
MIN_RUN = 8  # shorter runs of printable bytes in binary data are noise, not words
_PRINTABLE = rb"[\t-\r -~]"
_ASCII_RUN = re.compile(_PRINTABLE + rb"{%d,}" % MIN_RUN)
# Spelled out so each match must start on a printable byte: ~65 MB/s, twice `(?:…){8,}`.
_UTF16LE_RUN = re.compile(_PRINTABLE + rb"\x00(?:" + _PRINTABLE + rb"\x00){%d,}" % (MIN_RUN - 1))


def text_of(kind: str, raw: bytes, oid_size: int) -> tuple[bytes, bool]:
    """What gitleaks reads of an object, and whether its lines are the object's own (a binary
    blob's runs and a tree's names are not)."""
    if kind == "tree":
        return tree_names(raw, oid_size), False
    if kind == "blob" and is_binary(raw):
        return printable_runs(raw), False
    return raw, True


def neutral(text: bytes) -> bytes:
    return text.replace(ALLOW_MARKER, ALLOW_MARKER.upper())


def is_binary(blob: bytes) -> bool:
    # git's own test (a NUL byte), over the whole blob rather than its first 8000 bytes. Text
    # without one is shown whole: invalid UTF-8 is no obstacle to gitleaks' regexes.
    return b"\0" in blob


def printable_runs(blob: bytes) -> bytes:
    """The text in binary data, one run per line: runs of printable ASCII, then UTF-16LE ones."""
    runs = [match.group() for match in _ASCII_RUN.finditer(blob)]
    runs += [match.group()[::2] for match in _UTF16LE_RUN.finditer(blob)]
    return b"\n".join(runs) + b"\n"


def tree_names(tree: bytes, oid_size: int) -> bytes:
    """A raw tree's entry names, one per line (a file name can carry a token too). Entries are
    `<mode> <name>\\0<binary object id>`; a malformed tree raises ValueError."""
    names = []
    at = 0
    while at < len(tree):
        space = tree.index(b" ", at)
        end = tree.index(b"\0", space)
        names.append(tree[space + 1 : end])
        at = end + 1 + oid_size
    return b"\n".join(names) + b"\n"


def message_line(raw: bytes) -> int:
    """The line a commit's or tag's message starts on, in its raw object (after the headers)."""
    end = raw.find(b"\n\n")
    return raw.count(b"\n", 0, end) + 3 if end >= 0 else raw.count(b"\n") + 2
