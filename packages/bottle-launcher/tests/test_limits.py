"""Resource limits: the defaults, a manifest's `resources` over them, what the engine can apply,
and how they reach the engine (create_host_config) and the user (preflight, plan --json)."""

from __future__ import annotations

import dataclasses
import io
import json
from pathlib import Path

import bottle_manifest as bm
import docker.errors
import pytest
from bottle_launcher import preflight
from bottle_launcher.plan import LaunchOptions, Plan, build_plan, build_runtime_plan, describe
from bottle_launcher.plan._resources import (
    AGENT,
    CPU_HEADROOM,
    GATES,
    EngineLimits,
    Limits,
    agent_limits,
    bottle_limits,
    fit,
)
from bottle_launcher.runtime.docker import DockerBackend
from bottle_launcher.runtime.docker._engine import gvisor_overlay_note, limit_options
from bottle_manifest._sizes import MIN_CPUS, MIN_MEMORY, MIN_PIDS
from rich.console import Console

GiB = 1 << 30
MiB = 1 << 20
KEY = "gitea.example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBciZoELc2LK1yk7EfOI5C31dP5Wa2s+Nq9gA4f/kEiA"
TWO_CORES = EngineLimits(cpus=2, disk=True, disk_note="overlay2 over xfs with pquota")


def plan_of(tmp_path: Path, bottle: dict) -> Plan:
    path = tmp_path / "claude-bottle.json"
    path.write_text(json.dumps({"bottles": {"b": bottle}, "agents": {"a": {"bottle": "b"}}}))
    return build_plan(bm.load(path, home=tmp_path).agent("a"))


def ssh_and_git() -> dict:
    entry = {"Host": "gitea", "Hostname": "gitea.example.com", "IdentityFile": "/k", "KnownHostKey": KEY}
    return {"ssh": [entry], "git": [{**entry, "Host": "forge", "Repos": ["o/r"]}]}


def test_every_default_can_start_a_bottle_and_swap_is_never_extra():
    for limits in (AGENT, *GATES.values()):
        assert limits.memory >= MIN_MEMORY and limits.pids >= MIN_PIDS and limits.cpus >= MIN_CPUS
        options = limit_options(limits)
        assert options["memswap_limit"] == options["mem_limit"] == limits.memory
    assert AGENT.tmp is not None and AGENT.tmp < AGENT.memory
    # several bottles at their caps still fit a 24 GiB machine, with room for the host
    whole_bottle = AGENT.memory + sum(g.memory for g in GATES.values())
    assert 3 * whole_bottle < 24 * GiB


def test_without_resources_the_agent_gets_the_defaults(tmp_path):
    plan = plan_of(tmp_path, {})
    assert plan.resources == AGENT and plan.resources_set == ()


def test_the_manifest_overrides_each_key_it_sets(tmp_path):
    plan = plan_of(tmp_path, {"resources": {"memory": "8g", "pids": 1024, "cpus": 1.5, "tmp": "2g", "disk": "20g"}})
    assert plan.resources == Limits(8 * GiB, 1024, 1.5, AGENT.cpu_shares, 2 * GiB, 20 * GiB)
    assert plan.resources_set == ("memory", "pids", "cpus", "tmp", "disk")


def test_a_smaller_memory_brings_the_default_tmp_down_with_it():
    assert agent_limits(bm.Resources(memory="512m")).tmp == 128 * MiB
    assert agent_limits(bm.Resources(memory="64g")).tmp == AGENT.tmp  # never above the default
    assert agent_limits(bm.Resources(memory="512m", tmp="300m")).tmp == 300 * MiB


