"""`${NAME}` substitution from the host environment, with `$$` for a literal `$`.

A lone `$` not followed by `{` or `$` is kept as written, so passwords containing `$` need no
escaping unless they contain `${`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


@dataclass(frozen=True)
class Var:
    name: str


Part = str | Var


def parse(value: str) -> list[Part]:
    """Split a value into literal text and variable references; raise ValueError on bad syntax."""
    parts: list[Part] = []
    text: list[str] = []
    i, n = 0, len(value)
    while i < n:
        if value.startswith("$$", i):
            text.append("$")
            i += 2
        elif value.startswith("${", i):
            end = value.find("}", i + 2)
            if end < 0:
                raise ValueError(f"'${{' at position {i} has no closing '}}'; write '$$' for a literal '$'")
            name = value[i + 2 : end]
            if not _NAME.match(name):
                raise ValueError(f"'${{{name}}}' is not a valid variable name; use letters, digits and '_'")
            if text:
                parts.append("".join(text))
                text = []
            parts.append(Var(name))
            i = end + 1
        else:
            text.append(value[i])
            i += 1
    if text:
        parts.append("".join(text))
    return parts


def variables(value: str) -> list[str]:
    return [part.name for part in parse(value) if isinstance(part, Var)]


def substitute(value: str, environ: Mapping[str, str]) -> str:
    """Replace every reference; the caller has already checked that each one is set."""
    return "".join(environ[part.name] if isinstance(part, Var) else part for part in parse(value))
