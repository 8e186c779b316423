"""Read each granted SSH identity from the host at launch, before anything starts.

The key goes to the agent only through the handover tmpfs (see runtime/docker/_handover.py):
never into an image layer, a container's config, or argv.
"""

from __future__ import annotations

from pathlib import Path

from bottle_contract import agent, git

from .errors import LaunchError
from .plan import Plan


def _resolve(path: str, base: Path) -> Path:
    expanded = Path(path).expanduser()
    return expanded if expanded.is_absolute() else base / expanded


def read_identity(path: str, base: Path, what: str) -> bytes:
    where = _resolve(path, base)
    try:
        content = where.read_bytes()
    except OSError as exc:
        raise LaunchError(
            f"{what}: cannot read IdentityFile {where}: {exc.strerror or exc}",
            hint="point IdentityFile at a private key this user can read",
        ) from None
    if b"PRIVATE KEY-----" not in content:
        raise LaunchError(
            f"{what}: IdentityFile {where} is not a private key",
            hint="IdentityFile names the private key (not the .pub file)",
        )
    return content


def ssh_identities(plan: Plan, base: Path) -> dict[str, bytes]:
    """Handover files (relative to the handover dir) for every ssh entry's identity."""
    return {
        f"{agent.IDENTITY_SUBDIR}/{remote.host}": read_identity(
            remote.identity_file, base, f"ssh entry {remote.host!r}"
        )
        for remote in plan.ssh
    }


def git_identities(plan: Plan, base: Path) -> dict[str, bytes]:
    """Handover files for the git gate: the upstream keys live there, never in the agent."""
    return {
        f"{git.IDENTITY_SUBDIR}/{remote.host}": read_identity(remote.identity_file, base, f"git entry {remote.host!r}")
        for remote in plan.git
    }
