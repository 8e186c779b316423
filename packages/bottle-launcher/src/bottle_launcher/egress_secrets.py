"""What the egress gate receives at launch besides its config: the bottle's known secrets, and
an optional private CA to trust for upstreams.

A credential (the env object form, and Claude Code's token by default) never enters the agent:
the agent's env holds a random placeholder of the same length, and the gate swaps the real value
in on requests to the credential's hosts only."""

from __future__ import annotations

import json
import os
import secrets
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from bottle_manifest import DEFAULT_EGRESS_ALLOWLIST

from .errors import LaunchError

AGENT_TOKEN_VAR = "CLAUDE_CODE_OAUTH_TOKEN"  # Claude Code's token, as the agent sees it
# Claude Code's token travels only to the hosts Claude Code itself needs: the built-in defaults.
TOKEN_HOSTS = DEFAULT_EGRESS_ALLOWLIST
UPSTREAM_CA_VAR = "BOTTLE_EGRESS_UPSTREAM_CA"
MIN_CREDENTIAL = 8  # shorter values could match ordinary text, and the gate ignores them
_KEEP_PREFIX = 16  # a format prefix such as "sk-ant-oat01-" or "ghp_" is kept, the rest is random


@dataclass(frozen=True)
class Sealed:
    agent_env: dict[str, str]  # what the agent gets: each credential replaced by its placeholder
    known: bytes  # the gate's known.json


def placeholder(value: str) -> str:
    """A random stand-in of the same length and shape: a short format prefix is kept (clients
    may check it), and every other letter or digit is replaced by a random one of its kind."""
    cut = max(value.rfind("-", 0, _KEEP_PREFIX), value.rfind("_", 0, _KEEP_PREFIX)) + 1
    if len(value) - cut < MIN_CREDENTIAL:
        cut = 0
    while True:
        fake = value[:cut] + "".join(_random_like(c) for c in value[cut:])
        if fake != value:
            return fake


def _random_like(char: str) -> str:
    for alphabet in (string.ascii_lowercase, string.ascii_uppercase, string.digits):
        if char in alphabet:
            return secrets.choice(alphabet)
    return char


def seal(env: Mapping[str, str], credentials: Mapping[str, Sequence[str]], *, builtin: Sequence[str] = ()) -> Sealed:
    """Replace each credential in `env` by a placeholder and describe every value for the gate.
    `builtin` names credentials the manifest did not declare (the gate gives no manifest hint)."""
    agent_env = dict(env)
    entries: list[dict[str, object]] = []
    for name, value in env.items():
        hosts = credentials.get(name)
        if hosts is None:
            entries.append({"value": value, "hosts": ["*"]})
            continue
        if len(value) < MIN_CREDENTIAL:
            raise LaunchError(
                f"credential {name} is {len(value)} characters long; the egress gate swaps only values of at "
                f"least {MIN_CREDENTIAL}",
                hint=f"give {name} as a plain string if it is not a secret",
            )
        fake = placeholder(value)
        agent_env[name] = fake
        entry: dict[str, object] = {"value": value, "placeholder": fake, "hosts": list(hosts)}
        if name not in builtin:
            entry["name"] = name
        entries.append(entry)
    return Sealed(agent_env, json.dumps(entries).encode())


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
