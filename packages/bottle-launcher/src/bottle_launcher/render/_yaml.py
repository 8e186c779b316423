"""A YAML emitter for plain data (dicts, lists, strings, numbers, booleans, None), nested to any
depth, and multi-document streams. Strings are written JSON-quoted, which YAML reads as the same
string, so no value can change meaning (`no`, `0755`, `1e3` stay strings); a multi-line string
of plain printable text is written as a literal block (`|`), which reads back byte for byte.
Keys are written bare only when they cannot be read as anything but that string.

egress/_yaml.py writes pipelock's flat config with the same quoting; this one also writes lists
of mappings, which Kubernetes objects are full of."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

_BARE_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_./-]*\Z")
# Words some YAML readers (1.1) take for booleans or null even as keys.
_SPECIAL = {"y", "n", "yes", "no", "on", "off", "true", "false", "null"}
# A literal block holds printable text only; anything else (a carriage return, a control
# character, U+2028 and U+2029, which YAML reads as line breaks) goes JSON-quoted.
_BLOCK_TEXT = re.compile(r"[\n\t\x20-\x7e\u00a0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd]*\Z")


def dump(data: Any) -> str:
    """One document."""
    return "\n".join(_node(data, 0)) + "\n"


def dump_all(documents: Iterable[Any], comment: str = "") -> str:
    """A stream of documents, each started by `---`; `comment` (lines) goes on top."""
    head = "".join(f"# {line}".rstrip() + "\n" for line in comment.splitlines())
    return head + "".join(f"---\n{dump(document)}" for document in documents)


def key(name: str) -> str:
    if _BARE_KEY.match(name) and name.lower() not in _SPECIAL:
        return name
    return json.dumps(name)


def scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return json.dumps(value)
    raise TypeError(f"cannot write {type(value).__name__} as YAML")


def _block(text: str, indent: int) -> list[str] | None:
    """`text` as a literal block scalar (its header, then its lines), or None if it cannot be one
    that reads back exactly."""
    if "\n" not in text.rstrip("\n") or not _BLOCK_TEXT.match(text):
        return None
    body = text.removesuffix("\n")
    if body.endswith("\n") or body[:1] in (" ", "\t") or body.endswith((" ", "\t")):
        return None  # trailing blank lines, a leading indent, trailing blanks: quoted instead
    lines = body.split("\n")
    if any(line[:1] in (" ", "\t") and not line.strip() for line in lines):
        return None
    pad = " " * indent
    header = "|" if text.endswith("\n") else "|-"
    return [header, *(f"{pad}{line}" if line else "" for line in lines)]


def _node(value: Any, indent: int) -> list[str]:
    """The lines of a mapping or a sequence at `indent`; a scalar as one line."""
    if isinstance(value, dict):
        return _mapping(value, indent)
    if isinstance(value, list | tuple):
        return _sequence(value, indent)
    return [" " * indent + scalar(value)]


def _inline(value: Any, indent: int) -> tuple[str, list[str]]:
    """What follows `key:` or `- ` on its line, and the lines after it (nested at `indent`)."""
    if isinstance(value, dict | list | tuple) and not value:
        return ("{}" if isinstance(value, dict) else "[]"), []
    if isinstance(value, dict | list | tuple):
        return "", _node(value, indent)
    if isinstance(value, str):
        block = _block(value, indent)
        if block is not None:
            return block[0], block[1:]
    return scalar(value), []


def _mapping(data: dict[str, Any], indent: int) -> list[str]:
    if not data:
        return [" " * indent + "{}"]
    pad = " " * indent
    lines: list[str] = []
    for name, value in data.items():
        if not isinstance(name, str):
            raise TypeError(f"cannot write a {type(name).__name__} key as YAML")
        head, rest = _inline(value, indent + 2)
        lines.append(f"{pad}{key(name)}:" + (f" {head}" if head else ""))
        lines += rest
    return lines


def _sequence(items: list[Any] | tuple[Any, ...], indent: int) -> list[str]:
    if not items:
        return [" " * indent + "[]"]
    pad = " " * indent
    lines: list[str] = []
    for item in items:
        if isinstance(item, dict) and item:
            # The first key shares the dash's line; the rest line up under it.
            nested = _mapping(item, indent + 2)
            lines.append(f"{pad}- {nested[0][indent + 2 :]}")
            lines += nested[1:]
        else:
            head, rest = _inline(item, indent + 2)
            lines.append(f"{pad}-" + (f" {head}" if head else ""))
            lines += rest
    return lines
