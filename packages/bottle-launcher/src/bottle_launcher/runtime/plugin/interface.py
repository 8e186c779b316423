"""What a runtime backend provides. A Kubernetes or remote-engine backend implements the same."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from ...plan import RuntimePlan, Secrets


@dataclass(frozen=True)
class BottleInfo:
    bottle_id: str
    agent: str
    bottle: str
    containers: tuple[tuple[str, str, str], ...]  # (name, role, state)
    networks: tuple[str, ...]
    launcher_host: str
    launcher_pid: int
    detached: bool

    @property
    def agent_state(self) -> str:
        return next((state for _, role, state in self.containers if role == "agent"), "missing")


class RuntimeBackend(Protocol):
    def up(
        self,
        plan: RuntimePlan,
        progress: Callable[[str], None],
        sidecar_secrets: Mapping[str, Secrets] | None = None,
    ) -> None:
        """Create networks, start sidecars (handing each its secrets, by role), create and
        fence the agent, and wait until every sidecar is ready."""

    def hand_over(self, plan: RuntimePlan, secrets: Secrets) -> None:
        """Give the agent its secrets through its tmpfs; this also lets its command start."""

    def attach(self, plan: RuntimePlan, secrets: Secrets) -> int:
        """Connect the user's terminal to the agent, then hand over `secrets` (which lets its
        command start, so no output is missed); return its exit code once it exits."""

    def down(self, bottle_id: str) -> None:
        """Remove every container and network of the bottle; safe to call twice."""

    def list(self) -> list[BottleInfo]: ...

    def exec(self, bottle_id: str, command: list[str], tty: bool = False) -> int:
        """Run `command` in the agent; with `tty`, in a terminal connected to the user's."""
