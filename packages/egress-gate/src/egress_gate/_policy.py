"""The host allowlist. Pure functions, so the same rules can be checked without a proxy."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Decision:
    allowed: bool
    rule: str  # the allowlist entry that matched, or why nothing did
    hint: str | None = None


def normalize(host: str) -> str:
    return host.strip().rstrip(".").lower()


def match(host: str, allowlist: list[str] | tuple[str, ...]) -> str | None:
    """The entry that allows `host`: an exact name, or `*.x` for any subdomain of x."""
    host = normalize(host)
    for entry in allowlist:
        if entry.startswith("*."):
            if host.endswith(entry[1:]):
                return entry
        elif host == entry:
            return entry
    return None


def decide(host: str, allowlist: list[str] | tuple[str, ...], bottle: str) -> Decision:
    entry = match(host, allowlist)
    if entry is not None:
        return Decision(True, f"allowlist:{entry}")
    name = normalize(host)
    return Decision(False, "not-allowlisted", f'add "{name}" to bottles.{bottle}.egress.allowlist')
