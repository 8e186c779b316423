"""Resource limits of a bottle's containers: every default in one place, with why, and how a
manifest's `resources` and the engine's abilities change them.

The defaults are sized for a 2-core, 24 GiB machine running several bottles at once: whatever
one bottle does (a memory balloon, a fork bomb, busy loops, a disk fill), the engine, the other
bottles and the host keep working, and only that bottle's session suffers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from bottle_manifest import Resources, format_size

if TYPE_CHECKING:
    from ._model import Plan

MiB = 1 << 20
GiB = 1 << 30


@dataclass(frozen=True)
class Limits:
    """One container's limits. Swap is always set equal to memory (memswap_limit == mem_limit),
    so a container gets no swap beyond its memory: swap would only move the harm to the disk."""

    memory: int  # bytes
    pids: int  # processes and threads
    cpus: float  # cores of CPU time, enforced as a quota (nano_cpus)
    cpu_shares: int | None = None  # relative weight when the CPUs are contended; None: the engine's
    tmp: int | None = None  # bytes of a tmpfs on /tmp (the agent only)
    disk: int | None = None  # bytes of writable layer, where the engine can cap it (storage_opt)
    cpuset: str | None = None  # cores it is pinned to ("1", "2,3"): chosen at start (choose_cpuset)


AGENT = Limits(
    # claude (node) runs in 300-600 MB; builds, test runners and language servers the agent starts
    # need the rest. Limits are caps, not reservations: four bottles at their caps (with their
    # gates) still leave a 24 GiB host room for itself.
    memory=4 * GiB,
    # claude and its tool calls use a few dozen; 512 leaves room for `make -j` and test runners,
    # and stops a fork bomb long before the host's process table notices.
    pids=512,
    # At most two cores, and by default never the engine's last core (CPU_HEADROOM).
    cpus=2.0,
    # A quarter of Docker's default share (1024): when the CPUs are contended, the engine itself
    # and every gate (default weight) are served before a busy agent; agents share equally.
    cpu_shares=256,
    # /tmp is a tmpfs, so it is memory: a quarter of it (at most this), so a full /tmp still
    # leaves claude room. Without it /tmp is the writable layer, i.e. the host's disk.
    tmp=1 * GiB,
    # The writable layer (home, checkouts, node_modules, build output), where the engine can cap it.
    disk=10 * GiB,
)

GATES = {
    # mitmproxy peaks near 100 MB (docs/benchmarks.md); the rest is for large uploads being
    # scanned and for many parallel connections. Its worker threads count as pids.
    "egress": Limits(memory=512 * MiB, pids=256, cpus=1.0),
    # socat: one small process per connection (at most 64 per entry), ~36 MB measured.
    "ssh": Limits(memory=256 * MiB, pids=256, cpus=1.0),
    # git fetch, pack-objects and gitleaks on a large repository; git daemon serves up to 256
    # connections, each a few processes. Two cores (less the headroom): a push waits on gitleaks,
    # which scans in parallel.
    "git": Limits(memory=1 * GiB, pids=512, cpus=2.0),
}
GATE = GATES["egress"]  # a gate of another role (none yet) gets the egress gate's limits

# A default CPU quota never takes the engine's last core, so on a 2-core machine a busy bottle
# leaves the engine and the other bottles (their `exec`, their gates) a whole core. With half a
# core left, another bottle's `exec` took 2.7x its idle time during 8 busy loops (measured).
# An explicit `resources.cpus` is capped only at what the engine has: it refuses more.
CPU_HEADROOM = 1.0

TMP_SHARE = 4  # the default /tmp is at most 1/TMP_SHARE of the memory (see AGENT.tmp)

# Under gVisor a container's processes live inside its sandbox: they are not host processes, and
# the pids limit counts the sandbox's own host threads instead, of which it needs hundreds (445
# measured, holding 1,000 sleeping processes). At 512 the sandbox itself crashed ("WaitPID
# failed: EOF") rather than a fork failing inside it. So there the limit is at least this, and a
# fork bomb is bounded by the memory limit (each process costs the sandbox memory).
SANDBOX_PIDS = 4096

RESOURCE_KEYS = ("memory", "pids", "cpus", "tmp", "disk")


@dataclass(frozen=True)
class EngineLimits:
    """What the engine can enforce, from `docker info` (and, for the disk, from asking it)."""

    cpus: int = 0  # the engine's CPUs (NCPU); 0: unknown, nothing is capped
    memory: bool = True  # MemoryLimit: a memory cgroup
    swap: bool = True  # SwapLimit: memswap_limit is honoured
    pids: bool = True  # PidsLimit
    cpu: bool = True  # CpuCfsQuota: nano_cpus is honoured
    disk: bool = False  # a writable layer can be capped (storage_opt size: overlay2 over xfs with pquota)
    sandbox: bool = False  # containers run under gVisor: their processes are not the host's (SANDBOX_PIDS)
    disk_note: str = "not known before the engine is asked"  # why not (or how), for the preflight and docs

    def unenforced(self) -> list[str]:
        """The limits this engine would silently ignore."""
        names = {"memory": self.memory, "swap": self.swap, "pids": self.pids, "cpus": self.cpu}
        return [name for name, supported in names.items() if not supported]


def agent_limits(requested: Resources) -> Limits:
    """The agent's limits: the manifest's `resources`, and a default for each key it leaves out."""
    memory = requested.memory if requested.memory is not None else AGENT.memory
    tmp = requested.tmp if requested.tmp is not None else min(AGENT.tmp or 0, memory // TMP_SHARE)
    return replace(
        AGENT,
        memory=memory,
        pids=requested.pids if requested.pids is not None else AGENT.pids,
        cpus=requested.cpus if requested.cpus is not None else AGENT.cpus,
        tmp=tmp,
        disk=requested.disk if requested.disk is not None else AGENT.disk,
    )


def fit(limits: Limits, engine: EngineLimits, *, explicit_cpus: bool = False) -> Limits:
    """`limits` as this engine can apply them: CPUs capped at what it has (a default also
    leaves CPU_HEADROOM), none where it has no CPU quota (it would refuse one: cpus 0), and no
    disk limit where it cannot cap a writable layer."""
    cpus = limits.cpus if engine.cpu else 0.0
    if engine.cpus > 0:
        cap = float(engine.cpus)
        if not explicit_cpus and engine.cpus > 1:
            cap -= CPU_HEADROOM
        cpus = min(cpus, cap)
    pids = max(limits.pids, SANDBOX_PIDS) if engine.sandbox else limits.pids
    return replace(limits, cpus=cpus, pids=pids, disk=limits.disk if engine.disk else None)


def bottle_limits(plan: Plan, engine: EngineLimits | None = None) -> dict[str, Limits]:
    """Each container's limits by role, the agent first, then the gates this plan has. Without
    `engine`, as the plan asks for them (nothing capped, the disk limit kept)."""
    roles = ["egress", *(["ssh"] if plan.ssh else []), *(["git"] if plan.git else [])]
    wanted = {"agent": plan.resources, **{role: GATES.get(role, GATE) for role in roles}}
    if engine is None:
        return wanted
    explicit = "cpus" in plan.resources_set
    return {role: fit(limits, engine, explicit_cpus=explicit and role == "agent") for role, limits in wanted.items()}


def tmp_mount(size: int) -> str:
    """Options of the agent's /tmp: everyone may write (1777, as a disk /tmp), programs built
    there may run (`exec`; Docker's tmpfs default is noexec), and no more than `size` bytes."""
    return f"rw,exec,nosuid,nodev,mode=1777,size={size}"


def describe_limits(limits: Limits) -> dict[str, Any]:
    """One container's limits as `plan --json` shows them: sizes in bytes."""
    data: dict[str, Any] = {"memory": limits.memory, "swap": 0, "pids": limits.pids, "cpus": limits.cpus}
    if limits.cpu_shares is not None:
        data["cpu_shares"] = limits.cpu_shares
    if limits.tmp is not None:
        data["tmp"] = limits.tmp
    if limits.disk is not None:
        data["disk"] = limits.disk
    return data


def limits_text(limits: Limits) -> str:
    """One line for the preflight and `plan`: memory 4g (no swap), 512 processes, 1 CPU, /tmp 1g."""
    cpus = f"{limits.cpus:g} CPU{'' if limits.cpus == 1 else 's'}" if limits.cpus else "CPUs not capped"
    parts = [f"memory {format_size(limits.memory)} (no swap)", f"{limits.pids} processes", cpus]
    if limits.tmp is not None:
        parts.append(f"/tmp {format_size(limits.tmp)}")
    return ", ".join(parts)


def choose_cpuset(cpus: float, engine_cpus: int, agents_on: dict[int, int]) -> str | None:
    """The cores an agent is pinned to: the ceiling of its CPU quota, taken from the cores the
    fewest other agents are pinned to (ties: the highest-numbered first, so core 0 stays the
    engine's longest). Under gVisor a sandbox that shares a core with a busy one slows many times
    over (each of its syscalls waits a time slice), so busy bottles are kept apart while there are
    cores enough; beyond that they share. None: nothing to choose (no quota, or every core)."""
    if engine_cpus <= 1 or cpus <= 0:
        return None
    want = math.ceil(cpus)
    if want >= engine_cpus:
        return None
    ranked = sorted(range(engine_cpus), key=lambda core: (agents_on.get(core, 0), -core))
    return ",".join(str(core) for core in sorted(ranked[:want]))


def parse_cpuset(text: str) -> list[int]:
    """Docker's cpuset notation ("0-2,5") as core numbers."""
    cores: list[int] = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        low, _, high = part.partition("-")
        cores.extend(range(int(low), int(high or low) + 1))
    return cores
