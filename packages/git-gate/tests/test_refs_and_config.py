"""Which refs a push may touch and what they may name; the config that sets both and the budget;
and the hook closing on every failure."""

from __future__ import annotations

import json

import pytest
from bottle_contract.git import PUSH_REFS
from git_gate import Deadline, GateConfig, RefUpdate, ScanBudget
from git_gate import pre_receive as hook
from git_gate._budget import OverBudget
from git_gate._config import ConfigError, Remote
from git_gate._refs import outside, refusals

ZERO = "0" * 40


def test_only_branches_and_tags_by_default_deletions_included():
    updates = [
        RefUpdate(ZERO, "a" * 40, "refs/heads/feature/deep"),
        RefUpdate(ZERO, "a" * 40, "refs/tags/v1"),
        RefUpdate(ZERO, "a" * 40, "refs/notes/commits"),
        RefUpdate("a" * 40, ZERO, "refs/foo/bar"),
        RefUpdate(ZERO, "a" * 40, "refs/headsx/main"),
    ]
    assert outside(updates, PUSH_REFS) == ["refs/notes/commits", "refs/foo/bar", "refs/headsx/main"]
    assert outside(updates, [*PUSH_REFS, "refs/notes/*"]) == ["refs/foo/bar", "refs/headsx/main"]


def test_a_ref_must_name_a_commit_directly_or_through_tags(repo):
    commit, blob = repo.commit({"f": b"x\n"}), repo.blob(b"y\n")
    tree = repo.git("rev-parse", f"{commit}^{{tree}}")
    updates = [
        RefUpdate(ZERO, commit, "refs/heads/ok"),
        RefUpdate(ZERO, repo.tag(repo.tag(commit, "in"), "out"), "refs/tags/nested-ok"),
        RefUpdate(ZERO, blob, "refs/tags/blob"),
        RefUpdate(ZERO, tree, "refs/tags/tree"),
        RefUpdate(ZERO, repo.tag(repo.tag(blob, "in"), "out"), "refs/tags/nested-blob"),
        RefUpdate(repo.base, ZERO, "refs/heads/gone"),
        RefUpdate(ZERO, commit, "refs/notes/commits"),
    ]
    assert refusals(repo.path, updates, PUSH_REFS, Deadline(30)) == [
        "refs/notes/commits: outside the refs this gate forwards (refs/heads/*, refs/tags/*)",
        "refs/tags/blob: points at a blob, not a commit",
        "refs/tags/tree: points at a tree, not a commit",
        "refs/tags/nested-blob: points at a tag of a blob, not a commit",
    ]


def write_config(tmp_path, **extra) -> GateConfig:
    remote = {"host": "forge", "hostname": "git.example.com", "port": 22, "user": "git", "key_alias": "k"}
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"bottle": "b", "remotes": [{**remote, "repos": ["demo/app"]}], **extra}))
    return GateConfig.load(path)


def test_the_config_sets_the_push_refs_and_the_budget_with_defaults(tmp_path):
    default = write_config(tmp_path)
    assert default.push_refs == ("refs/heads/*", "refs/tags/*")
    assert default.scan_budget == ScanBudget(256 << 20, 200_000, 120)
    custom = write_config(tmp_path, push_refs=["refs/heads/*"], scan_budget={"max_bytes": 1024, "seconds": 5})
    assert custom.push_refs == ("refs/heads/*",)
    assert custom.scan_budget == ScanBudget(1024, 200_000, 5)
    for bad in ({"push_refs": "refs/*"}, {"scan_budget": [1]}, {"scan_budget": {"max_bytes": "lots"}}):
        with pytest.raises(ConfigError):
            write_config(tmp_path, **bad)


@pytest.fixture
def mirror(repo, monkeypatch):
    """pre-receive against the scratch repo as if it were the mirror of demo/app. Forwarding is
    recorded, never done."""
    remote = Remote("forge", "git.example.com", 22, "git", "k", ("demo/app",))
    monkeypatch.setattr(GateConfig, "remote_for", lambda self, path: (remote, "demo/app"))
    forwarded = []
    monkeypatch.setattr(hook, "forward", lambda *args: forwarded.append(args))
    repo.forwarded = forwarded
    return repo


def push(repo, *updates: RefUpdate, config: GateConfig | None = None) -> tuple[int, str]:
    config = config or GateConfig("b", 9418, ())
    return hook.run(repo.path, [f"{u.old} {u.new} {u.ref}" for u in updates], config)


def test_a_refused_ref_refuses_the_whole_push_before_any_scan(mirror, monkeypatch):
    monkeypatch.setattr(hook, "scan_push", lambda *args: pytest.fail("scanned a refused push"))
    code, message = push(
        mirror, RefUpdate(ZERO, mirror.base, "refs/heads/fine"), RefUpdate(ZERO, mirror.blob(b"x"), "refs/tags/b")
    )
    assert code == 1
    assert "PUSH REJECTED by the bottle's git gate: refs it does not forward." in message
    assert "refs/tags/b: points at a blob, not a commit" in message
    assert mirror.forwarded == []


@pytest.mark.parametrize(
    ("failure", "shown"),
    [
        (OverBudget("this push adds more than 10 objects"), "this push adds more than 10 objects."),
        (RuntimeError("boom"), "internal error (RuntimeError)"),
        (MemoryError(), "internal error (MemoryError)"),
    ],
)
def test_every_failure_of_the_scan_refuses_the_push(mirror, monkeypatch, failure, shown):
    def scan_push(*args):
        raise failure

    monkeypatch.setattr(hook, "scan_push", scan_push)
    code, message = push(mirror, RefUpdate(ZERO, mirror.commit({"f": b"x\n"}), "refs/heads/main"))
    assert code == 1
    assert message.startswith("PUSH REJECTED by the bottle's git gate: ") and shown in message
    assert mirror.forwarded == []


def test_a_clean_push_within_the_refs_is_forwarded(mirror, monkeypatch):
    monkeypatch.setattr(hook, "scan_push", lambda *args: [])
    tip = mirror.commit({"f": b"x\n"})
    assert push(mirror, RefUpdate(ZERO, tip, "refs/heads/main")) == (0, "")
    assert [[u.ref for u in call[2]] for call in mirror.forwarded] == [["refs/heads/main"]]
