"""Hosts Claude Code itself needs; every bottle's allowlist starts from these.

Taken from watching the pinned client (docs/egress-defaults.md says what was observed), not
from documentation: tests/test_claude_session.py fails when the client reaches for another."""

from __future__ import annotations

DEFAULT_EGRESS_ALLOWLIST: tuple[str, ...] = (
    "api.anthropic.com",  # the Messages API, and the client's settings, limits and bootstrap
    "platform.claude.com",  # OAuth: the login check and token endpoint of Claude Code 2.1
)


def resolved_allowlist(extra: list[str] | tuple[str, ...]) -> list[str]:
    return sorted(set(DEFAULT_EGRESS_ALLOWLIST) | set(extra))
