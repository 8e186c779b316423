"""The object scan end to end on the host, with a stand-in for gitleaks (the real one runs in the
gate image: tests/test_attacks_git.py). The stand-in flags GitHub tokens line by line and, like
8.16, skips lines holding `gitleaks:allow`; it keeps a copy of what it was shown."""

from __future__ import annotations

import os
import stat
import sys
import textwrap

import pytest
from git_gate import Deadline, RefUpdate, ScanBudget, _shown, scan_push
from git_gate._errors import ScanError

ZERO = "0" * 40
TOKEN = "ghp_" + "A1b2C3d4" * 4 + "E5f6"

STAND_IN = textwrap.dedent(
    """
    import json, os, re, shutil, sys
    args = sys.argv[1:]
    shutil.copytree(".", os.environ["SHOWN"], dirs_exist_ok=True)
    found = []
    for name in sorted(os.listdir(".")):
        for number, line in enumerate(open(name, "rb").read().split(b"\\n"), 1):
            if re.search(rb"ghp_[0-9A-Za-z]{36}", line) and b"gitleaks:allow" not in line:
                found.append({"RuleID": "github-pat", "File": name, "StartLine": number, "Secret": "REDACTED"})
    exit_code = int(os.environ.get("EXIT", args[args.index("--exit-code") + 1] if found else 0))
    if os.environ.get("WRITE", "1") == "1":
        open(args[args.index("--report-path") + 1], "w").write(json.dumps(found))
    sys.exit(exit_code)
    """
)


@pytest.fixture
def shown(tmp_path, monkeypatch):
    """The folder gitleaks was shown, copied; the stand-in is first on PATH."""
    folder = tmp_path / "bin"
    folder.mkdir()
    script = folder / "gitleaks"
    script.write_text(f"#!{sys.executable}\n{STAND_IN}")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("SHOWN", str(tmp_path / "shown"))
    return tmp_path / "shown"


def scan(repo, *pushed: tuple[str, str]):
    updates = [RefUpdate(ZERO, new, ref) for ref, new in pushed]
    return [f.describe() for f in scan_push(repo.path, updates, ScanBudget(), Deadline(30))]


def test_a_token_in_a_file_is_named_by_path_line_commit_and_blob(repo, shown):
    tip = repo.commit({"app/config.py": f'a = 1\nkey = "{TOKEN}"\n'.encode()})
    blob = repo.git("rev-parse", f"{tip}:app/config.py")
    assert scan(repo, ("refs/heads/main", tip)) == [
        f"rule github-pat  app/config.py:2  commit {tip[:12]}  blob {blob[:12]}"
    ]


def test_objects_are_packed_into_numbered_files_and_found_by_their_own_lines(repo, shown):
    files = {f"f{i}.py": f"x = {i}\n".encode() * 3 for i in range(30)}
    files["f17.py"] = f'a = 1\nb = 2\nkey = "{TOKEN}"\n'.encode()
    files[".gitleaks.toml"] = b"[allowlist]\nregexes = ['.*']\n"
    files["vendor/lib.py"] = b"y = 1\n"
    tip = repo.commit(files)
    blob = repo.git("rev-parse", f"{tip}:f17.py")
    assert scan(repo, ("refs/heads/main", tip)) == [f"rule github-pat  f17.py:3  commit {tip[:12]}  blob {blob[:12]}"]
    assert [p.name for p in shown.iterdir()] == ["0"]  # one file for the whole push, named by number
    text = (shown / "0").read_bytes()
    assert text.startswith(b"\x89PNG\r\n\x1a\n")
    assert all(content in text for content in files.values())


def test_a_large_object_is_shown_in_overlapping_pieces_with_its_own_line_numbers(repo, shown, monkeypatch):
    monkeypatch.setattr(_shown, "CHUNK", 128)
    monkeypatch.setattr(_shown, "OVERLAP", 64)
    monkeypatch.setattr(_shown, "PACK", 100)
    lines = [f"line {i:03}\n".encode() for i in range(1, 41)]  # 9 bytes each
    lines[14] = f'k = "{TOKEN}"\n'.encode()  # line 15, across the first cut (byte 128)
    lines[35] = f'k = "{TOKEN}"\n'.encode()  # line 36, in a later piece only
    tip = repo.commit({"big.txt": b"".join(lines)})
    blob = repo.git("rev-parse", f"{tip}:big.txt")
    assert scan(repo, ("refs/heads/main", tip)) == [
        f"rule github-pat  big.txt:15  commit {tip[:12]}  blob {blob[:12]}",
        f"rule github-pat  big.txt:36  commit {tip[:12]}  blob {blob[:12]}",
    ]
    assert len(list(shown.iterdir())) > 3  # each window a file of its own


