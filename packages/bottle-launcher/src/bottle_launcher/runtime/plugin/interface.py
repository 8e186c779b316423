"""What a runtime backend provides. A Kubernetes or remote-engine backend implements the same."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol

from ...plan import EngineLimits, ImageRecipe, RuntimePlan, Secrets
from ...rescue import WorkspaceReader
from ...volumes import PersistedVolume

# Containers a bottle has only for a moment while it starts; they say nothing of its health.
HELPER_ROLES = frozenset({"fence", "rescue"})


@dataclass(frozen=True)
class ContainerInfo:
    """One container of a bottle, as the engine last reported it."""

    name: str
    role: str  # "agent", or a gate: "egress", "ssh", "git"
    state: str  # the engine's: created, running, paused, restarting, exited, dead, removing
    exit_code: int | None = None  # once it has exited
    oom_killed: bool = False  # the kernel killed it for its memory limit
    health: str | None = None  # healthy, unhealthy or starting, where it has a health check
    log_tail: tuple[str, ...] = ()  # its last log lines, where they were asked for

    @property
    def up(self) -> bool:
        return self.state == "running" and self.health != "unhealthy"

    @property
    def status(self) -> str:
        """As `ps` shows it: running, exited(137), exited(137,oom), running(unhealthy)."""
        notes = [str(self.exit_code)] if self.state in ("exited", "dead") and self.exit_code is not None else []
        notes += ["oom"] if self.oom_killed else []
        notes += [self.health] if self.health and self.health != "healthy" else []
        return f"{self.state}({','.join(notes)})" if notes else self.state


def bottle_state(containers: Iterable[ContainerInfo]) -> tuple[str, tuple[str, ...]]:
    """The bottle's state from all of its containers, and the gates that are not up:
    `running` only when every container runs; `degraded` when the agent runs but a gate does not
    (its network, ssh or git is gone: fail closed, but the user must hear of it); `exited` when
    the agent has stopped; `starting` before it runs; `missing` when it is gone."""
    containers = [c for c in containers if c.role not in HELPER_ROLES]
    agent = next((c for c in containers if c.role == "agent"), None)
    down = tuple(sorted(c.role for c in containers if c.role != "agent" and not c.up))
    if agent is None:
        return "missing", down
    if agent.state == "created":
        return "starting", down
    if agent.state in ("paused", "restarting"):
        return agent.state, down
    if agent.state != "running":
        return "exited", down
    return ("degraded" if down else "running"), down


@dataclass(frozen=True)
class BottleInfo:
    bottle_id: str
    agent: str
    bottle: str
    containers: tuple[ContainerInfo, ...]
    networks: tuple[str, ...]
    launcher_host: str
    launcher_pid: int
    detached: bool
    manifest: str = ""  # the manifest file that declares its bottle ("" for one started before the label)
    egress_engine: str = ""  # "mitmproxy" or "pipelock" ("" likewise: a gate that cannot take live changes)

    @property
    def agent_state(self) -> str:
        return next((c.state for c in self.containers if c.role == "agent"), "missing")

    @property
    def state(self) -> str:
        """running, degraded (a gate is down), exited, starting, missing: see bottle_state."""
        return bottle_state(self.containers)[0]

    @property
    def gates_down(self) -> tuple[str, ...]:
        return bottle_state(self.containers)[1]


class RuntimeBackend(Protocol):
    def image(self, key: str, progress: Callable[[str], None] = ..., recipe: ImageRecipe | None = None) -> str:
        """The reference of our image `key` (images/<key>), built first if the engine lacks it."""

    def describe_engine(self) -> str:
        """Which engine bottles start on, where it is, and whether it is local or remote: one line."""
        ...

    def choose_runtime(self, requested: str | None) -> str | None:
        """The container runtime bottles use: `requested`, or gVisor where the engine has it;
        LaunchError if the engine does not have the one requested."""

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

    def attach(self, plan: RuntimePlan, secrets: Secrets, notify: Callable[[ContainerInfo], None] | None = None) -> int:
        """Connect the user's terminal to the agent, then hand over `secrets` (which lets its
        command start, so no output is missed); return its exit code once it exits. Meanwhile
        `notify` hears at once of a gate that stops (or turns unhealthy), and of the agent hitting
        its memory limit."""

    def states(self, bottle_id: str) -> list[ContainerInfo]:
        """Every container of the bottle as it is now, stopped gates with their last log lines."""

    def engine_limits(self, runtime: str | None) -> EngineLimits:
        """What the engine can limit: its CPUs, its cgroup controllers, a writable layer's size."""

    def check_out(self, plan: RuntimePlan) -> None:
        """Clone the plan's checkouts into the agent's working folder, before its command may
        start; raise LaunchError with git's reason if one fails."""

    def workspace(self, bottle_id: str) -> AbstractContextManager[WorkspaceReader | None]:
        """A reader of the bottle's working folder (rescue/), or None if it has none."""

    def workspace_path(self, bottle_id: str) -> str | None:
        """The local repository the bottle's git gate serves as its workspace, if any."""

    def export_workspace(self, bottle_id: str, repo: str, known: list[str]) -> tuple[list[tuple[str, str]], bytes]:
        """The workspace mirror's refs ("<commit>", "<ref>"), and a git bundle of what it has
        beyond the `known` commits (b"": nothing new)."""

    def stop_agent(self, bottle_id: str) -> None:
        """Stop the agent so that its working folder holds still; its gates keep running."""

    def down(self, bottle_id: str) -> None:
        """Remove every container, network and volume of the bottle; safe to call twice."""

    def list(self) -> list[BottleInfo]: ...

    def sidecar_log(self, bottle_id: str, role: str, since: float | None = None) -> list[bytes]:
        """A gate's log lines so far (its event lines among them); from `since` on (Unix time)."""

    def sidecar_log_stream(
        self, bottle_id: str, role: str, follow: bool, since: float | None = None
    ) -> Iterator[bytes]:
        """A container's log lines (role "agent" or a gate), following new ones with `follow`."""

    def egress_config(self, bottle_id: str) -> bytes:
        """The running egress gate's config document (bottle_contract.egress.EgressConfig) as it
        started; LaunchError if the gate is not running."""

    def live_policy(self, bottle_id: str) -> bytes | None:
        """The running egress gate's live policy document (egress.LivePolicy), None before the
        first `bottle-launch allow`/`deny`."""

    def set_live_policy(self, bottle_id: str, document: bytes, serial: int) -> bool:
        """Put `document` in place of the gate's live policy at once (the gate applies it as it
        appears), but only over the one with `serial` (0: none yet): False when another change
        came first, so that two launchers never overwrite each other's change unseen."""

    def persisted_volumes(self) -> list[PersistedVolume]:
        """The volumes agents that persist keep between bottles."""

    def volume_users(self) -> dict[str, list[str]]:
        """Persisted volume name -> the bottles (ids) that have it mounted now."""

    def remove_volume(self, name: str) -> None: ...

    def exec(self, bottle_id: str, command: list[str], tty: bool = False) -> int:
        """Run `command` in the agent; with `tty`, in a terminal connected to the user's."""
