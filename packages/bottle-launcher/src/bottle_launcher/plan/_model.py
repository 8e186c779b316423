"""What a launch would do, as plain data. Holds names and sources, never secret values."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class EnvVar:
    name: str
    source: str  # "literal" | "prompt" | "host"


@dataclass(frozen=True)
class SshRemote:
    host: str
    hostname: str
    port: int
    user: str | None


@dataclass(frozen=True)
class GitRemote:
    host: str
    hostname: str
    port: int
    user: str
    repos: tuple[str, ...]


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
    extra: dict[str, object] = field(default_factory=dict)
