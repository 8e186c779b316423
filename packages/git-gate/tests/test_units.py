"""The git gate's pure parts. Scanning and forwarding run against real gitleaks, git daemon and
sshd in the end-to-end tests (tests/test_git_gate.py); gitleaks is not installed on the host."""

from __future__ import annotations

import json

from git_gate import Deadline, GateConfig
from git_gate._config import ssh_command
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


def test_the_leak_report_names_rule_file_line_commit_and_blob_and_how_to_review():
    report = leak_report(
        [
            Finding("github-pat", "app/config.py:3", "0123456789abcdef", "ab" * 20),
            Finding("aws", "commit message", "fe" * 20),
            Finding("github-pat", "a pushed ref's name"),
        ]
    )
    assert "rule github-pat  app/config.py:3  commit 0123456789ab  blob abababababab" in report
    assert "rule aws  commit message  commit fefefefefefe" in report
    assert "rule github-pat  a pushed ref's name\n" in report
    assert "To review a finding: git show <commit> -- <file>" in report


def test_a_long_leak_report_is_cut_short():
    report = leak_report([Finding("r", f"f{i}.txt:1") for i in range(120)])
    assert "f49.txt:1" in report and "f50.txt" not in report
    assert "  ... and 70 more" in report


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
    assert "HostKeyAlias=k" in ssh_command(found) and "StrictHostKeyChecking=yes" in ssh_command(found)


def test_allow_markers_are_found_with_file_and_line(repo):
    tip = repo.commit({"a.txt": b"one\ntwo\nsecret # gitleaks:allow\n"}, "mark")
    assert scan_allow_markers(repo.path, [tip], Deadline(30)) == [Finding("gitleaks-allow-marker", "a.txt:3", tip)]
