"""The config the launcher writes into the sidecar (/etc/git-gate/config.json)."""

from __future__ import annotations

import json
import os
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from ._budget import ScanBudget

DEFAULT_PATH = "/etc/git-gate/config.json"
BASE_PATH = "/srv/git"  # git daemon's --base-path: one bare mirror per declared repo
KNOWN_HOSTS = "/etc/git-gate/known_hosts"
HANDOVER_DIR = "/run/git-gate"  # tmpfs: the upstream identities arrive here at launch
PUSH_REFS = ("refs/heads/*", "refs/tags/*")  # what the mirror fetches back, and a forge shows


IMPORT_DIR = "/srv/import"  # the launcher puts a local workspace's bundle here before the gate starts


class ConfigError(Exception):
    pass


@dataclass(frozen=True)
class Workspace:
    """A repository from the user's machine, served as one more mirror. It has no upstream: a
    scanned push lands in the mirror itself, and the launcher fetches it back from there."""

    repo: str  # the mirror's path under BASE_PATH, e.g. "workspace/my-project"
    bundle: str  # the bundle to fill it from (under IMPORT_DIR)
    head: str  # the branch the user had checked out, e.g. "refs/heads/main"
    changes_ref: str | None = None  # in the bundle: the uncommitted changes as a commit on `head`


@dataclass(frozen=True)
class Remote:
    host: str  # the manifest's alias; names the identity file
    hostname: str
    port: int
    user: str
    key_alias: str  # the name the pinned key is filed under in KNOWN_HOSTS
    repos: tuple[str, ...]

    def url(self, repo: str) -> str:
        return f"ssh://{self.user}@{self.hostname}:{self.port}/{repo}.git"

    def ssh_command(self) -> str:
        identity = f"{HANDOVER_DIR}/ssh/{self.host}"
        options = [
            "-i", identity,
            "-o", "IdentitiesOnly=yes",
            "-o", "BatchMode=yes",
            "-o", "ConnectTimeout=10",
            "-o", "StrictHostKeyChecking=yes",
            "-o", f"UserKnownHostsFile={KNOWN_HOSTS}",
            "-o", "GlobalKnownHostsFile=/dev/null",
            "-o", f"HostKeyAlias={self.key_alias}",
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
class GateConfig:
    bottle: str
    port: int
    remotes: tuple[Remote, ...]
    push_refs: tuple[str, ...] = PUSH_REFS  # shell-style patterns of the refs a push may touch
    scan_budget: ScanBudget = field(default_factory=ScanBudget)
    workspace: Workspace | None = None

    def repo_dir(self, repo: str) -> Path:
        return Path(BASE_PATH) / f"{repo}.git"

    @classmethod
    def load(cls, path: str | os.PathLike[str] | None = None) -> GateConfig:
        where = Path(path or os.environ.get("GIT_GATE_CONFIG", DEFAULT_PATH))
        try:
            data = json.loads(where.read_text())
            remotes = tuple(
                Remote(
                    host=str(r["host"]),
                    hostname=str(r["hostname"]),
                    port=int(r["port"]),
                    user=str(r["user"]),
                    key_alias=str(r["key_alias"]),
                    repos=tuple(str(p) for p in r["repos"]),
                )
                for r in data["remotes"]
            )
            workspace = data.get("workspace")
            budget = data.get("scan_budget", {})
            push_refs = data.get("push_refs", PUSH_REFS)
            if isinstance(push_refs, str) or not isinstance(budget, dict):
                raise TypeError("push_refs must be a list of patterns and scan_budget an object")
            return cls(
                bottle=str(data.get("bottle", "")),
                port=int(data.get("port", 9418)),
                remotes=remotes,
                push_refs=tuple(str(p) for p in push_refs),
                scan_budget=ScanBudget(
                    max_bytes=int(budget.get("max_bytes", ScanBudget.max_bytes)),
                    max_objects=int(budget.get("max_objects", ScanBudget.max_objects)),
                    seconds=float(budget.get("seconds", ScanBudget.seconds)),
                ),
                workspace=Workspace(
                    str(workspace["repo"]),
                    str(workspace["bundle"]),
                    str(workspace["head"]),
                    str(workspace["changes_ref"]) if workspace.get("changes_ref") else None,
                )
                if workspace
                else None,
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
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
