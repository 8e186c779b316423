"""pre-receive: scan what the push adds; if clean, forward it upstream; otherwise refuse it all.

Runs inside the push's quarantine, with its environment inherited by every child. Its output
reaches the pusher as `remote:` lines, so it names the rule, file, line and commit, never the
secret. Any failure (leak, scanner error, timeout, upstream refusal) rejects every ref.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from ._config import ConfigError, GateConfig
from ._lock import LockTimeout, repo_lock
from ._scan import Finding, ScanError, scan_push
from ._upstream import PUSH_TIMEOUT, RefUpdate, UpstreamError, forward

LOCK_TIMEOUT = PUSH_TIMEOUT


def parse(lines: Sequence[str]) -> list[RefUpdate]:
    updates = []
    for line in lines:
        if line.strip():
            old, new, ref = line.split()
            updates.append(RefUpdate(old, new, ref))
    return updates


def leak_report(findings: Sequence[Finding]) -> str:
    lines = [
        "PUSH REJECTED by the bottle's git gate: possible secrets in what this push adds.",
        "Nothing was sent upstream. Findings (the secrets themselves are not shown):",
        *(f"  {finding.describe()}" for finding in findings),
        "To review a finding: git show <commit> -- <file>  (or git log -1 <commit> for a message).",
        "Remove the secret from every commit that adds it (git commit --amend, git rebase -i), then push again.",
        "A line marked gitleaks:allow is refused too: an agent cannot waive the scan.",
    ]
    return "\n".join(lines)


def run(repo_dir: Path, stdin_lines: Sequence[str], config: GateConfig) -> tuple[int, str]:
    updates = parse(stdin_lines)
    if not updates:
        return 0, ""
    try:
        remote, repo = config.remote_for(repo_dir)
        with repo_lock(repo_dir, LOCK_TIMEOUT):
            findings = scan_push(repo_dir, updates)
            if findings:
                return 1, leak_report(findings)
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
