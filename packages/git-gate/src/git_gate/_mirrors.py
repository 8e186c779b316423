"""The bare mirrors git daemon serves: created, configured and filled from upstream at start."""

from __future__ import annotations

import tarfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bottle_contract.git import MIRROR_MEMBERS
from git import GitCommandError, Repo

from ._config import GateConfig, Remote, Workspace, ssh_command
from ._upstream import UpstreamError, default_branch, refresh

HOOKS_DIR = "/opt/git-gate/hooks"


def prepare(config: GateConfig, hooks_dir: str = HOOKS_DIR) -> None:
    if config.workspace is not None:
        _import(config.repo_dir(config.workspace.repo), config.workspace, hooks_dir)
    jobs: list[tuple[Path, str]] = []
    for remote in config.remotes:
        for repo in remote.repos:
            path = config.repo_dir(repo)
            _configure(path, remote, hooks_dir)
            jobs.append((path, remote.url(repo)))
    with ThreadPoolExecutor(max_workers=max(1, min(8, len(jobs)))) as pool:
        list(pool.map(lambda job: _fill(*job), jobs))


def _fill(path: Path, url: str) -> None:
    head = default_branch(path, url)
    refresh(path, url)
    if head:
        Repo(path).git.symbolic_ref("HEAD", head)


def _import(path: Path, workspace: Workspace, hooks_dir: str) -> None:
    """The user's branches and tags, from the mirror the launcher made of them (its refs and
    packed objects: no indexing here), as a mirror of their own."""
    _configure(path, None, hooks_dir)
    try:
        with tarfile.open(workspace.archive) as archive:
            members = [m for m in archive.getmembers() if m.name.split("/", 1)[0] in MIRROR_MEMBERS]
            # "data": nothing outside the mirror, no devices, no links out, no set-id bits.
            archive.extractall(path, members=members, filter="data")
        repo = Repo(path)
        repo.git.symbolic_ref("HEAD", workspace.head)
        repo.git.rev_parse("--verify", "--quiet", "HEAD^{commit}")
    except (OSError, tarfile.TarError, GitCommandError) as exc:
        raise UpstreamError(f"the workspace mirror could not be read: {exc}") from None


def _configure(path: Path, remote: Remote | None, hooks_dir: str) -> None:
    repo = Repo.init(path, bare=True, mkdir=True)
    with repo.config_writer() as config:
        if remote is not None:
            config.set_value("core", "sshCommand", ssh_command(remote))
        config.set_value("core", "hooksPath", hooks_dir)
        # Force pushes and deletions behave as they would against upstream directly; upstream
        # decides, through the lease, whether each one lands.
        config.set_value("receive", "denyNonFastForwards", "false")
        config.set_value("receive", "denyDeletes", "false")
        config.set_value("receive", "advertisePushOptions", "true")
        config.set_value("gc", "auto", "0")
