"""Talking to the real upstream over SSH: refresh the mirror, and forward a push."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from git import Git
from git.exc import GitCommandError

ZERO = "0" * 40
FETCH_TIMEOUT = 60
PUSH_TIMEOUT = 120
MIRROR_REFSPECS = ("+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*")


class UpstreamError(Exception):
    pass


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


def _reason(exc: GitCommandError) -> str:
    text = (exc.stderr or "").strip().replace("stderr: ", "").strip("'\n ")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return "; ".join(lines[-3:]) or f"git exited with {exc.status}"


def refresh(repo_dir: Path, url: str) -> None:
    """Make the mirror's branches and tags exactly upstream's, now (deleted ones pruned)."""
    try:
        Git(str(repo_dir)).execute(
            ["git", "fetch", "--quiet", "--prune", "--no-tags", url, *MIRROR_REFSPECS],
            kill_after_timeout=FETCH_TIMEOUT,
        )
    except GitCommandError as exc:
        raise UpstreamError(f"fetch from {url} failed: {_reason(exc)}") from None


def forward(repo_dir: Path, url: str, updates: Sequence[RefUpdate]) -> None:
    """Push the updates upstream as one atomic push, each ref leased to the value the agent saw.

    Pushed to the URL, not a remote name: a named remote would update tracking refs, which the
    quarantine forbids. No `+` in any refspec: it would override the lease.
    """
    leases = [f"--force-with-lease={u.ref}:{'' if u.is_create else u.old}" for u in updates]
    refspecs = [f":{u.ref}" if u.is_delete else f"{u.new}:{u.ref}" for u in updates]
    if url.startswith(("/", "file:")):
        # A local upstream would inherit the quarantine and refuse the push. GitPython copies
        # os.environ for the child, so the variable has to leave this (short-lived) process.
        os.environ.pop("GIT_QUARANTINE_PATH", None)
    try:
        Git(str(repo_dir)).execute(
            ["git", "push", "--atomic", "--porcelain", "--quiet", *leases, url, *refspecs],
            kill_after_timeout=PUSH_TIMEOUT,
        )
    except GitCommandError as exc:
        refused = _porcelain_refusals(str(exc.stdout or ""))
        raise UpstreamError(f"upstream refused the push: {refused or _reason(exc)}") from None


def _porcelain_refusals(stdout: str) -> str:
    """`!<TAB>src:dst<TAB>[rejected] (stale info)` lines, as `dst: rejected (stale info)`."""
    reasons = []
    for line in stdout.replace("stdout: ", "").strip("'\n ").splitlines():
        fields = line.split("\t")
        if len(fields) >= 3 and fields[0] == "!":
            reasons.append(f"{fields[1].split(':')[-1]}: {fields[2].strip('[]').replace('] ', ' ')}")
    return "; ".join(reasons)


def default_branch(repo_dir: Path, url: str) -> str | None:
    """The ref upstream's HEAD points at, so a clone from the mirror checks out the same branch."""
    try:
        out = Git(str(repo_dir)).execute(
            ["git", "ls-remote", "--symref", url, "HEAD"], kill_after_timeout=FETCH_TIMEOUT
        )
    except GitCommandError as exc:
        raise UpstreamError(f"cannot read HEAD of {url}: {_reason(exc)}") from None
    for line in str(out).splitlines():
        if line.startswith("ref: ") and line.endswith("\tHEAD"):
            return line[5:].split("\t")[0]
    return None
