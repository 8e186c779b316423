"""An agent joined with its bottle: what a launcher needs to know, before any value is resolved."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ._defaults import resolved_allowlist
from ._interpolation import variables
from ._models import Agent, AllowRule, Bottle, Credential

EnvSource = Literal["literal", "prompt", "host"]


def env_text(entry: str | Credential) -> str:
    """The declared value of an env entry, plain or credential, before resolution."""
    return entry.value if isinstance(entry, Credential) else entry


def env_source(value: str | Credential) -> EnvSource:
    value = env_text(value)
    if value.startswith("?"):
        return "prompt"
    return "host" if variables(value) else "literal"


@dataclass(frozen=True)
class AgentSpec:
    name: str
    agent: Agent
    agent_source: Path
    bottle_name: str
    bottle: Bottle
    bottle_source: Path

    @property
    def sources(self) -> list[Path]:
        return list(dict.fromkeys([self.bottle_source, self.agent_source]))

    @property
    def egress_allowlist(self) -> list[str]:
        """Built-in defaults plus the bottle's own, deduplicated and sorted."""
        return resolved_allowlist(self.bottle.egress.hosts)

    @property
    def egress_rules(self) -> list[AllowRule]:
        """The allowlist's method-and-path rules, in the manifest's order. A host they name is on
        `egress_allowlist` too; the gate lets through only the requests to it that one matches."""
        return self.bottle.egress.rules

    def env_sources(self) -> dict[str, EnvSource]:
        return {name: env_source(value) for name, value in self.bottle.env.items()}

    def credential_hosts(self) -> dict[str, list[str]]:
        """Env names declared as credentials, each with the only hosts that may receive it."""
        return {name: list(e.hosts) for name, e in self.bottle.env.items() if isinstance(e, Credential)}

    def credential_places(self) -> dict[str, list[str]]:
        """Env names declared as credentials, each with where in a request it is swapped in."""
        return {name: list(e.swap_in) for name, e in self.bottle.env.items() if isinstance(e, Credential)}
