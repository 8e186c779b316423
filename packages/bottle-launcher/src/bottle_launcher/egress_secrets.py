"""What the egress gate receives at launch besides its config: the bottle's known secrets, and
an optional private CA to trust for upstreams."""

from __future__ import annotations

import json
import os
from pathlib import Path

from .errors import LaunchError

# Claude Code's token may travel only to Anthropic's own hosts.
TOKEN_HOSTS = ("api.anthropic.com", "claude.ai", "console.anthropic.com")
UPSTREAM_CA_VAR = "BOTTLE_EGRESS_UPSTREAM_CA"


def known_secrets(env: dict[str, str], token: str | None, token_var: str) -> bytes:
    """The values the egress gate must recognise, with where each may go (`*`: any allowlisted
    host). A DLP match on one of them is judged by its hosts, not blocked as a stranger."""
    entries = [{"value": value, "hosts": ["*"]} for name, value in env.items() if name != token_var]
    if token:
        entries.append({"value": token, "hosts": list(TOKEN_HOSTS)})
    return json.dumps(entries).encode()


def read_upstream_ca() -> bytes:
    path = os.environ.get(UPSTREAM_CA_VAR)
    if not path:
        return b""
    try:
        content = Path(path).read_bytes()
    except OSError as exc:
        raise LaunchError(f"{UPSTREAM_CA_VAR}: cannot read {path}: {exc.strerror or exc}") from None
    if b"-----BEGIN CERTIFICATE-----" not in content:
        raise LaunchError(f"{UPSTREAM_CA_VAR}: {path} holds no PEM certificate")
    return content
