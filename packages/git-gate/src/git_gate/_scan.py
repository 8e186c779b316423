"""What a push adds, scanned for secrets: file changes (merge commits included), commit and tag
messages, and added lines that try to opt out with `gitleaks:allow`.

gitleaks 8.16 gaps this closes (see docs/design/gates.md): it skips `gitleaks:allow` lines,
misses secrets that only a merge commit adds unless `-m` is given, and never reads messages.
"""

from __future__ import annotations

import json
import re
import subprocess
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from ._upstream import RefUpdate

SCAN_TIMEOUT = 120
LEAKS_EXIT = 42  # any other non-zero exit (1 is gitleaks' own error) is a scanner failure
ALLOW_MARKER = "gitleaks:allow"


class ScanError(Exception):
    pass


@dataclass(frozen=True)
class Finding:
    rule: str
    commit: str
    file: str  # "" for a message
    line: int

    def describe(self) -> str:
        where = f"{self.file}:{self.line}" if self.file else "commit message"
        return f"rule {self.rule}  {where}  commit {self.commit[:12]}"


def _git(args: Sequence[str], cwd: Path, stdin: bytes | None = None) -> bytes:
    result = subprocess.run(["git", *args], cwd=cwd, input=stdin, capture_output=True, timeout=SCAN_TIMEOUT)
    if result.returncode != 0:
        raise ScanError(f"git {args[0]} failed: {result.stderr.decode(errors='replace').strip()}")
    return result.stdout


def _gitleaks(args: Sequence[str], cwd: Path, stdin: bytes | None = None) -> list[dict[str, object]]:
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "report.json"
        command = [
            "gitleaks", "detect", *args, "--no-banner", "--redact", "--exit-code", str(LEAKS_EXIT),
            "--report-format", "json", "--report-path", str(report), "--log-level", "warn",
        ]  # fmt: skip
        try:
            result = subprocess.run(command, cwd=cwd, input=stdin, capture_output=True, timeout=SCAN_TIMEOUT)
        except subprocess.TimeoutExpired:
            raise ScanError(f"the secret scan took longer than {SCAN_TIMEOUT} s") from None
        if result.returncode not in (0, LEAKS_EXIT):
            raise ScanError(f"the secret scanner failed (exit {result.returncode})")
        findings = json.loads(report.read_text() or "[]") if report.exists() else []
        if result.returncode == LEAKS_EXIT and not findings:
            raise ScanError("the secret scanner reported leaks but wrote no report")
        return findings


def new_tips(updates: Sequence[RefUpdate]) -> list[str]:
    return [u.new for u in updates if not u.is_delete]


def scan_changes(repo: Path, tips: Sequence[str]) -> list[Finding]:
    # `--not --all`: everything not already on a ref of the mirror, so a new branch's older
    # commits are scanned too. Log-opts are split on single spaces by gitleaks: no quoting.
    log_opts = " ".join(["-m", *tips, "--not", "--all"])
    raw = _gitleaks(["--source", ".", "--log-opts", log_opts], repo)
    return [
        Finding(str(f.get("RuleID")), str(f.get("Commit", "")), str(f.get("File", "")), int(f.get("StartLine", 0)))  # type: ignore[arg-type]
        for f in raw
    ]


def scan_messages(repo: Path, tips: Sequence[str]) -> list[Finding]:
    """Commit and tag messages, in one scanner run: each finding's line maps back to its object."""
    # One git call for all commit messages: a subprocess per commit costs seconds per thousand.
    raw = _git(["log", "-z", "--format=%H%n%B", *tips, "--not", "--all"], repo)
    messages = [(entry[:40], entry[41:]) for entry in raw.decode(errors="replace").split("\0") if entry]
    for tip in tips:
        if _git(["cat-file", "-t", tip], repo).strip() == b"tag":
            body = _git(["cat-file", "tag", tip], repo).decode(errors="replace")
            messages.append((tip, body.split("\n\n", 1)[1] if "\n\n" in body else ""))
    text: list[str] = []
    owners: list[tuple[int, str]] = []  # (first line, object) in the combined text
    line = 1
    for obj, message in messages:
        message = message if message.endswith("\n") else message + "\n"
        owners.append((line, obj))
        text.append(message)
        line += message.count("\n")
    if not owners:
        return []
    findings = []
    for f in _gitleaks(["--pipe"], repo, stdin="".join(text).encode()):
        at = int(f.get("StartLine", 0))  # type: ignore[call-overload]
        first, obj = next(((first, o) for first, o in reversed(owners) if first <= at), owners[0])
        findings.append(Finding(str(f.get("RuleID")), obj, "", at - first + 1))
    return findings


_HUNK = re.compile(rb"^@@ -\d+(?:,\d+)? \+(\d+)(?:,\d+)? @@")


def scan_allow_markers(repo: Path, tips: Sequence[str]) -> list[Finding]:
    """Added lines carrying `gitleaks:allow`: gitleaks 8.16 would skip them, so we refuse them."""
    out = _git(["log", "-p", "-m", "-U0", "--no-color", "--format=commit %H", *tips, "--not", "--all"], repo)
    findings = []
    commit, file, line = "", "", 0
    for raw in out.splitlines():
        if raw.startswith(b"commit "):
            commit = raw[7:].decode()
        elif raw.startswith(b"+++ "):
            name = raw[4:].decode(errors="replace")
            file = name[2:] if name.startswith("b/") else name
        elif match := _HUNK.match(raw):
            line = int(match.group(1))
        elif raw.startswith(b"+"):
            if ALLOW_MARKER.encode() in raw:
                findings.append(Finding("gitleaks-allow-marker", commit, file, line))
            line += 1
    return findings


def scan_push(repo: Path, updates: Sequence[RefUpdate]) -> list[Finding]:
    tips = new_tips(updates)
    if not tips:
        return []  # only deletions: nothing is added
    # The three scans are independent processes; running them side by side keeps the push's
    # wait close to the slowest one (gitleaks over the changes).
    with ThreadPoolExecutor(max_workers=3) as pool:
        parts = [pool.submit(scan, repo, tips) for scan in (scan_changes, scan_messages, scan_allow_markers)]
        return [finding for part in parts for finding in part.result()]
