"""What a launch would do, as plain data. Holds names and sources, never secret values."""

from __future__ import annotations

from dataclasses import dataclass

from ._resources import AGENT, Limits


@dataclass(frozen=True)
class EnvVar:
    name: str
    source: str  # "literal" | "prompt" | "host"
    credential_hosts: tuple[str, ...] = ()  # a credential: the agent holds a placeholder


@dataclass(frozen=True)
class EgressRule:
    """A method-and-path rule of an allowlist entry: the gate lets through only the requests to
    `host` that match one of its entry's rules. Empty `methods` or `paths`: any."""

    host: str  # a name or *.domain, also on the plan's egress_allowlist
    methods: tuple[str, ...] = ()  # upper-case
    paths: tuple[str, ...] = ()  # patterns: '*' one segment, a final '**' any rest

    @property
    def text(self) -> str:
        """In a person's words, as the plan and the preflight show it: `GET, HEAD to /repos/acme/*`."""
        methods = ", ".join(self.methods) if self.methods else "any method"
        return f"{methods} to {', '.join(self.paths) if self.paths else 'any path'}"


@dataclass(frozen=True)
class SshRemote:
    host: str
    hostname: str
    port: int
    user: str | None
    known_host_key: str = ""  # a known_hosts line; public, so it may be shown and written
    identity_file: str = ""  # a host path; the key itself is read only at launch
    extra_hosts: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class GitRemote:
    host: str
    hostname: str
    port: int
    user: str
    repos: tuple[str, ...]
    known_host_key: str = ""
    identity_file: str = ""
    extra_hosts: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Checkout:
    """A repository cloned through the git gate into the working folder before claude starts."""

    repo: str  # owner/name, as the bottle's git entry serves it
    url: str  # as the agent's own clones spell it (`<Host>:<repo>`), rewritten to the gate
    folder: str  # under the working folder
    # Its clone arrives with the working folder, as an archive made on the host from the bundle the
    # gate serves (a local workspace: local_workspace.clone_archive); nothing is cloned in the bottle.
    archived: bool = False


@dataclass(frozen=True)
class WorkspaceRepo:
    """A repository on the user's machine, served by the git gate as one more mirror."""

    path: str  # its top level, on the host
    name: str  # its folder in the bottle
    head: str  # the branch checked out there, e.g. refs/heads/main
    with_changes: bool = False  # uncommitted changes go along as a commit on top
    submodules: bool = False  # it has some; they do not go along

    @property
    def repo(self) -> str:
        return f"workspace/{self.name}"


@dataclass(frozen=True)
class Plan:
    agent: str
    bottle: str
    sources: tuple[str, ...]
    env: tuple[EnvVar, ...]
    skills: tuple[str, ...]
    prompt: str | None
    ssh: tuple[SshRemote, ...]
    git: tuple[GitRemote, ...]
    egress_allowlist: tuple[str, ...]
    egress_allow_cidrs: tuple[str, ...] = ()
    egress_passthrough: tuple[str, ...] = ()
    egress_mode: str = "enforce"  # or "report": log what would be blocked, block nothing
    egress_backend: str = "mitmproxy"  # or "pipelock", with a user-supplied image
    egress_ports: tuple[tuple[str, tuple[int, ...]], ...] = ()  # host -> ports beyond 80 and 443
    # The allowlist's method-and-path rules, in the manifest's order; each host is on egress_allowlist.
    egress_rules: tuple[EgressRule, ...] = ()
    claude_permission_mode: str | None = None  # claude's own settings for this agent
    claude_model: str | None = None
    resources: Limits = AGENT  # the agent's limits: the manifest's `resources` over the defaults
    resources_set: tuple[str, ...] = ()  # the keys the manifest's `resources` set
    checkouts: tuple[Checkout, ...] = ()
    persist: bool = False  # claude's state and the working folder live in volumes of (agent, project)
    project: str = ""  # the folder of the manifest that declares the agent: names its volumes
    workspace: WorkspaceRepo | None = None  # --workspace, or the agent's `workspace`
    # The manifest file that declares the bottle (absolute): a running bottle's label, where
    # `bottle-launch allow --save` writes a change.
    bottle_source: str = ""