def test_a_default_cpu_quota_leaves_the_engine_half_a_core_and_an_explicit_one_only_what_it_has():
    assert fit(AGENT, EngineLimits(cpus=2)).cpus == 2 - CPU_HEADROOM
    assert fit(AGENT, EngineLimits(cpus=16)).cpus == AGENT.cpus
    assert fit(AGENT, EngineLimits(cpus=1)).cpus == 1.0
    assert fit(dataclasses.replace(AGENT, cpus=4.0), EngineLimits(cpus=2), explicit_cpus=True).cpus == 2.0
    assert fit(AGENT, EngineLimits(cpus=0)).cpus == AGENT.cpus  # unknown engine: nothing capped


def test_an_engine_without_cpu_quota_or_disk_quota_gets_neither():
    fitted = fit(AGENT, EngineLimits(cpus=2, cpu=False, disk=False))
    assert fitted.cpus == 0 and fitted.disk is None
    assert "nano_cpus" not in limit_options(fitted) and "storage_opt" not in limit_options(fitted)
    assert fit(AGENT, TWO_CORES).disk == AGENT.disk


def test_the_explicit_cpus_of_the_agent_do_not_lift_the_gates_headroom(tmp_path):
    plan = plan_of(tmp_path, {"resources": {"cpus": 2}, **ssh_and_git()})
    limits = bottle_limits(plan, TWO_CORES)
    assert list(limits) == ["agent", "egress", "ssh", "git"]
    assert limits["agent"].cpus == 2.0
    assert (limits["egress"].cpus, limits["ssh"].cpus, limits["git"].cpus) == (1.0, 1.0, 2 - CPU_HEADROOM)


def test_the_runtime_plan_limits_every_container_and_gives_the_agent_a_sized_tmp(tmp_path):
    plan = plan_of(tmp_path, ssh_and_git())
    runtime = build_runtime_plan(plan, LaunchOptions(bottle_id="x", engine=TWO_CORES))
    agent = runtime.agent
    assert agent.limits == dataclasses.replace(AGENT, cpus=2 - CPU_HEADROOM)
    assert agent.tmpfs["/tmp"] == f"rw,exec,nosuid,nodev,mode=1777,size={GiB}"
    assert agent.tmpfs["/run/bottle"].startswith("uid=1000")  # the handover tmpfs is still there
    for sidecar in runtime.sidecars:
        assert sidecar.limits == fit(GATES[sidecar.role], TWO_CORES)
        assert "/tmp" not in sidecar.tmpfs


def test_host_config_options_cap_memory_swap_pids_cpu_and_disk():
    options = limit_options(fit(AGENT, TWO_CORES))
    assert options == {
        "mem_limit": 4 * GiB,
        "memswap_limit": 4 * GiB,
        "pids_limit": 512,
        "nano_cpus": 1_000_000_000,
        "cpu_shares": 256,
        "storage_opt": {"size": str(10 * GiB)},
    }
    assert limit_options(None) == {}


def test_plan_json_shows_each_containers_limits(tmp_path):
    plan = plan_of(tmp_path, {"resources": {"memory": "2g"}, **ssh_and_git()})
    resources = describe(plan)["resources"]
    assert resources["set"] == ["memory"]
    assert resources["agent"] == {
        "memory": 2 * GiB,
        "swap": 0,
        "pids": 512,
        "cpus": 2.0,
        "cpu_shares": 256,
        "tmp": 512 * MiB,
        "disk": 10 * GiB,
    }
    assert resources["git"] == {"memory": GiB, "swap": 0, "pids": 512, "cpus": 2.0}
    assert set(resources) == {"set", "agent", "egress", "ssh", "git"}


def render(plan: Plan, engine: EngineLimits) -> str:
    out = io.StringIO()
    preflight.render(
        plan, image="img", runtime="runsc", command=("claude",), console=Console(file=out, width=200), engine=engine
    )
    return out.getvalue()


def test_the_preflight_shows_the_limits_as_the_engine_applies_them(tmp_path):
    text = render(plan_of(tmp_path, {}), TWO_CORES)
    assert "memory 4g (no swap), 512 processes, 1 CPU, /tmp 1g" in text
    assert "10g  (overlay2 over xfs with pquota)" in text
    assert "egress: memory 512m (no swap), 256 processes, 1 CPU" in text


