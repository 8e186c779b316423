"""A scratch repository standing in for a mirror: `main` holds one commit (what upstream has), and
objects made with `Scratch` are on no ref, as a push's objects are until its hook accepts it."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

IDENTITY = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}


class Scratch:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.git("init", "-q", "-b", "main")
        self.base = self.commit({"a.txt": b"one\n"}, "base", parents=())
        self.git("update-ref", "refs/heads/main", self.base)

    def git(self, *args: str, stdin: bytes | None = None, env: dict[str, str] | None = None) -> str:
        return self.raw(*args, stdin=stdin, env=env).decode().strip()

    def raw(self, *args: str, stdin: bytes | None = None, env: dict[str, str] | None = None) -> bytes:
        result = subprocess.run(
            ["git", *args], cwd=self.path, input=stdin, capture_output=True, check=True,
            env={**os.environ, **IDENTITY, **(env or {})},
        )  # fmt: skip
        return result.stdout

    def blob(self, content: bytes) -> str:
        return self.git("hash-object", "-w", "--stdin", stdin=content)

    def tree(self, files: dict[str, bytes], parent: str | None = None) -> str:
        """A tree of `files` on top of `parent`'s (nested paths allowed), through a private index."""
        env = {"GIT_INDEX_FILE": str(self.path / ".git" / "scratch-index")}
        self.git("read-tree", *([parent] if parent else ["--empty"]), env=env)
        for path, content in files.items():
            self.git("update-index", "--add", "--cacheinfo", f"100644,{self.blob(content)},{path}", env=env)
        return self.git("write-tree", env=env)

    def commit(self, files: dict[str, bytes], message: str = "change", parents: tuple[str, ...] | None = None) -> str:
        parents = (self.base,) if parents is None else parents
        tree = self.tree(files, parents[0] if parents else None)
        return self.git("commit-tree", tree, *(f for p in parents for f in ("-p", p)), "-m", message)

    def tag(self, target: str, message: str, name: str = "t") -> str:
        """An annotated tag object of `target` (of any type), on no ref."""
        kind = self.git("cat-file", "-t", target)
        body = f"object {target}\ntype {kind}\ntag {name}\ntagger t <t@t> 0 +0000\n\n{message}\n"
        return self.git("hash-object", "-t", "tag", "-w", "--stdin", stdin=body.encode())


@pytest.fixture
def repo(tmp_path: Path) -> Scratch:
    return Scratch(tmp_path)
