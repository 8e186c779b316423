"""Talking to the real upstream over SSH: refresh the mirror, and forward a push."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ZERO = "0" * 40
FETCH_TIMEOUT = 60
PUSH_TIMEOUT = 120
MIRROR_REFSPECS = ("+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*")


class UpstreamError(Exception):
    pass


class _Failed(Exception):
    def __init__(self, status: int | str, stdout: str, stderr: str) -> None:
        super().__init__(stderr)
        self.status, self.stdout, self.stderr = status, stdout, stderr


def _run(repo_dir: Path, args: list[str], timeout: float) -> str:
    # Plain subprocess rather than GitPython here: the hooks run on every fetch and push, and
    # importing GitPython costs more than the command itself under gVisor.
    try:
        result = subprocess.run(["git", *args], cwd=repo_dir, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise _Failed("timeout", "", f"no answer within {timeout:.0f} s") from None
    if result.returncode != 0:
        raise _Failed(result.returncode, result.stdout, result.stderr)
    return result.stdout


@dataclass(frozen=True)
class RefUpdate:
    old: str
    new: str
    ref: str

    @property
    def is_delete(self) -> bool:
        return self.new == ZERO

    @property
    def is_create(self) -> bool:
        return self.old == ZERO


def _reason(exc: _Failed) -> str:
    lines = [line.strip() for line in exc.stderr.splitlines() if line.strip()]
    return "; ".join(lines[-3:]) or f"git exited with {exc.status}"


def refresh(repo_dir: Path, url: str) -> None:
    """Make the mirror's branches and tags exactly upstream's, now (deleted ones pruned)."""
    try:
        _run(repo_dir, ["fetch", "--quiet", "--prune", "--no-tags", url, *MIRROR_REFSPECS], FETCH_TIMEOUT)
    except _Failed as exc:
        raise UpstreamError(f"fetch from {url} failed: {_reason(exc)}") from None


def forward(repo_dir: Path, url: str, updates: Sequence[RefUpdate]) -> None:
    """Push the updates upstream as one atomic push, each ref leased to the value the agent saw.

    Pushed to the URL, not a remote name: a named remote would update tracking refs, which the
    quarantine forbids. No `+` in any refspec: it would override the lease.
    """
    leases = [f"--force-with-lease={u.ref}:{'' if u.is_create else u.old}" for u in updates]
    refspecs = [f":{u.ref}" if u.is_delete else f"{u.new}:{u.ref}" for u in updates]
    try:
        _run(repo_dir, ["push", "--atomic", "--porcelain", "--quiet", *leases, url, *refspecs], PUSH_TIMEOUT)
    except _Failed as exc:
        refused = _porcelain_refusals(exc.stdout)
        raise UpstreamError(f"upstream refused the push: {refused or _reason(exc)}") from None


def _porcelain_refusals(stdout: str) -> str:
    """`!<TAB>src:dst<TAB>[rejected] (stale info)` lines, as `dst: rejected (stale info)`."""
    reasons = []
    for line in stdout.splitlines():
        fields = line.split("\t")
        if len(fields) >= 3 and fields[0] == "!":
            reasons.append(f"{fields[1].split(':')[-1]}: {fields[2].strip('[]').replace('] ', ' ')}")
    return "; ".join(reasons)


def default_branch(repo_dir: Path, url: str) -> str | None:
    """The ref upstream's HEAD points at, so a clone from the mirror checks out the same branch."""
    try:
        out = _run(repo_dir, ["ls-remote", "--symref", url, "HEAD"], FETCH_TIMEOUT)
    except _Failed as exc:
        raise UpstreamError(f"cannot read HEAD of {url}: {_reason(exc)}") from None
    for line in out.splitlines():
        if line.startswith("ref: ") and line.endswith("\tHEAD"):
            return line[5:].split("\t")[0]
    return None
