"""The bare mirrors git daemon serves: created, configured and filled from upstream at start."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from git import Repo

from ._config import GateConfig, Remote
from ._upstream import default_branch, refresh

HOOKS_DIR = "/opt/git-gate/hooks"


def prepare(config: GateConfig, hooks_dir: str = HOOKS_DIR) -> None:
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


def _configure(path: Path, remote: Remote, hooks_dir: str) -> None:
    repo = Repo.init(path, bare=True, mkdir=True)
    with repo.config_writer() as config:
        config.set_value("core", "sshCommand", remote.ssh_command())
        config.set_value("core", "hooksPath", hooks_dir)
        # Force pushes and deletions behave as they would against upstream directly; upstream
        # decides, through the lease, whether each one lands.
        config.set_value("receive", "denyNonFastForwards", "false")
        config.set_value("receive", "denyDeletes", "false")
        config.set_value("receive", "advertisePushOptions", "true")
        config.set_value("gc", "auto", "0")
