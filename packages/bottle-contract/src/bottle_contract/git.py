"""The git gate (images/git-gate): where it listens, who it runs as, where its mirrors and the
local workspace's mirror arrives, and the config document the launcher writes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Self

from ._json import ContractError, dump, load_object, strings

HOST = "git-gate"  # the agent's name for it
PORT = 9418
UID = 997
CONFIG_DIR = "/etc/git-gate"
CONFIG_PATH = f"{CONFIG_DIR}/config.json"
KNOWN_HOSTS_PATH = f"{CONFIG_DIR}/known_hosts"  # the upstreams' pinned keys, by key alias
HANDOVER_DIR = "/run/git-gate"  # tmpfs: the upstream identities arrive here at launch
IDENTITY_SUBDIR = "ssh"  # under HANDOVER_DIR: one key per upstream, named by its manifest alias
BASE_PATH = "/srv/git"  # git daemon's --base-path: one bare mirror per declared repository
IMPORT_DIR = "/srv/import"  # the launcher puts a local workspace's mirror here before the gate starts
# A tar of a bare repository's HEAD, refs, packed-refs and objects: the workspace's mirror, made by
# the launcher (native git) so the gate need not index its objects again under gVisor.
WORKSPACE_MIRROR = "workspace-mirror.tar"
MIRROR_MEMBERS = ("packed-refs", "refs", "objects")  # all the gate unpacks of it; it sets HEAD itself
PUSH_REFS = ("refs/heads/*", "refs/tags/*")  # what a push may touch, the mirror fetches back, a forge shows
MiB = 1 << 20


@dataclass(frozen=True)
class ScanBudget:
    """How much one push may add before the gate refuses it unscanned (fail closed)."""

    max_bytes: int = 256 * MiB  # the new objects' sizes, summed: what gitleaks would read
    max_objects: int = 200_000
    seconds: float = 120  # from the lock to the verdict: listing, reading, gitleaks, attribution


@dataclass(frozen=True)
class Remote:
    host: str  # the manifest's alias; names the identity file
    hostname: str
    port: int
    user: str
    key_alias: str  # the name the pinned key is filed under in KNOWN_HOSTS_PATH
    repos: tuple[str, ...]

    def url(self, repo: str) -> str:
        return f"ssh://{self.user}@{self.hostname}:{self.port}/{repo}.git"

    def identity(self) -> str:
        return f"{HANDOVER_DIR}/{IDENTITY_SUBDIR}/{self.host}"


@dataclass(frozen=True)
class Workspace:
    """A repository from the user's machine, served as one more mirror without an upstream: a
    scanned push lands in the mirror, and the launcher fetches it back from there."""

    repo: str  # the mirror's path under BASE_PATH, e.g. "workspace/my-project"
    archive: str = f"{IMPORT_DIR}/{WORKSPACE_MIRROR}"
    head: str = "refs/heads/main"  # the branch the user had checked out (with --with-changes, the
    # changes are its tip already)


@dataclass(frozen=True)
class GitConfig:
    """/etc/git-gate/config.json. Public: the identities are handed over, never written here."""

    bottle: str
    remotes: tuple[Remote, ...]
    port: int = PORT
    push_refs: tuple[str, ...] = PUSH_REFS  # shell-style patterns
    scan_budget: ScanBudget = field(default_factory=ScanBudget)
    workspace: Workspace | None = None

    def to_json(self) -> bytes:
        budget = self.scan_budget
        document: dict[str, object] = {
            "bottle": self.bottle,
            "port": self.port,
            "remotes": [
                {
                    "host": r.host,
                    "hostname": r.hostname,
                    "port": r.port,
                    "user": r.user,
                    "key_alias": r.key_alias,
                    "repos": list(r.repos),
                }
                for r in self.remotes
            ],
            "push_refs": list(self.push_refs),
            "scan_budget": {
                "max_bytes": budget.max_bytes,
                "max_objects": budget.max_objects,
                "seconds": budget.seconds,
            },
        }
        if self.workspace is not None:
            w = self.workspace
            document["workspace"] = {"repo": w.repo, "archive": w.archive, "head": w.head}
        return dump(document)

    @classmethod
    def from_json(cls, data: bytes | str) -> Self:
        keys = frozenset({"bottle", "port", "remotes", "push_refs", "scan_budget", "workspace"})
        raw = load_object(data, "the git gate's config", keys)
        try:
            budget = raw.get("scan_budget", {})
            if not isinstance(budget, dict):
                raise ContractError("scan_budget must be an object")
            workspace = raw.get("workspace")
            return cls(
                bottle=str(raw.get("bottle", "")),
                port=int(raw.get("port", PORT)),
                remotes=tuple(
                    Remote(
                        host=str(r["host"]),
                        hostname=str(r["hostname"]),
                        port=int(r["port"]),
                        user=str(r["user"]),
                        key_alias=str(r["key_alias"]),
                        repos=strings(r["repos"], "repos"),
                    )
                    for r in raw["remotes"]
                ),
                push_refs=strings(raw.get("push_refs", list(PUSH_REFS)), "push_refs"),
                scan_budget=ScanBudget(
                    max_bytes=int(budget.get("max_bytes", ScanBudget.max_bytes)),
                    max_objects=int(budget.get("max_objects", ScanBudget.max_objects)),
                    seconds=float(budget.get("seconds", ScanBudget.seconds)),
                ),
                workspace=Workspace(str(workspace["repo"]), str(workspace["archive"]), str(workspace["head"]))
                if workspace
                else None,
            )
        except ContractError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ContractError(f"the git gate's config: {exc!r}") from None