def test_the_preflight_says_when_the_writable_layer_is_unlimited_and_what_the_engine_ignores(tmp_path):
    note = "the engine keeps containers on overlay2 over ext4; only overlay2 over xfs with pquota can cap them"
    text = render(plan_of(tmp_path, {}), EngineLimits(cpus=2, swap=False, pids=False, disk_note=note))
    assert f"unlimited: the writable layer is not capped; {note}" in text
    assert "not enforced by this engine: swap, pids" in text


class FakeAPI:
    def __init__(self, refuse: bool) -> None:
        self.refuse = refuse
        self.created: list[dict] = []
        self.removed: list[str] = []

    def create_host_config(self, **kw):
        return kw

    def create_container(self, image, **kw):
        if self.refuse:
            raise docker.errors.APIError("refused", explanation="--storage-opt is supported only for overlay over xfs")
        self.created.append(kw)
        return {"Id": "probe"}

    def remove_container(self, container, force=False):
        self.removed.append(container)


class FakeClient:
    def __init__(self, info: dict, refuse: bool = False) -> None:
        self._info = info
        self.api = FakeAPI(refuse)

    def info(self):
        return self._info


def backend_with(info: dict, refuse: bool = False) -> DockerBackend:
    backend = DockerBackend(client=FakeClient(info, refuse))  # type: ignore[arg-type]
    backend._tags["agent"] = "agent:tag"
    return backend


def overlay(fs: str) -> dict:
    return {"NCPU": 2, "Driver": "overlay2", "DriverStatus": [["Backing Filesystem", fs], ["Supports d_type", "true"]]}


def test_overlay2_over_ext4_cannot_cap_a_writable_layer_and_nothing_is_created():
    backend = backend_with(overlay("extfs"))
    engine = backend.engine_limits(None)
    assert engine.disk is False and engine.cpus == 2
    assert "overlay2 over extfs" in engine.disk_note
    assert backend.api.created == []


def test_overlay2_over_xfs_is_asked_with_a_probe_that_is_removed():
    backend = backend_with(overlay("xfs"))
    engine = backend.engine_limits(None)
    assert engine.disk is True
    assert backend.api.created[0]["host_config"] == {"storage_opt": {"size": str(AGENT.disk)}}
    assert backend.api.removed == ["probe"]


def test_xfs_without_pquota_is_refused_by_the_engine_and_said_so():
    engine = backend_with(overlay("xfs"), refuse=True).engine_limits(None)
    assert engine.disk is False
    assert "without pquota" in engine.disk_note and "--storage-opt is supported only" in engine.disk_note


def test_an_engine_without_cgroup_controllers_is_noticed():
    info = {**overlay("extfs"), "MemoryLimit": True, "SwapLimit": False, "PidsLimit": False, "CpuCfsQuota": False}
    engine = backend_with(info).engine_limits(None)
    assert engine.unenforced() == ["swap", "pids", "cpus"]
    assert fit(AGENT, engine).cpus == 0


@pytest.mark.parametrize(
    ("args", "says"),
    [
        ([], "--overlay2=root:self, runsc's default"),
        (["--overlay2=root:memory"], "held in memory: the memory limit caps them"),
        (["--overlay2=none"], "writes through to the writable layer"),
        (["--overlay2=root:/var/tmp"], "a file in /var/tmp"),
    ],
)
def test_under_gvisor_the_preflight_says_where_the_root_filesystems_writes_go(args, says):
    info = {"Runtimes": {"runsc": {"path": "/usr/bin/runsc", "runtimeArgs": ["--network=host", *args]}}}
    assert says in gvisor_overlay_note(info, "runsc")
    assert gvisor_overlay_note(info, None) == ""
    assert says in backend_with({**overlay("extfs"), **info}).engine_limits("runsc").disk_note
