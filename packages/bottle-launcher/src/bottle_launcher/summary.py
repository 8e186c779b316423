"""What the user sees when a bottle ends: the hosts its egress gate refused, each with the rule
and the manifest change that would allow it (read from the gate's JSON decision lines); a gate
that stopped during the session, and an agent killed for its memory. And what the user sees at
once, while the session goes on, when a gate stops (`notice`)."""

from __future__ import annotations

from collections.abc import Iterable

from bottle_contract import events
from bottle_manifest import format_size

from .runtime import HELPER_ROLES, ContainerInfo


def blocked(lines: Iterable[bytes]) -> dict[str, tuple[str, str | None]]:
    """host -> (rule, hint) for every host refused (or, in report mode, that would have been)."""
    found: dict[str, tuple[str, str | None]] = {}
    for line in lines:
        event = events.parse(line)
        if event is not None and event.refused:
            found.setdefault(str(event.get("host", "")), (str(event.get("rule", "")), event.get("hint")))
    return found


def render(found: dict[str, tuple[str, str | None]]) -> str:
    if not found:
        return ""
    lines = ["egress refused during this session:"]
    for host, (rule, hint) in sorted(found.items()):
        lines.append(f"  {host or '(no host)'}  [{rule}]" + (f"  to allow: {hint}" if hint else ""))
    return "\n".join(lines)


# What the agent loses with each gate: fail closed, so the session goes on without it.
GATE_LOSS = {
    "egress": "the agent can no longer reach the network (claude's API included)",
    "ssh": "the agent's ssh connections through it fail",
    "git": "the agent can no longer fetch or push its repositories",
}
_SIGNALS = {137: "killed", 143: "terminated", 134: "aborted", 139: "segmentation fault"}


def reason(info: ContainerInfo) -> str:
    """Why a container is not up: "exit 137: out of memory", "exit 137: killed", "unhealthy"."""
    if info.state == "running" and info.health == "unhealthy":
        return "unhealthy"
    if info.exit_code is None:
        return "out of memory" if info.oom_killed else info.state
    meaning = "out of memory" if info.oom_killed else _SIGNALS.get(info.exit_code, "")
    return f"exit {info.exit_code}: {meaning}" if meaning else f"exit {info.exit_code}"


def gate_down(info: ContainerInfo) -> str:
    """E.g. `the egress gate stopped (exit 137: killed); the agent can no longer reach the network`."""
    verb = "is unhealthy" if info.state == "running" else "stopped"
    loss = GATE_LOSS.get(info.role, f"the agent can no longer use its {info.role} gate")
    return f"the {info.role} gate {verb} ({reason(info)}); {loss}"


def notice(info: ContainerInfo, memory: int | None = None, sandbox: bool = False) -> str:
    """Lines for the user's terminal while the session goes on. The terminal is in raw mode,
    so every line starts and ends with \\r\\n. `sandbox`: the agent runs under gVisor, where
    hitting the memory limit ends the whole sandbox (runtime/docker/_watch.py)."""
    if info.role == "agent":
        limit = f" ({format_size(memory)})" if memory else ""
        if sandbox:
            lines = [
                f"claude-bottle: the agent hit its memory limit{limit}; under gVisor that stops the whole "
                "sandbox, so this session ends"
            ]
        else:
            lines = [f"claude-bottle: the agent hit its memory limit{limit}; the kernel killed a process in it"]
    else:
        lines = [f"claude-bottle: {gate_down(info)}"]
        lines += [f"claude-bottle:   {info.role}: {line}" for line in info.log_tail]
    return "\r\n" + "\r\n".join(lines) + "\r\n"


def ended(states: Iterable[ContainerInfo], *, bottle: str, memory: int | None = None) -> str:
    """What the end of a session says of its containers: each gate that stopped during it, and
    an agent the kernel killed for its memory."""
    lines = []
    for info in sorted(states, key=lambda i: (i.role != "agent", i.role)):
        if info.role == "agent":
            if not info.oom_killed:
                continue
            limit = f"its limit, {format_size(memory)}" if memory else "its limit"
            hint = f"bottles.{bottle}.resources.memory raises {limit}"
            if info.exit_code == 137:
                lines.append(f"the agent ran out of memory and was killed (exit 137: out of memory); {hint}")
            else:
                lines.append(f"a process in the agent ran out of memory and was killed; {hint}")
        elif info.role not in HELPER_ROLES and info.state != "created" and not info.up:
            if info.state == "running":
                lines.append(f"the {info.role} gate was unhealthy when the session ended")
            else:
                lines.append(f"the {info.role} gate stopped during this session ({reason(info)})")
    return "\n".join(lines)
