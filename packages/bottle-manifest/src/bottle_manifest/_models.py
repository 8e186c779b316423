"""The manifest's shape, as one file on disk declares it. Key spellings follow the seed."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Discriminator, Field, Tag, model_validator

from ._fields import (
    AllowHost,
    Cidr,
    EnvName,
    EnvValue,
    Hostname,
    HttpMethod,
    IPAddress,
    KnownHostKey,
    ModelName,
    Name,
    PathPattern,
    RepoPath,
    SkillName,
    UserName,
)
from ._sizes import Cpus, DiskSize, MemorySize, Pids, TmpSize


class _Model(BaseModel):
    # strict: JSON `"22"` is not a port; extra=forbid: a typo is an error, not a silent no-op.
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, populate_by_name=True)


Port = Annotated[int, Field(ge=1, le=65535)]


class _Connection(_Model):
    host: Name = Field(alias="Host", description="Alias used in the agent's ~/.ssh/config and URLs.")
    hostname: Hostname = Field(alias="Hostname", description="The upstream's DNS name or IP address.")
    port: int = Field(22, alias="Port", ge=1, le=65535)
    identity_file: str = Field(
        alias="IdentityFile", min_length=1, description="Path on the host of the private key to grant."
    )
    known_host_key: KnownHostKey = Field(
        alias="KnownHostKey", description="The upstream's pinned host key, as a known_hosts line."
    )
    extra_hosts: dict[Hostname, IPAddress] = Field(
        default_factory=dict,
        alias="ExtraHosts",
        description="hostname -> IP pins written into the gate's /etc/hosts.",
    )


class SshEntry(_Connection):
    """An SSH upstream the agent may reach through the ssh gate."""

    user: UserName | None = Field(None, alias="User")


class GitEntry(_Connection):
    """Repositories on one SSH host, mirrored through the git gate."""

    user: UserName = Field("git", alias="User")
    repos: list[RepoPath] = Field(alias="Repos", min_length=1, description="owner/name paths on this host.")


class Credential(_Model):
    """An env value the agent never sees: it gets a random placeholder of the same length, and
    the egress gate swaps the real value in only on requests to `hosts`."""

    value: EnvValue = Field(description="As a plain env value: literal, '?prompt' or '${HOST_VAR}'.")
    hosts: list[AllowHost] = Field(
        min_length=1, description="The only hosts (or '*.domain') that receive the real value."
    )
    swap_in: list[Literal["headers", "url", "body"]] = Field(
        default_factory=lambda: ["headers"],
        min_length=1,
        description="Where in a request to those hosts the placeholder is swapped for the real value. "
        "Only 'headers' by default: a host that echoes or stores a URL or body (a gist, an issue comment) "
        "would hand the real value back to the agent. Add 'url' or 'body' only for hosts that never do.",
    )


def _env_kind(value: Any) -> str:
    # Tagging by JSON shape gives one error per mistake instead of one per union member.
    return "credential" if isinstance(value, dict | Credential) else "string"


EnvEntry = Annotated[
    Annotated[EnvValue, Tag("string")] | Annotated[Credential, Tag("credential")],
    Discriminator(_env_kind),
]


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


class AllowRule(_Model):
    """An allowlist entry that lets through only some requests to its host: those whose method is
    one of `methods` and whose path matches one of `paths` (a key left out allows any). Several
    entries for one host are alternatives. The gate must see the requests, so not for passthrough."""

    # Either key alone is a rule; neither would be a plain host entry written as an object.
    model_config = ConfigDict(json_schema_extra={"anyOf": [{"required": ["methods"]}, {"required": ["paths"]}]})

    host: AllowHost = Field(description="A host name or '*.domain', as a plain allowlist entry is written.")
    methods: Annotated[list[HttpMethod], AfterValidator(_unique)] = Field(
        default_factory=list,
        min_length=1,
        description="HTTP methods allowed, e.g. ['GET', 'HEAD']; compared case-insensitively. Left out: any.",
    )
    paths: Annotated[list[PathPattern], AfterValidator(_unique)] = Field(
        default_factory=list,
        min_length=1,
        description="Path patterns allowed, e.g. ['/repos/acme/*']: '*' is one whole segment, a final '**' any "
        "rest. Matched against the decoded path without its query, dot segments resolved. Left out: any.",
    )

    @model_validator(mode="after")
    def _restricts(self) -> AllowRule:
        if not self.methods and not self.paths:
            raise ValueError(
                f"give 'methods', 'paths' or both; to allow every request to {self.host}, write just {self.host!r}"
            )
        return self


def _allow_kind(value: Any) -> str:
    # By JSON shape, as for env entries: one error per mistake, not one per union member.
    return "rule" if isinstance(value, dict | AllowRule) else "host"


AllowEntry = Annotated[
    Annotated[AllowHost, Tag("host")] | Annotated[AllowRule, Tag("rule")],
    Discriminator(_allow_kind),
]


class Egress(_Model):
    allowlist: list[AllowEntry] = Field(
        default_factory=list,
        description="Host names (or '*.domain') added to the built-in defaults; an object {host, methods, paths} "
        "allows only the requests to its host that match it.",
    )
    allow_cidrs: list[Cidr] = Field(
        default_factory=list,
        description="Private, loopback or link-local ranges an allowlisted host may resolve to, and IP "
        "literals the agent may name. Everything else of that kind is refused (SSRF).",
    )
    passthrough: list[AllowHost] = Field(
        default_factory=list,
        description="Allowlisted hosts tunnelled without TLS interception (pinned or mTLS clients): "
        "allowlist and SNI checks only, no secret scanning.",
    )
    mode: Literal["enforce", "report"] = Field(
        "enforce",
        description="'report' lets through and logs what 'enforce' would block, to build an allowlist.",
    )
    ports: dict[AllowHost, list[Port]] = Field(
        default_factory=dict,
        description="Ports besides 80 and 443 that an allowlisted host (or '*.domain') may be reached on. "
        "SSH (22) belongs to the ssh gate: a tunnel carries only TLS or HTTP, never raw TCP.",
    )
    backend: Literal["mitmproxy", "pipelock"] = Field(
        "mitmproxy",
        description="The egress gate's engine. 'pipelock' needs its image named in BOTTLE_PIPELOCK_IMAGE; it has "
        "no credential swap and no method and path rules, so the bottle may declare neither.",
    )

    @property
    def hosts(self) -> list[str]:
        """Every host the allowlist names, plain entries and rules alike, in order."""
        return list(dict.fromkeys(e.host if isinstance(e, AllowRule) else e for e in self.allowlist))

    @property
    def rules(self) -> list[AllowRule]:
        """The method-and-path rules, in order."""
        return [entry for entry in self.allowlist if isinstance(entry, AllowRule)]


class Resources(_Model):
    """Limits on the agent's container; a key left out keeps the launcher's default (see
    docs/manifest.md). Hitting one harms only this bottle."""

    memory: MemorySize | None = Field(
        None, description="Memory, e.g. '4g'. No swap beyond it; /tmp's contents count against it."
    )
    pids: Pids | None = Field(None, description="Processes and threads, e.g. 512.")
    cpus: Cpus | None = Field(None, description="CPU time, in cores, e.g. 2.0; capped at what the engine has.")
    tmp: TmpSize | None = Field(None, description="Size of /tmp, a tmpfs held in memory, e.g. '1g'.")
    disk: DiskSize | None = Field(
        None, description="The writable layer (everything outside /tmp), e.g. '10g', where the engine can limit it."
    )


class Bottle(_Model):
    """What an agent's container is granted: secrets, SSH, git and egress."""

    env: dict[EnvName, EnvEntry] = Field(
        default_factory=dict,
        description="Name -> value. '?text' prompts with hidden input; '${NAME}' reads the host; '$$' is '$'. "
        "An object {value, hosts} is a credential the agent sees only as a placeholder.",
    )
    ssh: list[SshEntry] = Field(default_factory=list)
    git: list[GitEntry] = Field(default_factory=list)
    egress: Egress = Field(default_factory=Egress)
    resources: Resources = Field(default_factory=Resources)


