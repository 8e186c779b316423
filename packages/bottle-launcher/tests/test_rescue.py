"""The rescue's scan and save scripts, run by bash against real git repositories (the helper
container runs the same scripts; tests/test_workspace.py runs them there)."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
from bottle_launcher.rescue import RunResult, find_losses, rescue, save
from bottle_launcher.rescue._report import RepoLoss

GIT = ["git", "-c", "user.name=agent", "-c", "user.email=agent@test"]


class LocalReader:
    """Runs the scripts here instead of in a helper container."""

    def run(self, script: str, args: list[str], *, limit: int, timeout: float) -> RunResult:
        done = subprocess.run(["bash", "-c", script, "bash", *args], capture_output=True, timeout=timeout)
        if len(done.stdout) > limit:
            return RunResult(None, done.stdout[:limit], done.stderr, truncated=True)
        return RunResult(done.returncode, done.stdout, done.stderr)


def git(repo: Path, *args: str) -> str:
    return subprocess.run([*GIT, "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


@pytest.fixture
def work(tmp_path: Path) -> Path:
    """upstream (bare) -> app (a clone with an unpushed commit, a change, an untracked file and
    a stash), clean (a clone with nothing unsaved), fresh (no commit yet, one file)."""
    root = tmp_path / "work"
    root.mkdir()
    upstream = tmp_path / "upstream.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(upstream)], check=True)
    seed = tmp_path / "seed"
    subprocess.run(["git", "clone", "-q", str(upstream), str(seed)], check=True, capture_output=True)
    (seed / "README").write_text("hello\n")
    git(seed, "add", "README")
    git(seed, "commit", "-q", "-m", "first")
    git(seed, "push", "-q", "origin", "HEAD:main")
    for name in ("app", "clean"):
        subprocess.run(["git", "clone", "-q", str(upstream), str(root / name)], check=True, capture_output=True)
    app = root / "app"
    (app / "stashed").write_text("kept aside\n")
    git(app, "add", "stashed")
    git(app, "stash", "-q")
    (app / "feature.py").write_text("print('new')\n")
    git(app, "add", "feature.py")
    git(app, "commit", "-q", "-m", "unpushed work")
    (app / "README").write_text("hello, changed\n")
    (app / "notes.bin").write_bytes(bytes(range(256)))
    (app / ".gitignore").write_text("*.log\n")
    (app / "debug.log").write_text("ignored\n")
    subprocess.run(["git", "init", "-q", str(root / "fresh")], check=True)
    (root / "fresh" / "draft.txt").write_text("first draft\n")
    return root


def test_the_scan_finds_what_would_be_lost_and_nothing_else(work):
    losses = {loss.path: loss for loss in find_losses(LocalReader(), root=str(work))}
    assert set(losses) == {"app", "fresh"}  # clean has nothing unsaved
    # README changed; .gitignore and notes.bin untracked (debug.log is ignored); one commit; a stash
    assert losses["app"] == RepoLoss("app", changed=1, untracked=2, unpushed=1, stashes=1)
    assert losses["app"].describe() == "app: 1 commit not pushed, 1 stash, 1 changed file, 2 untracked files"
    assert losses["fresh"] == RepoLoss("fresh", changed=0, untracked=1, unpushed=0, stashes=0)


def test_saved_work_comes_back_with_git_clone_and_git_apply(work, tmp_path):
    losses = find_losses(LocalReader(), root=str(work))
    folder = tmp_path / "rescued"
    outcome = save(LocalReader(), losses, folder, "dev", "b0771e00", time.monotonic() + 60, root=str(work))
    assert outcome.failed == {} and set(outcome.saved) == {"app", "fresh"}
    # The bundle clones, with the unpushed commit and the stash.
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(folder / "app" / "commits.bundle"), str(clone)], check=True)
    assert "unpushed work" in git(clone, "log", "--format=%s")
    git(clone, "fetch", "-q", str(folder / "app" / "commits.bundle"), "refs/stash")
    git(clone, "stash", "apply", "-q", "FETCH_HEAD")  # as the README says
    assert (clone / "stashed").read_text() == "kept aside\n"
    git(clone, "reset", "-q", "--hard")
    # The patch applies to that commit and gives back the changed, binary and untracked files.
    git(clone, "apply", str(folder / "app" / "changes.patch"))
    assert (clone / "README").read_text() == "hello, changed\n"
    assert (clone / "notes.bin").read_bytes() == bytes(range(256))
    assert not (clone / "debug.log").exists()
    # A repository with no commit: its patch alone, against the empty tree.
    fresh = tmp_path / "fresh-again"
    subprocess.run(["git", "init", "-q", str(fresh)], check=True)
    git(fresh, "apply", str(folder / "fresh" / "changes.patch"))
    assert (fresh / "draft.txt").read_text() == "first draft\n"
    readme = (folder / "README.md").read_text()
    assert "git clone" in readme and "git apply" in readme and "b0771e00" in readme
    # The agent's own repository is as it was: its index, its objects, its stash.
    assert git(work / "app", "status", "--porcelain") == " M README\n?? .gitignore\n?? notes.bin\n"


def test_a_repository_cannot_run_commands_on_the_reader(work, tmp_path):
    marker = tmp_path / "ran"
    git(work / "app", "config", "core.fsmonitor", f"touch {marker}; false")
    hooks = work / "app" / ".git" / "hooks"
    (hooks / "pre-commit").write_text(f"#!/bin/sh\ntouch {marker}\n")
    (hooks / "pre-commit").chmod(0o755)
    losses = find_losses(LocalReader(), root=str(work))
    save(LocalReader(), losses, tmp_path / "out", "dev", "x", time.monotonic() + 60, root=str(work))
    assert not marker.exists()


def test_over_the_size_limit_the_bundle_holds_the_unpushed_commits_only(work, tmp_path, monkeypatch):
    import bottle_launcher.rescue as rescue_module

    monkeypatch.setattr(rescue_module, "FULL_BUNDLE_LIMIT", 1)
    losses = [loss for loss in find_losses(LocalReader(), root=str(work)) if loss.path == "app"]
    folder = tmp_path / "rescued"
    save(LocalReader(), losses, folder, "dev", "x", time.monotonic() + 60, root=str(work))
    assert (folder / "app" / "bundle-kind").read_text().strip() == "incremental"
    listed = subprocess.run(
        ["git", "bundle", "list-heads", str(folder / "app" / "commits.bundle")], capture_output=True, text=True
    ).stdout
    assert "refs/heads/main" in listed and "refs/stash" in listed
    assert "Fetch it into a clone of the upstream" in (folder / "README.md").read_text()


class FixedReader(LocalReader):
    def __init__(self, root: Path) -> None:
        self.root = root

    def run(self, script: str, args: list[str], *, limit: int, timeout: float) -> RunResult:
        # The scripts get the helper's paths; point them at the test's folder instead.
        args = [a.replace("/home/claude/work", str(self.root)) for a in args]
        return super().run(script, args, limit=limit, timeout=timeout)


def _rescue(work: Path, mode, answer: str = ""):
    said: list[str] = []
    from contextlib import nullcontext

    outcome = rescue(lambda: nullcontext(FixedReader(work)), "dev", "b0771e00", mode, said.append, lambda q: answer)
    return outcome, said


@pytest.fixture
def data_home(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    return tmp_path / "data" / "claude-bottle" / "rescued" / "dev"


def test_asked_the_user_may_decline_and_nothing_is_written(work, data_home):
    outcome, said = _rescue(work, "ask", answer="n")
    assert outcome.folder is None and not data_home.exists()
    assert said[0] == "claude-bottle: bottle b0771e00 has work that is not pushed:"
    assert "  app: 1 commit not pushed, 1 stash, 1 changed file, 2 untracked files" in said
    assert said[-1] == "claude-bottle: discarded"


@pytest.mark.parametrize(("mode", "answer"), [("ask", ""), ("ask", "y"), ("save", "n")])
def test_saving_is_the_default_and_says_where(work, data_home, mode, answer):
    outcome, said = _rescue(work, mode, answer)
    (folder,) = data_home.iterdir()
    assert folder.name.endswith("-b0771e00") and outcome.folder == folder
    assert said[-1] == f"claude-bottle: saved to {folder} (its README.md says how to apply it)"
    assert sorted(p.name for p in folder.iterdir()) == ["README.md", "app", "fresh"]


def test_discard_reads_nothing_and_nothing_unsaved_writes_nothing(work, data_home, tmp_path):
    outcome, said = _rescue(work, "discard")
    assert outcome.losses == [] and not data_home.exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    outcome, said = _rescue(empty, "save")
    assert said == [] and not data_home.exists()


class StuckReader(LocalReader):
    """The scan works; each save times out or overflows."""

    def __init__(self, how: str) -> None:
        self.how = how

    def run(self, script: str, args: list[str], *, limit: int, timeout: float) -> RunResult:
        if "bundle create" not in script:
            return super().run(script, args, limit=limit, timeout=timeout)
        if self.how == "time":
            return RunResult(None, b"", b"", timed_out=True)
        return RunResult(None, b"x" * limit, b"", truncated=True)


@pytest.mark.parametrize(("how", "why"), [("time", "ran out of time (120 s in all)"), ("size", "too large")])
def test_what_cannot_be_saved_is_named_and_said(work, tmp_path, how, why):
    losses = find_losses(LocalReader(), root=str(work))
    folder = tmp_path / "rescued"
    outcome = save(StuckReader(how), losses, folder, "dev", "x", time.monotonic() + 60, root=str(work))
    assert outcome.saved == {} and set(outcome.failed) == {"app", "fresh"}
    assert all(why in text for text in outcome.failed.values()), outcome.failed
    readme = (folder / "README.md").read_text()
    assert "## Not saved" in readme and f"- app: {outcome.failed['app']}" in readme