def test_a_token_in_a_binary_file_is_found_in_its_text(repo, shown):
    tip = repo.commit({"logo.png": b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR" + TOKEN.encode() + b"\0\1\2"})
    blob = repo.git("rev-parse", f"{tip}:logo.png")
    assert scan(repo, ("refs/heads/main", tip)) == [
        f"rule github-pat  logo.png (binary)  commit {tip[:12]}  blob {blob[:12]}"
    ]


def test_a_line_marked_gitleaks_allow_is_scanned_and_the_marker_refused(repo, shown):
    tip = repo.commit({"a.py": f'key = "{TOKEN}"  # gitleaks:allow\n'.encode()})
    blob = repo.git("rev-parse", f"{tip}:a.py")
    assert scan(repo, ("refs/heads/main", tip)) == [
        f"rule github-pat  a.py:1  commit {tip[:12]}  blob {blob[:12]}",
        f"rule gitleaks-allow-marker  a.py:1  commit {tip[:12]}",
    ]


def test_messages_headers_file_names_and_ref_names_are_scanned(repo, shown):
    message = repo.commit({"m.txt": b"m\n"}, f"deploy with {TOKEN}")
    header = repo.git(
        "commit-tree", f"{repo.base}^{{tree}}", "-p", repo.base, "-m", "x", env={"GIT_AUTHOR_NAME": TOKEN}
    )
    inner = repo.tag(repo.base, f"inner {TOKEN}", "inner")
    outer = repo.tag(inner, "outer", "outer")
    named = repo.commit({f"{TOKEN}.txt": b"harmless\n"})
    assert scan(repo, ("refs/heads/a", message)) == [f"rule github-pat  commit message  commit {message[:12]}"]
    assert scan(repo, ("refs/heads/b", header)) == [f"rule github-pat  commit header  commit {header[:12]}"]
    assert scan(repo, ("refs/tags/v1", outer)) == [f"rule github-pat  message of tag {inner[:12]}"]
    tree = repo.git("rev-parse", f"{named}^{{tree}}")
    assert scan(repo, ("refs/heads/c", named)) == [f"rule github-pat  a file name in tree {tree[:12]}"]
    assert scan(repo, (f"refs/heads/{TOKEN}", repo.base)) == ["rule github-pat  a pushed ref's name"]


def test_a_blob_two_refs_bring_in_is_named_for_both(repo, shown):
    leak = f'key = "{TOKEN}"\n'.encode()
    one, two = repo.commit({"one.py": leak}), repo.commit({"two/other.py": leak})
    blob = repo.blob(leak)
    assert sorted(scan(repo, ("refs/heads/one", one), ("refs/heads/two", two))) == [
        f"rule github-pat  one.py:1  commit {one[:12]}  blob {blob[:12]}",
        f"rule github-pat  two/other.py:1  commit {two[:12]}  blob {blob[:12]}",
    ]


def test_a_blob_no_commit_brings_in_is_named_by_its_id(repo, shown):
    blob = repo.blob(f'key = "{TOKEN}"\n'.encode())
    assert scan(repo, ("refs/tags/bare", blob)) == [f"rule github-pat  (no path):1  blob {blob[:12]}"]


@pytest.mark.parametrize(("exit_code", "write"), [("1", "1"), ("42", "0"), ("126", "1")])
def test_a_scanner_failure_is_a_scan_error(repo, shown, monkeypatch, exit_code, write):
    monkeypatch.setenv("EXIT", exit_code)
    monkeypatch.setenv("WRITE", write)
    with pytest.raises(ScanError):
        scan(repo, ("refs/heads/main", repo.commit({"f": b"clean\n"})))


def test_deletions_alone_scan_nothing(repo, shown):
    assert scan_push(repo.path, [RefUpdate(repo.base, ZERO, "refs/heads/main")], ScanBudget(), Deadline(30)) == []
    assert not shown.exists()
