"""What the egress gate receives at launch besides its config: the bottle's known secrets, and
an optional private CA to trust for upstreams.

A credential (the env object form, and Claude Code's token by default) never enters the agent:
the agent's env holds a random placeholder of the same length, and the gate swaps the real value
in on requests to the credential's hosts only (in their headers, unless `places` says more)."""

from __future__ import annotations

import os
import secrets
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from bottle_contract.egress import KnownSecret, known_to_json
from bottle_manifest import DEFAULT_EGRESS_ALLOWLIST

from .errors import LaunchError

AGENT_TOKEN_VAR = "CLAUDE_CODE_OAUTH_TOKEN"  # Claude Code's token, as the agent sees it
# Claude Code's token travels only to the hosts Claude Code itself needs: the built-in defaults.
TOKEN_HOSTS = DEFAULT_EGRESS_ALLOWLIST
UPSTREAM_CA_VAR = "BOTTLE_EGRESS_UPSTREAM_CA"
MIN_CREDENTIAL = 8  # shorter values could match ordinary text, and the gate ignores them
# Known token formats whose prefix a client may check. A placeholder keeps one of these, longest
# first, and nothing else of the value: everything after it is random, so a placeholder tells
# nothing about the secret (not its words, separators or letter case).
TOKEN_PREFIXES = tuple(
    sorted(
        (
            "sk-ant-oat01-", "sk-ant-ort01-", "sk-ant-api03-", "sk-ant-admin01-", "sk-proj-", "sk-svcacct-",
            "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "glpat-", "gldt-", "glrt-",
            "xoxb-", "xoxp-", "xoxa-", "xoxr-", "xoxe-", "xapp-", "npm_", "pypi-", "hf_", "AKIA", "ASIA",
            "sk_live_", "sk_test_", "rk_live_", "rk_test_", "SG.", "dop_v1_", "glc_", "lin_api_",
        ),
        key=len,
        reverse=True,
    )
)  # fmt: skip
_RANDOM = string.ascii_letters + string.digits


@dataclass(frozen=True)
class Sealed:
    agent_env: dict[str, str]  # what the agent gets: each credential replaced by its placeholder
    known: bytes  # the gate's known secrets (bottle_contract.egress.KNOWN_FILE)


def placeholder(value: str) -> str:
    """A random stand-in of the same length (so a body's length does not change when the gate
    swaps it): a known format prefix, then random letters and digits."""
    prefix = next((p for p in TOKEN_PREFIXES if value.startswith(p) and len(value) - len(p) >= MIN_CREDENTIAL), "")
    while True:
        fake = prefix + "".join(secrets.choice(_RANDOM) for _ in value[len(prefix) :])
        if fake != value:
            return fake


def seal(
    env: Mapping[str, str],
    credentials: Mapping[str, Sequence[str]],
    *,
    builtin: Sequence[str] = (),
    places: Mapping[str, Sequence[str]] | None = None,
) -> Sealed:
    """Replace each credential in `env` by a placeholder and describe every value for the gate.
    `builtin` names credentials the manifest did not declare (the gate gives no manifest hint);
    `places` says where in a request each is swapped in (default: headers only)."""
    agent_env = dict(env)
    entries: list[KnownSecret] = []
    for name, value in env.items():
        hosts = credentials.get(name)
        if hosts is None:
            entries.append(KnownSecret(value, ("*",)))
            continue
        if len(value) < MIN_CREDENTIAL:
            raise LaunchError(
                f"credential {name} is {len(value)} characters long; the egress gate swaps only values of at "
                f"least {MIN_CREDENTIAL}",
                hint=f"give {name} as a plain string if it is not a secret",
            )
        fake = placeholder(value)
        agent_env[name] = fake
        swap_in = tuple((places or {}).get(name, ("headers",)))
        named = "" if name in builtin else name
        entries.append(KnownSecret(value, tuple(hosts), named, fake, swap_in))
    return Sealed(agent_env, known_to_json(entries))


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
