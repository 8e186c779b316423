"""The git gate's pure parts. Scanning and forwarding run against real gitleaks, git daemon and
sshd in the end-to-end tests (tests/test_git_gate.py); gitleaks is not installed on the host."""

from __future__ import annotations

import json
import subprocess

import pytest
from git_gate import GateConfig
from git_gate._scan import Finding, scan_allow_markers
from git_gate._upstream import _porcelain_refusals
from git_gate.pre_receive import leak_report, parse

ZERO = "0" * 40


def test_ref_updates_parse_creates_and_deletes():
    updates = parse([f"{ZERO} {'a' * 40} refs/heads/new", f"{'b' * 40} {ZERO} refs/heads/gone", ""])
    assert [(u.ref, u.is_create, u.is_delete) for u in updates] == [
        ("refs/heads/new", True, False),
        ("refs/heads/gone", False, True),
    ]


def test_the_leak_report_names_rule_file_line_and_commit_and_how_to_review():
    report = leak_report(
        [Finding("github-pat", "0123456789abcdef", "app/config.py", 3), Finding("aws", "fe" * 20, "", 1)]
    )
    assert "rule github-pat  app/config.py:3  commit 0123456789ab" in report
    assert "rule aws  commit message  commit fefefefefefe" in report
    assert "To review a finding: git show <commit> -- <file>" in report


def test_stale_lease_refusals_are_read_from_porcelain_output():
    stdout = "To ssh://x/y.git\n!\trefs/heads/main:refs/heads/main\t[rejected] (stale info)\nDone\n"
    assert _porcelain_refusals(stdout) == "refs/heads/main: rejected (stale info)"


def test_config_maps_a_mirror_back_to_its_upstream(tmp_path, monkeypatch):
    path = tmp_path / "config.json"
    remote = {"host": "forge", "hostname": "git.example.com", "port": 2222, "user": "git", "key_alias": "k"}
    path.write_text(json.dumps({"bottle": "b", "remotes": [{**remote, "repos": ["demo/app"]}]}))
    config = GateConfig.load(path)
    found, repo = config.remote_for(config.repo_dir("demo/app"))
    assert found.url(repo) == "ssh://git@git.example.com:2222/demo/app.git"
    assert "HostKeyAlias=k" in found.ssh_command() and "StrictHostKeyChecking=yes" in found.ssh_command()


def git(repo, *args: str) -> str:
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True, env=env).stdout


@pytest.fixture
def repo(tmp_path):
    git(tmp_path, "init", "-q", "-b", "main")
    (tmp_path / "a.txt").write_text("one\n")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-q", "-m", "base")
    return tmp_path


def test_allow_markers_are_found_with_file_and_line(repo):
    base = git(repo, "rev-parse", "HEAD").strip()
    git(repo, "update-ref", "refs/scanned/base", base)  # "already on a ref", as the mirror's refs are
    (repo / "a.txt").write_text("one\ntwo\nsecret # gitleaks:allow\n")
    git(repo, "commit", "-q", "-am", "mark")
    tip = git(repo, "rev-parse", "HEAD").strip()
    git(repo, "update-ref", "-d", "refs/heads/main")
    findings = scan_allow_markers(repo, [tip])
    assert findings == [Finding("gitleaks-allow-marker", tip, "a.txt", 3)]
