"""The Docker backend: applies a RuntimePlan to an engine through its API (docker SDK)."""

from __future__ import annotations

import contextlib
import json
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import docker
import docker.errors
import requests.exceptions

from ...errors import LaunchError
from ...images import BuildOptions, ensure_image
from ...plan import LABEL, ContainerSpec, RuntimePlan, Secrets, fence_script
from ...plan._runtime import AGENT_UID
from ..plugin.interface import BottleInfo
from ._archive import archive
from ._attach import attach_tty
from ._handover import encode_env, write_via_exec
from ._pipelock import pipelock_build

READY_TIMEOUT = 30.0
FENCE_TIMEOUT = 30.0


def connect() -> docker.DockerClient:
    try:
        client = docker.from_env(timeout=120)
        client.ping()
    except docker.errors.DockerException as exc:
        raise LaunchError(
            f"cannot reach the Docker engine: {exc}",
            hint="start Docker, or point DOCKER_HOST at a running engine (`bottle-launch doctor` checks)",
        ) from None
    return client


def detect_runtime(client: docker.DockerClient) -> str | None:
    """gVisor when the engine has it registered (named runsc, or a runtime whose path is runsc)."""
    runtimes: dict[str, Any] = client.info().get("Runtimes") or {}
    for name, config in runtimes.items():
        if name == "runsc" or str((config or {}).get("path", "")).endswith("runsc"):
            return name
    return None


def check_runtime(client: docker.DockerClient, runtime: str | None) -> None:
    registered = sorted((client.info().get("Runtimes") or {}).keys())
    if runtime is not None and runtime not in registered:
        raise LaunchError(f"runtime {runtime!r} is not registered with the engine; registered: {', '.join(registered)}")


