"""A local workspace is checked, and bundled, before the engine is contacted: each mistake is a
clear message (real git, no Docker)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from bottle_launcher.errors import LaunchError
from bottle_launcher.local_workspace import CHANGES_REF, inspect, make_bundle

GIT = ["git", "-c", "user.name=me", "-c", "user.email=me@test"]


def git(repo: Path, *args: str) -> str:
    return subprocess.run([*GIT, "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


def repo(tmp_path: Path, name: str = "my project") -> Path:
    path = tmp_path / name
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True)
    (path / "a.txt").write_text("a\n")
    git(path, "add", "a.txt")
    git(path, "commit", "-qm", "first")
    return path


def refused(path: Path) -> str:
    with pytest.raises(LaunchError) as info:
        inspect(path)
    return str(info.value)


def test_a_repository_becomes_a_workspace_named_after_its_folder(tmp_path):
    path = repo(tmp_path)
    (path / "sub").mkdir()
    workspace = inspect(path / "sub")  # a folder inside it means the repository
    assert (workspace.path, workspace.name, workspace.head) == (str(path), "my-project", "refs/heads/main")
    assert workspace.repo == "workspace/my-project" and not workspace.submodules


def test_what_cannot_be_a_workspace_says_why(tmp_path):
    assert "does not exist" in refused(tmp_path / "nowhere")
    (tmp_path / "plain").mkdir()
    assert "is not a git repository" in refused(tmp_path / "plain")
    subprocess.run(["git", "init", "-q", "--bare", str(tmp_path / "bare.git")], check=True)
    assert "is a bare repository" in refused(tmp_path / "bare.git")
    subprocess.run(["git", "init", "-q", str(tmp_path / "unborn")], check=True)
    assert "has no commits yet" in refused(tmp_path / "unborn")
    detached = repo(tmp_path, "detached")
    git(detached, "checkout", "-q", "--detach")
    assert "has a detached HEAD" in refused(detached)


def test_submodules_are_noted_and_a_bundle_over_the_limit_is_refused(tmp_path):
    path = repo(tmp_path)
    (path / ".gitmodules").write_text('[submodule "lib"]\n\tpath = lib\n\turl = ../lib\n')
    assert inspect(path).submodules
    with pytest.raises(LaunchError, match="bundle; the limit is"):
        make_bundle(inspect(path), limit=10)


def test_with_changes_the_bundle_carries_them_and_the_repository_is_untouched(tmp_path):
    path = repo(tmp_path)
    (path / "a.txt").write_text("changed\n")
    (path / "new.txt").write_text("new\n")
    status, index = git(path, "status", "--porcelain"), (path / ".git" / "index").read_bytes()
    bundle = tmp_path / "b.bundle"
    bundle.write_bytes(make_bundle(inspect(path, with_changes=True)))
    heads = subprocess.run(["git", "bundle", "list-heads", str(bundle)], capture_output=True, text=True).stdout
    assert "refs/heads/main" in heads and CHANGES_REF in heads
    assert git(path, "status", "--porcelain") == status and (path / ".git" / "index").read_bytes() == index
    assert git(path, "for-each-ref", CHANGES_REF) == ""
