"""The rescue folder on the host: what was saved of each repository, and a README saying how to
get it back. Only data comes out of the bottle (a bundle, a patch, a commit id); nothing in it
runs on the host."""

from __future__ import annotations

import io
import os
import re
import tarfile
from datetime import datetime
from pathlib import Path

from ._report import RepoLoss

# What a repository's tar may hold: the names SAVE writes, nothing else (no links, no folders).
SAVED_NAMES = frozenset({"commits.bundle", "bundle-kind", "bundle.log", "changes.patch", "base", "patch.log"})


def rescue_root() -> Path:
    data = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data) / "claude-bottle" / "rescued"


def rescue_folder(agent: str, bottle_id: str, now: datetime | None = None) -> Path:
    stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
    return rescue_root() / agent / f"{stamp}-{bottle_id}"


def folder_name(path: str) -> str:
    """A repository's folder in the rescue folder: its relative path, flattened and tamed."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", path.replace("/", "--")).strip("-.")
    return name or "workdir"


def unpack(archive: bytes, into: Path) -> list[str]:
    """Write the expected regular files of one repository's tar into `into`; the names written."""
    into.mkdir(parents=True, exist_ok=True)
    written = []
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        for member in tar.getmembers():
            name = member.name.removeprefix("./")
            if not member.isfile() or name not in SAVED_NAMES:
                continue
            source = tar.extractfile(member)
            if source is None:
                continue
            (into / name).write_bytes(source.read())
            written.append(name)
    return written


def readme(agent: str, bottle_id: str, folder: Path, saved: dict[str, RepoLoss], failed: dict[str, str]) -> str:
    lines = [
        f"# Work rescued from bottle {bottle_id} (agent {agent})",
        "",
        "What the agent had not pushed when its bottle was removed, one folder per repository of",
        "its working folder (/home/claude/work). Nothing here runs anything: a bundle is a file of",
        "git objects, a patch is a diff.",
        "",
    ]
    for path, loss in saved.items():
        sub = folder / folder_name(path)
        lines += [f"## {path}", "", f"{loss.describe()}.", ""]
        if (sub / "commits.bundle").exists():
            kind = (sub / "bundle-kind").read_text().strip() if (sub / "bundle-kind").exists() else "full"
            if kind == "full":
                lines += [
                    "`commits.bundle` holds every branch, tag and stash of the repository. A new clone:",
                    "",
                    f"    git clone {sub}/commits.bundle {folder_name(path)}-rescued",
                    "",
                    "Or, in your own clone, fetch its branches beside yours:",
                    "",
                    f"    git fetch {sub}/commits.bundle 'refs/heads/*:refs/remotes/rescued/*'",
                    "",
                ]
            else:
                lines += [
                    "`commits.bundle` holds only the commits upstream did not have (the whole repository",
                    "was too large). Fetch it into a clone of the upstream:",
                    "",
                    f"    git fetch {sub}/commits.bundle 'refs/heads/*:refs/remotes/rescued/*'",
                    "",
                ]
            if loss.stashes:
                lines += [
                    "The newest stash:",
                    "",
                    f"    git fetch {sub}/commits.bundle refs/stash && git stash apply FETCH_HEAD",
                    "",
                ]
        if (sub / "changes.patch").exists():
            base = (sub / "base").read_text().strip() if (sub / "base").exists() else "?"
            lines += [
                "`changes.patch` holds the uncommitted changes, staged or not, and the untracked files",
                f"(binary ones too), against commit {base}. In a checkout of that commit:",
                "",
                f"    git apply {sub}/changes.patch",
                "",
            ]
    if failed:
        lines += ["## Not saved", ""]
        lines += [f"- {path}: {why}" for path, why in failed.items()]
        lines.append("")
    return "\n".join(lines)
