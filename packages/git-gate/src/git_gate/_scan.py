"""What a push adds, scanned for secrets object by object, not commit by commit: every new blob
(a binary one through the text in it), tree (its file names), commit and tag (headers and
message), and the pushed ref names, in one gitleaks run over a folder of their text (_shown).
Plus added lines that try to opt out with `gitleaks:allow`, refused.

Objects, because gitleaks 8.16's git mode reads commit patches: a blob or tree a tag points at,
a binary file, a file its allowlist skips by path, a nested tag's message were never read
(docs/design/gates.md).
"""

from __future__ import annotations

import json
import re
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from . import _extract
from ._budget import Deadline, ScanBudget
from ._errors import ScanError
from ._objects import blob_origins, new_objects, read_objects
from ._shown import Folder, Piece
from ._upstream import RefUpdate

LEAKS_EXIT = 42  # any other non-zero exit (1 is gitleaks' own error) is a scanner failure


@dataclass(frozen=True)
class Finding:
    rule: str
    where: str  # "app/config.py:3", "commit message", "app.bin (binary)", ...; never the secret
    commit: str = ""  # the commit that brings it in, when one does
    blob: str = ""

    def describe(self) -> str:
        parts = [f"rule {self.rule}", self.where]
        parts += [f"commit {self.commit[:12]}"] if self.commit else []
        parts += [f"blob {self.blob[:12]}"] if self.blob else []
        return "  ".join(parts)


def _gitleaks(folder: Path, report: Path, deadline: Deadline) -> list[dict[str, object]]:
    # `--no-git --source .` from inside the folder: file names as short as can be, and relative.
    command = [
        "gitleaks", "detect", "--no-git", "--source", ".", "--no-banner", "--redact",
        "--exit-code", str(LEAKS_EXIT), "--report-format", "json", "--report-path", str(report),
        "--log-level", "warn",
    ]  # fmt: skip
    result = deadline.run(command, cwd=folder)
    if result.returncode not in (0, LEAKS_EXIT):
        raise ScanError(f"the secret scanner failed (exit {result.returncode})")
    findings = json.loads(report.read_text() or "[]") if report.exists() else []
    if result.returncode == LEAKS_EXIT and not findings:
        raise ScanError("the secret scanner reported leaks but wrote no report")
    return findings  # type: ignore[no-any-return]


def _findings(located: Sequence[tuple[str, Piece, int]], origins: dict[str, list[tuple[str, str]]]) -> list[Finding]:
    """Findings as the agent reads them, from (rule, piece, line in its object)."""
    findings = []
    for rule, piece, line in located:
        obj = piece.obj
        part = "message" if line >= piece.message else "header"
        if obj is None:  # naming the ref would print the secret
            findings.append(Finding(rule, "a pushed ref's name"))
        elif obj.type == "tree":
            findings.append(Finding(rule, f"a file name in tree {obj.oid[:12]}"))
        elif obj.type == "commit":
            findings.append(Finding(rule, f"commit {part}", obj.oid))
        elif obj.type == "tag":
            findings.append(Finding(rule, f"{part} of tag {obj.oid[:12]}"))
        else:
            at = f":{line}" if piece.line else " (binary)"
            for commit, path in origins.get(obj.oid) or [("", obj.name or "(no path)")]:
                findings.append(Finding(rule, f"{path}{at}", commit, obj.oid))
    return list(dict.fromkeys(findings))  # a secret in an overlap is found twice


_HUNK = re.compile(rb"^@@ -\d+(?:,\d+)? \+(\d+)(?:,\d+)? @@")


def scan_allow_markers(repo: Path, tips: Sequence[str], deadline: Deadline) -> list[Finding]:
    """Added lines carrying `gitleaks:allow`: the object scan already ignores the marker, and this
    tells the agent so, rather than letting it believe a waiver worked. `-G` leaves only the
    patches that touch such a line, read as they stream: a large one is never held whole here."""
    log = subprocess.Popen(
        ["git", "log", "-p", "-m", "-U0", "--no-color", "--no-ext-diff", "--format=commit %H",
         f"-G{_extract.ALLOW_MARKER.decode()}", *tips, "--not", "--all"],  # a regex with no special characters
        cwd=repo, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    assert log.stdout
    findings = []
    commit, file, line = "", "", 0
    with deadline.kill_at(log):
        for raw in log.stdout:
            if raw.startswith(b"commit "):
                commit = raw[7:].strip().decode()
            elif raw.startswith(b"+++ "):
                name = raw[4:].rstrip(b"\n").decode(errors="replace")
                file = name[2:] if name.startswith("b/") else name
            elif match := _HUNK.match(raw):
                line = int(match.group(1))
            elif raw.startswith(b"+"):
                if _extract.ALLOW_MARKER in raw:
                    findings.append(Finding("gitleaks-allow-marker", f"{file}:{line}", commit))
                line += 1
        failed = log.wait()
    if failed:
        raise ScanError("git could not list the lines this push adds")
    return findings


def scan_push(repo: Path, updates: Sequence[RefUpdate], budget: ScanBudget, deadline: Deadline) -> list[Finding]:
    """Every finding in what the push adds; OverBudget (a ScanError) past the budget."""
    tips = [u.new for u in updates if not u.is_delete]
    if not tips:
        return []  # only deletions: nothing is added
    objects = new_objects(repo, tips, budget, deadline)
    marked = False
    with tempfile.TemporaryDirectory(prefix="git-gate-scan-") as scratch:
        (Path(scratch) / "shown").mkdir()
        with Folder(Path(scratch) / "shown") as folder:
            folder.add(None, "".join(f"{u.ref}\n" for u in updates).encode(), own_lines=False)
            for obj, raw in zip(objects, read_objects(repo, [o.oid for o in objects], deadline), strict=True):
                text, own_lines = _extract.text_of(obj.type, raw, len(obj.oid) // 2)
                message = _extract.message_line(raw) if obj.type in ("commit", "tag") else 0
                folder.add(obj, text, own_lines, message)
                marked = marked or (obj.type == "blob" and _extract.ALLOW_MARKER in raw)
        raw_findings = _gitleaks(folder.path, Path(scratch) / "report.json", deadline)
    located = [
        (str(f.get("RuleID")), *folder.locate(str(f.get("File", "")), int(f.get("StartLine", 0))))  # type: ignore[call-overload]
        for f in raw_findings
    ]
    blobs = {piece.obj.oid for _, piece, _ in located if piece.obj and piece.obj.type == "blob"}
    commits = [o.oid for o in objects if o.type == "commit"]
    origins = blob_origins(repo, commits, blobs, deadline) if blobs and commits else {}
    # Which lines came with the marker is for the diff to say; it is read only when a new blob
    # holds one (a patch of a large file costs git as much memory as the scan).
    markers = scan_allow_markers(repo, tips, deadline) if marked else []
    return _findings(located, origins) + markers
