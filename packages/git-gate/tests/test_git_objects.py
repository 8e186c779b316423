"""Listing and reading what a push adds, with real git: objects, not commits, so a blob or tree a
ref points at straight is found; the quarantine is seen through the inherited environment; the
budget stops a listing early; the clock kills what runs over."""

from __future__ import annotations

import os
import subprocess
import time

import pytest
from git_gate import Deadline, ScanBudget
from git_gate._budget import OverBudget
from git_gate._errors import ScanError
from git_gate._objects import blob_origins, new_objects, peeled_types, read_objects


def listed(repo, *tips, budget=None):
    return {(o.type, o.name) for o in new_objects(repo.path, list(tips), budget or ScanBudget(), Deadline(30))}


def test_only_what_no_ref_reaches_is_listed_with_its_paths(repo):
    tip = repo.commit({"app/config.py": b"x = 1\n"})
    assert listed(repo, tip) == {("commit", ""), ("tree", ""), ("tree", "app"), ("blob", "app/config.py")}
    repo.git("update-ref", "refs/heads/main", tip)
    assert listed(repo, tip) == set()  # already on a ref of the mirror: upstream has it


def test_a_blob_or_a_tree_or_tags_of_them_are_listed_too(repo):
    blob = repo.blob(b"token\n")
    tree = repo.tree({"deep/leak.txt": b"token in a tree\n"})
    assert listed(repo, blob) == {("blob", "")}
    assert listed(repo, tree) == {("tree", ""), ("tree", "deep"), ("blob", "deep/leak.txt")}
    outer = repo.tag(repo.tag(blob, "inner", "in"), "outer", "out")
    assert listed(repo, outer) == {("tag", "out"), ("tag", "in"), ("blob", "")}


def test_one_listing_for_many_tips_names_each_object_once(repo):
    shared = b"the same content under two names\n"
    one, two = repo.commit({"a/x.txt": shared}), repo.commit({"b/y.txt": shared})
    blobs = [o for o in new_objects(repo.path, [one, two], ScanBudget(), Deadline(30)) if o.type == "blob"]
    assert len(blobs) == 1


def test_the_budget_stops_the_listing(repo):
    tip = repo.commit({f"f{i}.txt": f"{i}\n".encode() for i in range(20)})
    with pytest.raises(OverBudget, match="more than 10 objects"):
        listed(repo, tip, budget=ScanBudget(max_objects=10))
    with pytest.raises(OverBudget, match="more than 1,048 bytes"):
        listed(repo, repo.commit({"big.bin": b"x" * 2000}), budget=ScanBudget(max_bytes=1048))
    assert len(listed(repo, tip, budget=ScanBudget(max_objects=23))) == 22  # 20 blobs, a tree, a commit


def test_objects_in_a_quarantine_are_seen_through_the_inherited_environment(repo, tmp_path, monkeypatch):
    # What receive-pack does: new objects go to a separate directory, the repository's own
    # objects are an alternate, and the hook's children find both through the environment.
    quarantine = tmp_path / "incoming"
    quarantine.mkdir()
    env = {
        "GIT_OBJECT_DIRECTORY": str(quarantine),
        "GIT_ALTERNATE_OBJECT_DIRECTORIES": str(repo.path / ".git" / "objects"),
    }
    blob = repo.git("hash-object", "-w", "--stdin", stdin=b"pushed\n", env=env)
    with pytest.raises(ScanError):
        listed(repo, blob)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert listed(repo, blob) == {("blob", "")}


def test_one_reader_returns_every_object_whole_and_in_order(repo):
    # More than a pipe holds in both directions at once: the feeder thread keeps both moving.
    contents = {f"f{i}.bin": os.urandom(20_000) for i in range(40)}
    tip = repo.commit(contents)
    objects = new_objects(repo.path, [tip], ScanBudget(), Deadline(30))
    contents_read = read_objects(repo.path, [o.oid for o in objects], Deadline(30))
    read = dict(zip((o.name for o in objects), contents_read, strict=True))
    assert {name: read[name] for name in contents} == contents


def test_peeling_follows_nested_tags_to_what_they_name(repo):
    blob, commit = repo.blob(b"x\n"), repo.commit({"f": b"y\n"})
    nested = repo.tag(repo.tag(blob, "inner"), "outer")
    tree = repo.git("rev-parse", f"{commit}^{{tree}}")
    types = peeled_types(repo.path, [blob, nested, commit, repo.tag(commit, "release"), tree], Deadline(30))
    assert list(types.values()) == [
        ("blob", "blob"),
        ("tag", "blob"),
        ("commit", "commit"),
        ("tag", "commit"),
        ("tree", "tree"),
    ]


def test_a_blob_is_traced_to_every_commit_and_path_that_brings_it_in(repo):
    shared = b"shared content\n"
    one = repo.commit({"a/one.txt": shared})
    two = repo.commit({"b/two.txt": shared})
    merge = repo.commit({"c/three.txt": shared}, "merge", parents=(one, two))
    oid = repo.blob(shared)
    origins = blob_origins(repo.path, [one, two, merge], {oid}, Deadline(30))
    # -m: the merge against each parent, so it brings a/one.txt into two's line as well
    assert set(origins[oid]) >= {(one, "a/one.txt"), (two, "b/two.txt"), (merge, "c/three.txt")}


def test_the_clock_kills_a_step_that_runs_over():
    started = time.monotonic()
    with pytest.raises(OverBudget, match=r"longer than its 0\.3 s budget"):
        Deadline(0.3).run(["sleep", "5"])
    sleeper = subprocess.Popen(["sleep", "5"], stdout=subprocess.PIPE)
    with pytest.raises(OverBudget), Deadline(0.3).kill_at(sleeper):
        sleeper.stdout.read()  # blocks until the kill closes the pipe
    assert sleeper.returncode is not None
    assert time.monotonic() - started < 3
