"""A local workspace is checked, and bundled, before the engine is contacted: each mistake is a
clear message (real git, no Docker)."""

from __future__ import annotations

import io
import subprocess
import tarfile
from pathlib import Path

import pytest
from bottle_launcher import local_workspace
from bottle_launcher.errors import LaunchError
from bottle_launcher.local_workspace import CHANGES_REF, inspect, make_bundle, prepare

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


def unpack(archive: bytes, into: Path) -> list[tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        members = tar.getmembers()
        tar.extractall(into, filter="data")  # owned by whoever runs the test: its git trusts it
    return members


def refs(repo: Path) -> list[str]:
    return git(repo, "for-each-ref", "--format=%(refname) %(objectname) %(upstream)").splitlines()


@pytest.fixture(params=["system tar", "tarfile"])
def packer(request, monkeypatch):
    """Both ways the archive is packed: the system's tar where there is one, tarfile otherwise."""
    if request.param == "tarfile":
        monkeypatch.setattr(local_workspace, "_system_tar_flags", lambda uid: None)
    return request.param


def test_the_clone_archive_is_what_a_clone_through_the_gate_gives(tmp_path, packer):
    path = repo(tmp_path)
    git(path, "tag", "v1")
    git(path, "checkout", "-qb", "feature")
    (path / "b.txt").write_text("b\n")
    git(path, "add", "b.txt")
    git(path, "commit", "-qm", "second")
    (path / "a.txt").write_text("uncommitted\n")  # not asked for: stays behind
    workspace = inspect(path)
    bundle = make_bundle(workspace)
    url = "git://git-gate:9418/workspace/my-project"
    prepared = prepare(workspace, bundle, url, uid=4321)
    assert prepared.clone is not None
    members = unpack(prepared.clone, tmp_path / "work")
    assert {(m.uid, m.gid) for m in members} == {(4321, 4321)}
    assert members[0].name.rstrip("/") == "my-project"
    index = next(m for m in members if m.name == "my-project/.git/index")
    assert all(index.mtime > m.mtime for m in members if m is not index)  # no racily clean entries

    # The same repository, cloned the usual way from the mirror the gate gets.
    mirror = tmp_path / "mirror.git"
    subprocess.run(["git", "init", "-q", "--bare", str(mirror)], check=True)
    unpack(prepared.mirror, mirror)
    git(mirror, "symbolic-ref", "HEAD", "refs/heads/feature")  # as the gate sets it
    expected = tmp_path / "expected"
    subprocess.run(["git", "clone", "-q", str(mirror), str(expected)], check=True)

    clone = tmp_path / "work" / "my-project"
    assert refs(clone) == refs(expected)
    assert git(clone, "branch", "--show-current") == "feature\n"
    assert git(clone, "remote", "get-url", "origin") == url + "\n"
    assert git(clone, "status", "--porcelain") == ""
    assert (clone / "a.txt").read_text() == "a\n" and (clone / "b.txt").read_text() == "b\n"


def test_with_changes_the_clone_is_on_the_changes_commit_and_an_oversized_one_is_not_made(tmp_path, packer):
    path = repo(tmp_path)
    (path / "a.txt").write_text("changed\n")
    (path / "new.txt").write_text("new\n")
    workspace = inspect(path, with_changes=True)
    bundle = make_bundle(workspace)
    prepared = prepare(workspace, bundle, "git://gate/x", uid=1000)
    assert prepared.clone is not None
    unpack(prepared.clone, tmp_path / "work")
    clone = tmp_path / "work" / "my-project"
    assert git(clone, "log", "-1", "--format=%s").startswith("Uncommitted changes")
    assert git(clone, "rev-parse", "HEAD") == git(clone, "rev-parse", "origin/main")
    assert (clone / "new.txt").read_text() == "new\n" and git(clone, "status", "--porcelain") == ""
    assert prepare(workspace, bundle, "git://gate/x", uid=1000, limit=4096).clone is None
