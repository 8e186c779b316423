"""The engine itself: reaching it, its runtimes (gVisor or not), and what it can limit."""

from __future__ import annotations

import contextlib
import ipaddress
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

import docker
import docker.errors
import requests.exceptions

from ...errors import LaunchError
from ...plan import AGENT, LABEL, ContainerSpec, Limits, choose_cpuset, parse_cpuset
from ._endpoint import client_for, find_endpoint


def connect(timeout: int = 120) -> docker.DockerClient:
    endpoint = find_endpoint()
    try:
        client = client_for(endpoint, timeout)
        client.ping()
    except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
        raise LaunchError(
            f"cannot reach the Docker engine at {endpoint.url} (from {endpoint.source}): {exc}",
            hint="start Docker, or point DOCKER_HOST at a running engine (`bottle-launch doctor` checks)",
        ) from None
    return client


def detect_runtime(client: docker.DockerClient) -> str | None:
    """gVisor when the engine has it registered (named runsc, or a runtime whose path is runsc)."""
    info = client.info()
    for name in info.get("Runtimes") or {}:
        if is_gvisor(info, name):
            return str(name)
    return None


def check_runtime(client: docker.DockerClient, runtime: str | None) -> None:
    registered = sorted((client.info().get("Runtimes") or {}).keys())
    if runtime is not None and runtime not in registered:
        raise LaunchError(f"runtime {runtime!r} is not registered with the engine; registered: {', '.join(registered)}")


def limit_options(limits: Limits | None) -> dict[str, Any]:
    """create_host_config arguments for `limits`. Swap equals memory: none beyond it."""
    if limits is None:
        return {}
    options: dict[str, Any] = {"mem_limit": limits.memory, "memswap_limit": limits.memory, "pids_limit": limits.pids}
    if limits.cpus > 0:
        options["nano_cpus"] = round(limits.cpus * 1_000_000_000)
    if limits.cpu_shares is not None:
        options["cpu_shares"] = limits.cpu_shares
    if limits.cpuset is not None:
        options["cpuset_cpus"] = limits.cpuset
    if limits.disk is not None:
        options["storage_opt"] = {"size": str(limits.disk)}
    return options


def gvisor_overlay_note(info: Mapping[str, Any], runtime: str | None) -> str:
    """Where gVisor puts the root filesystem's writes, from its runtimeArgs (--overlay2)."""
    config = (info.get("Runtimes") or {}).get(runtime or "") or {}
    if not (runtime == "runsc" or str(config.get("path", "")).endswith("runsc")):
        return ""
    args = [str(arg) for arg in config.get("runtimeArgs") or []]
    overlay = next((arg.split("=", 1)[1] for arg in args if arg.startswith("--overlay2=")), "root:self")
    medium = overlay.split(":", 1)[1] if ":" in overlay else ""
    if overlay == "none" or not medium:
        return f"under gVisor (--overlay2={overlay}) the root filesystem writes through to the writable layer"
    if medium == "memory":
        return (
            f"under gVisor (--overlay2={overlay}) the root filesystem's writes are held in memory: the memory "
            "limit caps them"
        )
    if medium == "self":
        return (
            f"under gVisor (--overlay2={overlay}, runsc's default) the root filesystem's writes go to a file "
            "gVisor keeps in the container's writable layer, so they count as that layer's"
        )
    return f"under gVisor (--overlay2={overlay}) the root filesystem's writes go to a file in {medium}"


def is_gvisor(info: Mapping[str, Any], runtime: str | None) -> bool:
    """Whether `runtime` is gVisor: named runsc, or a registered runtime whose path is runsc."""
    config = (info.get("Runtimes") or {}).get(runtime or "") or {}
    return runtime == "runsc" or str(config.get("path", "")).endswith("runsc")


def disk_quota(api: Any, info: Mapping[str, Any], agent_image: Callable[[], str]) -> tuple[bool, str]:
    """Whether this engine can cap a writable layer (storage_opt size), and how it keeps them."""
    # Only overlay2 over xfs mounted with pquota takes storage_opt's size for a writable layer
    # alone. `docker info` shows the driver and its filesystem but not the mount option, so a
    # container is created (never started) with a size and removed: the engine's answer.
    driver = str(info.get("Driver") or "an unknown driver")
    status = {str(pair[0]): str(pair[1]) for pair in info.get("DriverStatus") or [] if len(pair) == 2}
    backing = status.get("Backing Filesystem", "")
    where = f"{driver} over {backing}" if backing else driver
    if driver != "overlay2" or backing != "xfs":
        return False, f"the engine keeps containers on {where}; only overlay2 over xfs with pquota can cap them"
    try:
        probe = api.create_container(
            agent_image(),
            command=["true"],
            labels={f"{LABEL}.probe": "storage-opt"},
            host_config=api.create_host_config(storage_opt={"size": str(AGENT.disk)}),
        )["Id"]
    except docker.errors.APIError as exc:
        return False, f"the engine keeps containers on {where} without pquota ({exc.explanation or exc})"
    with contextlib.suppress(docker.errors.APIError):
        api.remove_container(probe, force=True)
    return True, f"the engine keeps containers on {where} with pquota"


def pinned(api: Any, info: Mapping[str, Any], agent: ContainerSpec) -> ContainerSpec:
    """The agent with the cores it is pinned to, away from other bottles' agents while there
    are cores enough (plan/_resources.py choose_cpuset)."""
    limits = agent.limits
    engine_cpus = int(info.get("NCPU") or 0)
    if limits is None or not limits.cpus or engine_cpus <= 1:
        return agent
    agents_on: dict[int, int] = {}
    for summary in api.containers(filters={"label": f"{LABEL}.role=agent", "status": "running"}):
        with contextlib.suppress(docker.errors.NotFound, ValueError):
            cpuset = api.inspect_container(summary["Id"])["HostConfig"].get("CpusetCpus") or ""
            for core in parse_cpuset(cpuset):
                agents_on[core] = agents_on.get(core, 0) + 1
    chosen = choose_cpuset(limits.cpus, engine_cpus, agents_on)
    return replace(agent, limits=replace(limits, cpuset=chosen)) if chosen else agent


def engine_resolvers(client: docker.DockerClient, image: str) -> tuple[str, ...]:
    """The DNS servers the engine's DNS (127.0.0.11 in a container) forwards to: on the default
    bridge network the engine writes them into a container's resolv.conf itself (the host's, or
    its `dns` setting; a loopback one replaced). A gate's fence must let them through."""
    try:
        out = client.containers.run(
            image,
            entrypoint=["cat", "/etc/resolv.conf"],
            network_mode="bridge",
            runtime="runc",
            remove=True,
            labels={f"{LABEL}.role": "probe"},
        )
    except docker.errors.DockerException:
        return ()  # no default bridge (a daemon without one): names then resolve as before, or not
    servers: list[str] = []
    for line in out.decode(errors="replace").splitlines():
        fields = line.split()
        if len(fields) >= 2 and fields[0] == "nameserver":
            with contextlib.suppress(ValueError):
                address = ipaddress.ip_address(fields[1].split("%", 1)[0])
                if not address.is_loopback:
                    servers.append(str(address))
    return tuple(dict.fromkeys(servers))