# The pinned Claude Code's permission modes, as its `claude --help` lists them (a test compares).
# The bottle is the sandbox, so an agent may run with the prompts off ("bypassPermissions").
PermissionMode = Literal["manual", "acceptEdits", "auto", "plan", "dontAsk", "bypassPermissions"]


class ClaudeOptions(_Model):
    """How claude runs in this agent's bottles: every claude started there, by the launcher or by
    `bottle-launch exec`, reads these from its user settings."""

    permission_mode: PermissionMode | None = Field(
        None,
        description="claude's --permission-mode: 'bypassPermissions' runs every tool without asking (the bottle "
        "is the sandbox); 'acceptEdits' accepts file edits; 'plan' only plans; 'manual' asks for each tool.",
    )
    model: ModelName | None = Field(None, description="A model alias ('sonnet', 'opus') or a full model id.")


class Agent(_Model):
    """A Claude Code agent and the bottle it runs in."""

    bottle: Name
    skills: list[SkillName] = Field(default_factory=list)
    prompt: str | None = None
    claude: ClaudeOptions = Field(default_factory=ClaudeOptions)
    checkout: list[RepoPath] = Field(
        default_factory=list,
        description="Repositories of the bottle's `git` entries cloned through the git gate into the working "
        "folder before claude starts (each into a folder named after it); with one, claude starts inside it.",
    )
    workspace: str | None = Field(
        None,
        min_length=1,
        description="A git repository on this machine (relative to this manifest's folder) given to the agent "
        "through the git gate: claude starts in a clone of it, and what the agent pushes comes back under "
        "refs/remotes/bottle/<agent>/. `--workspace PATH` does the same for one launch.",
    )
    persist: bool = Field(
        False,
        description="Keep claude's state (sessions, project settings) and the working folder in volumes of this "
        "agent and project, so the next bottle resumes them (`claude --continue`). What one session writes there, "
        "the next one reads. One bottle of the agent at a time.",
    )


class ManifestFile(_Model):
    """One `claude-bottle.json`."""

    model_config = ConfigDict(title="claude-bottle manifest")

    schema_: str | None = Field(None, alias="$schema")
    bottles: dict[Name, Bottle] = Field(default_factory=dict)
    agents: dict[Name, Agent] = Field(default_factory=dict)
