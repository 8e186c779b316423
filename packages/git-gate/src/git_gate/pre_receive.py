"""pre-receive: check the refs, scan what the push adds; if clean, forward it upstream;
otherwise refuse it all.

Runs inside the push's quarantine, with its environment inherited by every child. Its output
reaches the pusher as `remote:` lines, so it names the rule, file, line and commit, never the
secret. Any failure (a refused ref, leak, scanner error, budget, upstream refusal) rejects every ref.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from . import _refs
from ._budget import Deadline
from ._config import ConfigError, GateConfig
from ._errors import ScanError
from ._lock import LockTimeout, repo_lock
from ._scan import Finding, scan_push
from ._upstream import PUSH_TIMEOUT, RefUpdate, UpstreamError, forward

LOCK_TIMEOUT = PUSH_TIMEOUT
MAX_REPORTED = 50  # findings listed; a push can hold thousands, and one is enough to act on


def parse(lines: Sequence[str]) -> list[RefUpdate]:
    updates = []
    for line in lines:
        if line.strip():
            old, new, ref = line.split()
            updates.append(RefUpdate(old, new, ref))
    return updates


def ref_report(refused: Sequence[str]) -> str:
    lines = [
        "PUSH REJECTED by the bottle's git gate: refs it does not forward.",
        "Nothing was sent upstream. Refused:",
        *(f"  {line}" for line in refused),
        "The gate forwards only the refs its config allows, each naming a commit or an annotated tag of one.",
    ]
    return "\n".join(lines)


def leak_report(findings: Sequence[Finding]) -> str:
    more = len(findings) - MAX_REPORTED
    lines = [
        "PUSH REJECTED by the bottle's git gate: possible secrets in what this push adds.",
        "Nothing was sent upstream. Findings (the secrets themselves are not shown):",
        *(f"  {finding.describe()}" for finding in findings[:MAX_REPORTED]),
        *([f"  ... and {more} more"] if more > 0 else []),
        "To review a finding: git show <commit> -- <file>  (or git log -1 <commit> for a message,",
        "git cat-file -p <blob> for a file no commit names).",
        "Remove the secret from every commit that adds it (git commit --amend, git rebase -i), then push again.",
        "A line marked gitleaks:allow is refused too: an agent cannot waive the scan.",
    ]
    return "\n".join(lines)


def run(repo_dir: Path, stdin_lines: Sequence[str], config: GateConfig) -> tuple[int, str]:
    updates = parse(stdin_lines)
    if not updates:
        return 0, ""
    try:
        # The user's workspace has no upstream: a clean push lands in the mirror, which the
        # launcher fetches back into the user's repository (under a namespace of its own).
        remote, repo = (None, "") if config.is_workspace(repo_dir) else config.remote_for(repo_dir)
        with repo_lock(repo_dir, LOCK_TIMEOUT):
            deadline = Deadline(config.scan_budget.seconds)
            refused = _refs.refusals(repo_dir, updates, config.push_refs, deadline)
            if refused:
                return 1, ref_report(refused)
            findings = scan_push(repo_dir, updates, config.scan_budget, deadline)
            if findings:
                return 1, leak_report(findings)
            if remote is not None:
                forward(repo_dir, remote.url(repo), updates)
    except (ScanError, UpstreamError, LockTimeout, ConfigError) as exc:
        return 1, f"PUSH REJECTED by the bottle's git gate: {exc}. Nothing was changed upstream."
    except Exception as exc:  # fail closed on anything unforeseen, without a traceback to the agent
        return 1, f"PUSH REJECTED by the bottle's git gate: internal error ({type(exc).__name__})."
    return 0, ""


def main() -> int:
    code, message = run(Path.cwd(), sys.stdin.read().splitlines(), GateConfig.load())
    if message:
        print(message, flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
