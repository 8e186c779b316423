"""Hosts Claude Code itself needs; every bottle's allowlist starts from these.
Sources for each are in docs/egress-defaults.md."""

from __future__ import annotations

DEFAULT_EGRESS_ALLOWLIST: tuple[str, ...] = (
    "api.anthropic.com",  # the Messages API
    "claude.ai",  # OAuth: subscription login and token checks
    "console.anthropic.com",  # OAuth token exchange and refresh
    "statsig.anthropic.com",  # feature flags Claude Code reads at start
)


def resolved_allowlist(extra: list[str] | tuple[str, ...]) -> list[str]:
    return sorted(set(DEFAULT_EGRESS_ALLOWLIST) | set(extra))
