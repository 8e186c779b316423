"""A bottle that attacks the machine it runs on harms only itself: limits on every container.

Here: the defaults are applied to every container and shown in the preflight; a fill of /tmp
stops at its size while a second bottle's `bottle-launch exec <id> -- true` round trip, measured
idle first, stays within twice its idle figure (medians); the writable layer is capped where the
engine can; a `resources` section raises the limits (the same balloon and fork loop get further).

A memory balloon ends at the limit: under gVisor the kernel's kill lands on the sandbox itself,
which the launcher then ends at once with the reason (it would otherwise hang for minutes); under
runc the kernel kills the process. A fork loop takes no more host processes than the limit.

Busy loops in one bottle spare another bottle's exec: each agent is pinned to the cores the
fewest other agents use (on this 2-core machine, one each), and under gVisor a sandbox that
shares a core with a busy one slows many times over.

Every attack is bounded in count and in time, so it stops by itself even where a limit were
missing.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from bottle_launcher.plan._resources import AGENT, GATES, EngineLimits, fit, limits_text
from bottle_launcher.runtime.docker import DockerBackend, detect_runtime
from e2e_helpers import bottle_launch, launch_detached, launcher_command, leftovers

MiB = 1 << 20
SLOWDOWN = 2.0  # another bottle's exec may take at most twice its idle time during an attack
IDLE_RUNS = 7
BUSY_RUNS = 5
SPAWN_CAP = 1000  # the fork loop's own bound: above the default pids limit, far below pid_max
BALLOON_MIB = 1024  # the balloon's own bound

# Spawn `sleep HOLD` until the count or a failed fork stops the loop (dash does not retry a fork;
# it exits), then say how many, and hold them until they end: the pids stay taken meanwhile.
SPAWN = """i=0
trap 'echo "spawned $i"; wait' EXIT
while [ "$i" -lt {cap} ]; do
  sleep {hold} &
  i=$((i + 1))