class DockerBackend:
    def __init__(self, client: docker.DockerClient | None = None, build: BuildOptions | None = None) -> None:
        self.client = client or connect()
        self.api = self.client.api
        self.build = build or BuildOptions.from_env()
        self._tags: dict[str, str] = {}

    # -- images ---------------------------------------------------------------------------
    def image(self, key: str, progress: Callable[[str], None] = lambda _: None) -> str:
        if key not in self._tags:
            options = self.build
            if key == "egress-pipelock":
                options = pipelock_build(self.client, self.build, self.image("egress", progress))
            self._tags[key] = ensure_image(self.client, key, options, progress)
        return self._tags[key]

    # -- lifecycle ------------------------------------------------------------------------
    def up(
        self,
        plan: RuntimePlan,
        progress: Callable[[str], None],
        sidecar_secrets: Mapping[str, Secrets] | None = None,
    ) -> None:
        for key in {c.image for c in (*plan.sidecars, plan.agent)}:
            self.image(key, progress)
        for network in plan.networks:
            if network.external:
                try:
                    self.client.networks.get(network.name)
                except docker.errors.NotFound:
                    raise LaunchError(f"egress network {network.name!r} does not exist") from None
            else:
                self.client.networks.create(
                    network.name,
                    driver="bridge",
                    internal=network.internal,
                    labels=network.labels,
                    check_duplicate=True,
                )
        subnet = self.api.inspect_network(plan.internal_network)["IPAM"]["Config"][0]["Subnet"]
        progress("starting sidecars")
        with ThreadPoolExecutor(max_workers=len(plan.sidecars) + 1) as pool:
            secrets = sidecar_secrets or {}
            ids = list(
                pool.map(lambda spec: self._start_sidecar(spec, plan, subnet, secrets.get(spec.role)), plan.sidecars)
            )
            hosts = {}
            allowed = []
            for spec, container_id in zip(plan.sidecars, ids, strict=True):
                address = self._ip(container_id, spec, plan.internal_network)
                hosts[f"{spec.role}-gate"] = address
                allowed += [(address, port) for port in spec.ports]
            # A sidecar's address exists once it starts; its readiness (mitmproxy takes a second or
            # two) is awaited while the agent is created and fenced. The agent's command cannot
            # run before the handover, which comes only after all of this.
            give_up = threading.Event()  # so an interrupted start is not held up by the waits
            waits = [
                pool.submit(self._wait_ready, cid, spec, give_up) for spec, cid in zip(plan.sidecars, ids, strict=True)
            ]
            try:
                progress("starting agent")
                agent_id = self._create(plan.agent, plan, extra_hosts=hosts)
                self.api.start(agent_id)
                progress("fencing agent network")
                self._fence(plan, agent_id, allowed)
                progress("waiting for sidecars")
                for wait in waits:
                    wait.result()
            finally:
                give_up.set()

    def _create(
        self,
        spec: ContainerSpec,
        plan: RuntimePlan,
        extra_hosts: Mapping[str, str] | None = None,
        environment: Mapping[str, str] | None = None,
    ) -> str:
        host_config = self.api.create_host_config(
            tmpfs=spec.tmpfs or None,
            extra_hosts={**spec.extra_hosts, **(extra_hosts or {})},
            runtime=plan.options.runtime,
            cap_drop=["ALL"],
            security_opt=["no-new-privileges:true"],
        )
        networking = self.api.create_networking_config({spec.networks[0]: self.api.create_endpoint_config()})
        container_id: str = self.api.create_container(
            self.image(spec.image),
            command=list(spec.command) if spec.command else None,
            name=spec.name,
            labels=spec.labels,
            environment={**spec.environment, **(environment or {})},
            user=spec.user,
            tty=spec.tty,
            stdin_open=spec.tty,
            host_config=host_config,
            networking_config=networking,
        )["Id"]
        for network in spec.networks[1:]:
            self.api.connect_container_to_network(container_id, network)
        by_directory: dict[str, list[Any]] = {}
        for file in spec.files:
            by_directory.setdefault(file.directory, []).append(file)
        for directory, files in by_directory.items():
            self.api.put_archive(container_id, directory, archive(files))
        return container_id

    def _start_sidecar(self, spec: ContainerSpec, plan: RuntimePlan, subnet: str, secrets: Secrets | None) -> str:
        container_id = self._create(spec, plan, environment={"BOTTLE_AGENT_SUBNET": subnet})
        self.api.start(container_id)
        if spec.handover:
            self._write_secrets(container_id, spec, secrets or Secrets())
        return container_id

    def _wait_ready(self, container_id: str, spec: ContainerSpec, give_up: threading.Event) -> None:
        if not spec.ready_event:
            return
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline and not give_up.is_set():
            logs: bytes = self.api.logs(container_id, stdout=True, stderr=True)
            if any(_event(line) == spec.ready_event for line in logs.splitlines()):
                return
            if not self.api.inspect_container(container_id)["State"]["Running"]:
                raise self._exited(container_id, spec)
            time.sleep(0.03)
        if not give_up.is_set():
            raise LaunchError(f"sidecar {spec.role} was not ready within {READY_TIMEOUT:.0f} s")

    def _exited(self, container_id: str, spec: ContainerSpec) -> LaunchError:
        logs: bytes = self.api.logs(container_id, stdout=True, stderr=True)
        tail = logs.decode(errors="replace").strip().splitlines()[-15:]
        return LaunchError(f"sidecar {spec.role} exited before it was ready:\n" + "\n".join(tail))

    def _ip(self, container_id: str, spec: ContainerSpec, network: str) -> str:
        inspected = self.api.inspect_container(container_id)
        address = (inspected["NetworkSettings"]["Networks"].get(network) or {}).get("IPAddress")
        if not address:
            # A sidecar that fails at once (an unreachable upstream) has lost its address already.
            if not inspected["State"]["Running"]:
                raise self._exited(container_id, spec)
            raise LaunchError(f"sidecar {spec.role} has no address on {network}")
        return str(address)

    def _fence(self, plan: RuntimePlan, agent_id: str, allowed: list[tuple[str, int]]) -> None:
        host_config = self.api.create_host_config(
            network_mode=f"container:{agent_id}", cap_drop=["ALL"], cap_add=["NET_ADMIN", "NET_RAW"]
        )
        helper = self.api.create_container(
            self.image("egress"),
            entrypoint=["sh", "-c", fence_script(allowed)],
            user="0",
            labels=plan.labels("fence"),
            host_config=host_config,
            name=f"bottle-{plan.plan.agent}-{plan.bottle_id}-fence",
        )["Id"]
        try:
            self.api.start(helper)
            result = self.api.wait(helper, timeout=FENCE_TIMEOUT)
            if result.get("StatusCode") != 0:
                logs = self.api.logs(helper).decode(errors="replace").strip()
                raise LaunchError(f"fencing the agent's network failed:\n{logs}")
        finally:
            self.api.remove_container(helper, force=True)

    def hand_over(self, plan: RuntimePlan, secrets: Secrets) -> None:
        self._write_secrets(plan.agent.name, plan.agent, secrets)

    def _write_secrets(self, container: str, spec: ContainerSpec, secrets: Secrets) -> None:
        assert spec.handover is not None
        for relative, content in secrets.files.items():
            write_via_exec(self.api, container, f"{spec.handover}/{relative}", content, spec.user or "0")
        # The env file goes last: its arrival is what the container's entrypoint waits for.
        write_via_exec(self.api, container, f"{spec.handover}/env", encode_env(secrets.env), spec.user or "0")

    def attach(self, plan: RuntimePlan, secrets: Secrets) -> int:
        attach_tty(self.api, plan.agent.name, lambda: self.hand_over(plan, secrets))
        try:
            return int(self.api.wait(plan.agent.name, timeout=10).get("StatusCode", 1))
        except (docker.errors.APIError, requests.exceptions.RequestException):
            return 1

    def sidecar_log(self, bottle_id: str, role: str) -> list[bytes]:
        """A container's log lines, by role, or none if it is gone."""
        with contextlib.suppress(docker.errors.APIError):
            return list(self.sidecar_log_stream(bottle_id, role, follow=False))
        return []

    def sidecar_log_stream(self, bottle_id: str, role: str, follow: bool) -> Iterator[bytes]:
        """A container's log lines, by role; with `follow`, until it stops."""
        container = next((c for c in self._containers(bottle_id) if c.labels.get(f"{LABEL}.role") == role), None)
        if container is None:
            return
        pending = b""
        for chunk in container.logs(stdout=True, stderr=role == "agent", stream=True, follow=follow):
            pending += chunk
            *lines, pending = pending.split(b"\n")
            yield from (line.rstrip(b"\r") for line in lines)
        if pending:
            yield pending

    # -- inventory and teardown -----------------------------------------------------------
    def _containers(self, bottle_id: str | None = None) -> list[Any]:
        label = f"{LABEL}.id={bottle_id}" if bottle_id else f"{LABEL}.id"
        return self.client.containers.list(all=True, filters={"label": label})

    def _networks(self, bottle_id: str | None = None) -> list[Any]:
        label = f"{LABEL}.id={bottle_id}" if bottle_id else f"{LABEL}.id"
        return self.client.networks.list(filters={"label": label})

    def down(self, bottle_id: str) -> None:
        containers = self._containers(bottle_id)

        def remove(container: Any) -> None:
            with contextlib.suppress(docker.errors.NotFound):
                container.remove(force=True)

        with ThreadPoolExecutor(max_workers=max(1, len(containers))) as pool:
            list(pool.map(remove, containers))
        for network in self._networks(bottle_id):
            with contextlib.suppress(docker.errors.NotFound):
                network.remove()

    def list(self) -> list[BottleInfo]:
        grouped: dict[str, dict[str, Any]] = {}
        for container in self._containers():
            labels = container.labels
            entry = grouped.setdefault(labels[f"{LABEL}.id"], {"labels": labels, "containers": [], "networks": []})
            entry["containers"].append((container.name, labels.get(f"{LABEL}.role", ""), container.status))
        for network in self._networks():
            labels = network.attrs.get("Labels") or {}
            entry = grouped.setdefault(labels[f"{LABEL}.id"], {"labels": labels, "containers": [], "networks": []})
            entry["networks"].append(network.name)
        infos = []
        for bottle_id, entry in sorted(grouped.items()):
            labels = entry["labels"]
            pid = labels.get(f"{LABEL}.launcher-pid", "0")
            infos.append(
                BottleInfo(
                    bottle_id=bottle_id,
                    agent=labels.get(f"{LABEL}.agent", ""),
                    bottle=labels.get(f"{LABEL}.bottle", ""),
                    containers=tuple(sorted(entry["containers"])),
                    networks=tuple(sorted(entry["networks"])),
                    launcher_host=labels.get(f"{LABEL}.launcher-host", ""),
                    launcher_pid=int(pid) if pid.isdigit() else 0,
                    detached=labels.get(f"{LABEL}.detached") == "true",
                )
            )
        return infos

    def exec(self, bottle_id: str, command: list[str]) -> int:
        agents = [c for c in self._containers(bottle_id) if c.labels.get(f"{LABEL}.role") == "agent"]
        if not agents:
            raise LaunchError(f"no running bottle {bottle_id!r}", hint="`bottle-launch ps` lists them")
        exec_id = self.api.exec_create(agents[0].id, ["/usr/local/bin/bottle-exec", *command], user=str(AGENT_UID))[
            "Id"
        ]
        for out, err in self.api.exec_start(exec_id, stream=True, demux=True):
            if out:
                sys.stdout.buffer.write(out)
                sys.stdout.buffer.flush()
            if err:
                sys.stderr.buffer.write(err)
                sys.stderr.buffer.flush()
        code = self.api.exec_inspect(exec_id)["ExitCode"]
        return int(code if code is not None else 1)


def _event(line: bytes) -> object:
    """The "event" of a sidecar's JSON log line, or None for any other line."""
    if not line.startswith(b"{"):
        return None
    try:
        data = json.loads(line)
    except ValueError:
        return None
    return data.get("event") if isinstance(data, dict) else None
