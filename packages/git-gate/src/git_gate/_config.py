"""The config the launcher writes into the sidecar (bottle_contract.git), and what the gate
works out from it: each mirror's folder and upstream, and how ssh reaches an upstream."""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass
from pathlib import Path

from bottle_contract import ContractError
from bottle_contract.git import (
    BASE_PATH,
    CONFIG_PATH,
    HANDOVER_DIR,
    KNOWN_HOSTS_PATH,
    GitConfig,
    Remote,
    Workspace,
)

__all__ = ["ConfigError", "GateConfig", "Remote", "Workspace", "ssh_command"]


class ConfigError(Exception):
    pass


def ssh_command(remote: Remote) -> str:
    options = [
        "-i", remote.identity(),
        "-o", "IdentitiesOnly=yes",
        "-o", "BatchMode=yes",
        "-o", "ConnectTimeout=10",
        "-o", "StrictHostKeyChecking=yes",
        "-o", f"UserKnownHostsFile={KNOWN_HOSTS_PATH}",
        "-o", "GlobalKnownHostsFile=/dev/null",
        "-o", f"HostKeyAlias={remote.key_alias}",
        # One upstream connection, kept a while and shared: a fetch before every agent
        # fetch then costs a round trip, not an SSH handshake.
        "-o", "ControlMaster=auto",
        "-o", f"ControlPath={HANDOVER_DIR}/cm-%C",
        "-o", "ControlPersist=300",
        # A shared connection must notice a dead upstream fast, or every fetch would wait
        # out its whole timeout on it.
        "-o", "ServerAliveInterval=5",
        "-o", "ServerAliveCountMax=2",
    ]  # fmt: skip
    return "ssh " + shlex.join(options)


@dataclass(frozen=True)
class GateConfig(GitConfig):
    def repo_dir(self, repo: str) -> Path:
        return Path(BASE_PATH) / f"{repo}.git"

    @classmethod
    def load(cls, path: str | os.PathLike[str] | None = None) -> GateConfig:
        where = Path(path or os.environ.get("GIT_GATE_CONFIG", CONFIG_PATH))
        try:
            return cls.from_json(where.read_bytes())
        except (OSError, ContractError) as exc:
            raise ConfigError(f"cannot read {where}: {exc}") from None

    def is_workspace(self, repo_dir: Path) -> bool:
        return self.workspace is not None and self.repo_dir(self.workspace.repo).resolve() == repo_dir.resolve()

    def remote_for(self, repo_dir: Path) -> tuple[Remote, str]:
        """The remote and repo path a mirror directory belongs to."""
        for remote in self.remotes:
            for repo in remote.repos:
                if self.repo_dir(repo).resolve() == repo_dir.resolve():
                    return remote, repo
        raise ConfigError(f"{repo_dir} is not a declared repository")