done
"""
# Allocate and touch 64 MiB at a time up to `mib`, saying how far it got; killed at the limit.
BALLOON = (
    "const held = []; for (let mib = 64; mib <= {mib}; mib += 64) {{ held.push(Buffer.alloc(64 << 20, 1)); "
    "console.log(`at ${{mib}} MiB`); }} console.log(`allocated ${{held.length * 64}} MiB`);"
)
# Eight busy loops that end when /tmp/stop appears (or after `limit` seconds, whatever happens).
BUSY = (
    "rm -f /tmp/stop; for i in 1 2 3 4 5 6 7 8; do (end=$((SECONDS + {limit})); "
    "while [ ! -e /tmp/stop ] && [ $SECONDS -lt $end ]; do :; done) & done; echo busy; wait"
)
# `command` again and again until /tmp/stop appears or `limit` seconds pass, each run's exit code
# after its output. Every run is bounded itself, so the whole is.
REPEAT = (
    "rm -f /tmp/stop; end=$((SECONDS + {limit})); while [ ! -e /tmp/stop ] && [ $SECONDS -lt $end ]; do "
    '{command}; echo "exit $?"; done'
)
FILL_TMP = "dd if=/dev/zero of=/tmp/fill bs=1M count={mib} 2>&1; echo size $(wc -c < /tmp/fill); rm -f /tmp/fill"


def write_manifest(folder: Path, subnet: str, resources: dict | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    bottle: dict = {"egress": {"allowlist": ["allowed.test"], "allow_cidrs": [subnet]}}
    if resources:
        bottle["resources"] = resources
    path = folder / "claude-bottle.json"
    path.write_text(json.dumps({"bottles": {"e2e": bottle}, "agents": {"tester": {"bottle": "e2e"}}}))
    return path


def start(manifest: Path, network: str) -> tuple[str, str]:
    """A detached bottle: its id, and the preflight it showed."""
    result = launch_detached(manifest, network)
    return result.stdout.strip(), result.stderr


def run_in(bottle_id: str, script: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return bottle_launch("exec", "-T", bottle_id, "--", "bash", "-c", script, timeout=timeout)


def round_trip(bottle_id: str) -> float:
    started = time.monotonic()
    result = bottle_launch("exec", "-T", bottle_id, "--", "true", timeout=120)
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    return elapsed


def median_round_trip(bottle_id: str, runs: int) -> float:
    return statistics.median(round_trip(bottle_id) for _ in range(runs))


class Attack:
    """A script running in a bottle through `bottle-launch exec`, read line by line meanwhile."""

    def __init__(self, bottle_id: str, argv: list[str], timeout: float) -> None:
        self.lines: list[str] = []
        command, env = launcher_command("exec", "-T", bottle_id, "--", *argv)
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        self.deadline = time.monotonic() + timeout
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def wait_for(self, predicate: Callable[[str], bool], timeout: float) -> str | None:
        """The first line `predicate` holds for, or None if the attack ended or time ran out."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = next((line for line in self.lines if predicate(line)), None)
            if found is not None or not self.running:
                return found
            time.sleep(0.05)
        return None

    def join(self) -> int:
        try:
            code = self.process.wait(timeout=max(1.0, self.deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait()
        self.reader.join(timeout=5)
        return code

    def output(self) -> str:
        return "\n".join(self.lines)


def agent_container(client, bottle_id: str):
    return client.containers.get(f"bottle-tester-{bottle_id}-agent")


def assert_not_slowed(idle: float, during: float, what: str) -> None:
    assert during <= SLOWDOWN * idle, (
        f"another bottle's exec took {during:.2f} s (median) during {what}, {during / idle:.1f}x its idle "
        f"{idle:.2f} s; at most {SLOWDOWN:g}x is allowed"
    )


# -- fixtures --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def engine(client) -> EngineLimits:
    return DockerBackend(client).engine_limits(detect_runtime(client))


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("limits")


@pytest.fixture(scope="module")
def victim(images, folder, upstream_network, upstream_subnet) -> Iterator[str]:
    """The bystander: a bottle with the default limits, whose exec is timed."""
    bottle_id, _ = start(write_manifest(folder / "victim", upstream_subnet), upstream_network)
    yield bottle_id
    bottle_launch("stop", bottle_id)


@pytest.fixture(scope="module")
def attacker(images, folder, upstream_network, upstream_subnet) -> Iterator[tuple[str, str]]:
    """The attacker: a bottle with the default limits. Its id and its preflight."""
    bottle_id, preflight = start(write_manifest(folder / "attacker", upstream_subnet), upstream_network)
    yield bottle_id, preflight
    bottle_launch("stop", bottle_id)


@pytest.fixture
def idle(victim, attacker) -> float:
    """The victim's exec round trip with both bottles up and idle (median), measured right before
    each attack: a baseline taken minutes earlier would compare the machine's load then with its
    load now, and a busy CI machine drifts more than the 2x allowed."""
    round_trip(victim)  # the first one warms caches
    return median_round_trip(victim, IDLE_RUNS)


@pytest.fixture
def bottle_with(folder, upstream_network, upstream_subnet, images) -> Iterator[Callable[[dict], str]]:
    """Start a bottle with these `resources`; every one is stopped at the end of the test."""
    started: list[str] = []

    def make(resources: dict) -> str:
        name = "-".join(f"{k}{v}" for k, v in sorted(resources.items()))
        bottle_id, _ = start(write_manifest(folder / name, upstream_subnet, resources), upstream_network)
        started.append(bottle_id)
        return bottle_id

    yield make
    for bottle_id in started:
        bottle_launch("stop", bottle_id)


# -- the limits are there ----------------------------------------------------------------------


def test_every_container_has_the_default_limits_and_the_preflight_shows_them(client, engine, attacker):
    bottle_id, preflight = attacker
    assert engine.unenforced() in ([], ["swap"]), f"this engine ignores limits: {engine.unenforced()}"
    expected = fit(AGENT, engine)
    host = agent_container(client, bottle_id).attrs["HostConfig"]
    assert host["Memory"] == expected.memory
    if engine.swap:
        assert host["MemorySwap"] == expected.memory  # no swap beyond the memory
    assert host["PidsLimit"] == expected.pids
    assert host["NanoCpus"] == round(expected.cpus * 1e9)
    assert host["CpuShares"] == expected.cpu_shares
    assert f"size={expected.tmp}" in host["Tmpfs"]["/tmp"] and "mode=1777" in host["Tmpfs"]["/tmp"]
    assert (host.get("StorageOpt") or {}).get("size") == (str(expected.disk) if engine.disk else None)
    gate = client.containers.get(f"bottle-tester-{bottle_id}-egress").attrs["HostConfig"]
    egress = fit(GATES["egress"], engine)
    assert (gate["Memory"], gate["PidsLimit"]) == (egress.memory, egress.pids)
    # The agent sees a /tmp of that size, writable by everyone.
    df = run_in(bottle_id, "df -k /tmp | tail -1; find /tmp -maxdepth 0 -printf '%m'")
    assert str(expected.tmp // 1024) in df.stdout.split("\n")[0], df.stdout
    assert df.stdout.rstrip().endswith("1777"), df.stdout
    # The preflight said so (rich wraps it at 80 columns without a terminal).
    flat = " ".join(preflight.split())
    assert limits_text(expected) in flat, preflight
    assert ("unlimited" in flat) is (not engine.disk), preflight


# -- CPU -------------------------------------------------------------------------------------


def test_busy_loops_in_one_bottle_spare_another_bottles_exec(client, victim, attacker, idle):
    bottle_id, _ = attacker
    attack = Attack(bottle_id, ["bash", "-c", BUSY.format(limit=90)], timeout=150)
    try:
        assert attack.wait_for(lambda line: line == "busy", timeout=60), attack.output()
        time.sleep(2)  # the loops are all running
        during = median_round_trip(victim, BUSY_RUNS)
        assert attack.running, f"the loops ended before the measurement did:\n{attack.output()}"
    finally:
        run_in(bottle_id, "touch /tmp/stop", timeout=120)
        attack.join()
    # The two agents are pinned to different cores (there are enough of them here).
    cores = {agent_container(client, b).attrs["HostConfig"]["CpusetCpus"] for b in (victim, bottle_id)}
    assert len(cores) == 2, cores
    assert_not_slowed(idle, during, "8 busy loops in another bottle")


# -- memory ----------------------------------------------------------------------------------


def balloon(mib: int) -> list[str]:
    return ["node", "-e", BALLOON.format(mib=mib)]


def test_a_memory_balloon_ends_at_the_limit_says_why_and_spares_another_bottle(client, victim, idle, bottle_with):
    bottle_id = bottle_with({"memory": "1g", "tmp": "128m"})
    started = time.monotonic()
    result = bottle_launch("exec", "-T", bottle_id, "--", *balloon(2 * BALLOON_MIB), timeout=300)
    took = time.monotonic() - started
    reached = [int(line.split()[1]) for line in result.stdout.splitlines() if line.startswith("at ")]
    assert reached and max(reached) <= 1024, result.stdout  # the limit stopped it, not its own bound
    assert "allocated" not in result.stdout
    assert took < 60, f"the exec took {took:.0f} s to end after the balloon hit the limit"
    agent = agent_container(client, bottle_id)
    if agent.attrs["HostConfig"].get("Runtime") == "runsc":
        # gVisor: the kernel's kill lands on the sandbox, which the launcher ends at once and says so.
        assert result.returncode == 1, result.stdout + result.stderr
        assert "the agent hit its memory limit (1g); under gVisor that stops the whole sandbox" in result.stderr
        agent.reload()
        assert (agent.status, agent.attrs["State"]["OOMKilled"]) == ("exited", True)
    else:
        # runc: the kernel kills the process that asked; the bottle goes on.
        assert result.returncode == 137, result.stdout + result.stderr
        assert run_in(bottle_id, "echo still-$((6*7))").stdout.strip() == "still-42"
    assert_not_slowed(idle, median_round_trip(victim, BUSY_RUNS), "just after a memory balloon in another bottle")


def test_a_resources_section_raises_the_memory_limit(bottle_with):
    bottle_id = bottle_with({"memory": "2g"})
    result = bottle_launch("exec", "-T", bottle_id, "--", *balloon(BALLOON_MIB), timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"allocated {BALLOON_MIB} MiB" in result.stdout


# -- disk ------------------------------------------------------------------------------------


def test_filling_tmp_stops_at_its_size_and_spares_another_bottle(client, victim, attacker, idle, engine):
    bottle_id, _ = attacker
    size = fit(AGENT, engine).tmp
    assert size is not None
    mib = size // MiB + 256
    fill = FILL_TMP.format(mib=mib)
    attack = Attack(bottle_id, ["bash", "-c", REPEAT.format(limit=60, command=fill)], timeout=120)
    try:
        assert attack.wait_for(lambda line: line.startswith("size "), timeout=60), attack.output()
        during = median_round_trip(victim, BUSY_RUNS)
        assert attack.running, f"the fills ended before the measurement did:\n{attack.output()}"
    finally:
        run_in(bottle_id, "touch /tmp/stop", timeout=60)
        attack.join()
    output = attack.output()
    assert "No space left on device" in output, output
    sizes = [int(line.split()[1]) for line in attack.lines if line.startswith("size ")]
    assert sizes and max(sizes) <= size, f"/tmp took {max(sizes)} bytes, its size is {size}"
    assert max(sizes) >= size - 64 * MiB, f"/tmp filled only {max(sizes)} of {size}: did it fill at all?"
    assert_not_slowed(idle, during, "a /tmp fill in another bottle")


def test_filling_the_writable_layer_stops_at_its_size_where_the_engine_can_cap_it(engine, attacker, bottle_with):
    _, preflight = attacker
    if not engine.disk:
        # Say so, and do not fill the host's disk to show it.
        assert "unlimited" in " ".join(preflight.split()), preflight
        pytest.skip(f"this engine cannot cap a writable layer: {engine.disk_note}")
    bottle_id = bottle_with({"disk": "1g"})
    script = "dd if=/dev/zero of=$HOME/work/fill bs=1M count=1536 2>&1; echo size $(wc -c < $HOME/work/fill)"
    result = run_in(bottle_id, script, timeout=300)
    assert "No space left on device" in result.stdout, result.stdout + result.stderr
    size = int(result.stdout.split("size ")[1].split()[0])
    assert size <= 1 << 30, f"the writable layer took {size} bytes under a 1g limit"


# -- processes -------------------------------------------------------------------------------


def spawned(attack: Attack) -> int | None:
    line = attack.wait_for(lambda line: line.startswith("spawned "), timeout=90)
    return int(line.split()[1]) if line else None


def test_a_fork_loop_takes_no_more_host_processes_than_its_limit(client, victim, attacker, idle):
    """Under runc the pids limit stops the loop; under gVisor a sandbox's processes are not host
    processes (they live in its sentry), so the loop gets its count while the host sees no more
    than the limit allows. Either way another bottle's exec stays within 2x while they are held."""
    bottle_id, _ = attacker
    attack = Attack(bottle_id, ["sh", "-c", SPAWN.format(cap=SPAWN_CAP, hold=30)], timeout=120)
    try:
        count = spawned(attack)
        assert count is not None, attack.output()
        during = median_round_trip(victim, BUSY_RUNS)
        agent = agent_container(client, bottle_id)
        pids = Path(f"/sys/fs/cgroup/pids/docker/{agent.id}/pids.current")
        limit = agent.attrs["HostConfig"]["PidsLimit"]
        if pids.exists():  # the host's own count for the agent's container (cgroup v1, local engine)
            assert int(pids.read_text()) <= limit
        if agent.attrs["HostConfig"].get("Runtime") != "runsc":
            assert count < limit, attack.output()
        else:  # the sandbox holds them all, and lives: a command still runs in it
            assert count == SPAWN_CAP and run_in(bottle_id, "echo alive-$((6*7))").stdout.strip() == "alive-42"
    finally:
        attack.join()
    assert_not_slowed(idle, during, "a fork loop holding its processes in another bottle")


def test_a_resources_section_raises_the_pids_limit_past_the_default(bottle_with, engine):
    if engine.sandbox:
        pytest.skip("under gVisor the pids limit counts the sandbox's host threads, not the agent's processes")
    bottle_id = bottle_with({"pids": 4096})
    attack = Attack(bottle_id, ["sh", "-c", SPAWN.format(cap=SPAWN_CAP, hold=3)], timeout=120)
    count = spawned(attack)
    attack.join()
    assert count == SPAWN_CAP > AGENT.pids, attack.output()


def test_nothing_is_left_of_the_bottles(client, victim, attacker):
    """Last: stopping removes each bottle whole, whatever the attacks did to it."""
    for bottle_id in (victim, attacker[0]):
        bottle_launch("stop", bottle_id)
        assert leftovers(client, bottle_id) == []
