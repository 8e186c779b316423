"""Checks across a bottle's egress section that no single field can make: method-and-path rules
need the gate to see the requests they judge, and a plain entry beside them would void them."""

from __future__ import annotations

from ._defaults import DEFAULT_EGRESS_ALLOWLIST
from ._errors import Issue, json_path
from ._models import AllowRule, Bottle


def covers(pattern: str, host: str) -> bool:
    """`pattern` (a name or `*.domain`) matches the name `host`, as the gate matches them."""
    return host.endswith(pattern[1:]) if pattern.startswith("*.") else host == pattern


def overlaps(a: str, b: str) -> bool:
    """Some host name matches both patterns."""
    if a.startswith("*.") and b.startswith("*."):
        return covers(a, b[2:]) or covers(b, a[2:]) or a == b
    return covers(a, b) or covers(b, a) or a == b


def deciding(host: str, patterns: list[str]) -> str | None:
    """The entry the gate decides `host` by: the name itself, else the longest `*.domain` over it."""
    if host in patterns:
        return host
    wildcards = [p for p in patterns if p.startswith("*.") and covers(p, host)]
    return max(wildcards, key=len, default=None)


_PIPELOCK = (
    "method and path rules need the mitmproxy egress backend: pipelock cannot enforce them; write the host as a "
    "plain entry or drop egress.backend"
)


def egress_issues(name: str, bottle: Bottle, file: str) -> list[Issue]:
    egress = bottle.egress
    plain = {entry: index for index, entry in enumerate(egress.allowlist) if isinstance(entry, str)}
    every = [*DEFAULT_EGRESS_ALLOWLIST, *egress.hosts]
    issues: list[Issue] = []
    for index, entry in enumerate(egress.allowlist):
        if not isinstance(entry, AllowRule):
            continue
        where = json_path(("bottles", name, "egress", "allowlist", index))
        if egress.backend == "pipelock":
            issues.append(Issue(file, where, _PIPELOCK))
        if entry.host in plain:
            message = (
                f"{entry.host} is also a plain entry (allowlist[{plain[entry.host]}]), which allows every request "
                "to it, so this rule would never apply; drop one"
            )
            issues.append(Issue(file, where, message))
        tunnelled = _passthrough_over(entry.host, egress.passthrough, every)
        if tunnelled is not None:
            spot, host = tunnelled
            message = (
                f"{entry.host} has method and path rules, but passthrough[{spot}] ({host}) tunnels its TLS "
                "uninspected, so the gate never sees a request's method or path; drop it from egress.passthrough "
                "or write the host as a plain entry"
            )
            issues.append(Issue(file, where, message))
    return issues


def _passthrough_over(ruled: str, passthrough: list[str], every: list[str]) -> tuple[int, str] | None:
    """The first passthrough entry (index, host) that would tunnel a name the rule entry `ruled`
    decides. A passthrough name is judged by the entry the gate decides it by (a plain one of its
    own, say); a passthrough '*.domain' covers more names than entries could all claim."""
    for spot, tunnelled in enumerate(passthrough):
        wide = tunnelled.startswith("*.")
        if (wide and overlaps(tunnelled, ruled)) or (not wide and deciding(tunnelled, every) == ruled):
            return spot, tunnelled
    return None
