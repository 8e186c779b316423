"""A request path as method-and-path rules read it, and their patterns' matching.

A rule can only be as strict as the path it reads is unambiguous: a server that decodes `%2F`, or
resolves `..` after decoding, or collapses `//`, must not reach a resource the pattern never
named. So the path is read the way the most permissive server would, and where servers disagree
it matches nothing (fail closed):

1. the query (and a fragment, which no client sends) is dropped;
2. it is percent-decoded once, `%2F` and `%2E` included: `/repos/acme%2F..%2Fother` is read as
   `/repos/acme/../other`. If the decoded text still holds a percent-escape (`%252F`), a server
   that decodes twice would see another path than one that decodes once: no match;
3. a backslash is read as `/` (some servers do);
4. a segment that is empty (`//`, except one trailing slash, which is ignored) matches nothing:
   servers that collapse `//` and servers that resolve `..` against it disagree;
5. dot segments are resolved (RFC 3986 5.2.4): `.` is dropped, `..` drops the segment before it,
   never above the root. A segment is a dot segment also with `;parameters` (`..;x`), as Java
   servers read it.

Patterns (validated by the manifest) are `/`-separated: a literal segment matches itself (case
and all), `*` any one segment, and `**`, only last, any rest of the path, none included: so
`/repos/acme/**` matches `/repos/acme` and everything below it."""

from __future__ import annotations

import re
from urllib.parse import unquote

_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}")
_SHOWN = 120  # characters of a path a refusal quotes


class UnclearPath(ValueError):
    """A path servers may read differently: it matches no pattern. The message says why."""


def segments(path: str) -> tuple[str, ...]:
    """The path's segments as patterns match them; UnclearPath when servers may disagree on it."""
    path = path.split("?", 1)[0].split("#", 1)[0]
    if not path.startswith("/"):
        raise UnclearPath("is not an absolute path")
    # errors="replace": bytes that are not UTF-8 match `*` but no literal segment.
    decoded = unquote(path, errors="replace")
    if _ESCAPE.search(decoded):
        raise UnclearPath("is percent-encoded twice (a server decoding twice would read another path)")
    parts = decoded.replace("\\", "/").split("/")[1:]
    if parts and parts[-1] == "":
        parts.pop()  # one trailing slash: `/repos/acme/x/` is `/repos/acme/x`
    if "" in parts:
        raise UnclearPath("has an empty segment ('//'), which servers resolve differently")
    resolved: list[str] = []
    for part in parts:
        bare = part.split(";", 1)[0]
        if bare == "..":
            if resolved:
                resolved.pop()
        elif bare != ".":
            resolved.append(part)
    return tuple(resolved)


def shown(parts: tuple[str, ...]) -> str:
    """The resolved path, for a refusal's words: printable, and short."""
    text = "/" + "/".join(parts)
    text = "".join(char if char.isprintable() else "?" for char in text)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 1] + "…"


def matches(pattern: str, parts: tuple[str, ...]) -> bool:
    """`pattern` matches the resolved path `parts` (from `segments`)."""
    wanted = pattern.rstrip("/").split("/")[1:] if pattern != "/" else []
    if wanted and wanted[-1] == "**":
        wanted.pop()
        if len(parts) < len(wanted):
            return False
        parts = parts[: len(wanted)]
    elif len(parts) != len(wanted):
        return False
    return all(want == "*" or want == part for want, part in zip(wanted, parts, strict=True))
