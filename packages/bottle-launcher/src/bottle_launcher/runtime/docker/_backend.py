"""The Docker backend: applies a RuntimePlan to an engine through its API (docker SDK)."""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from typing import Any

import docker
import docker.errors
import requests.exceptions
from bottle_contract import egress, events
from bottle_contract.agent import UID as AGENT_UID
from bottle_contract.network import SUBNET_VAR
from bottle_manifest import format_size

from ...errors import LaunchError
from ...handover import encode_env
from ...images import BuildOptions, ensure_image
from ...plan import (
    EGRESS_ENGINE_LABEL,
    LABEL,
    MANIFEST_LABEL,
    ContainerSpec,
    EngineLimits,
    ImageRecipe,
    NetworkSpec,
    RuntimePlan,
    Secrets,
    VolumeSpec,
    agent_fence_script,
    checkout_script,
    gate_fence_script,
)
from ...volumes import PersistedVolume, describe
from ..plugin.interface import BottleInfo, ContainerInfo
from ._archive import archive
from ._attach import attach_tty, exec_tty
from ._endpoint import find_endpoint
from ._engine import (
    check_runtime,
    connect,
    detect_runtime,
    disk_quota,
    engine_resolvers,
    gvisor_overlay_note,
    is_gvisor,
    limit_options,
    pinned,
)
from ._handover import Handover
from ._live import read_file, write_live
from ._recipe import recipe_build
from ._seed import seed_volume
from ._volumes import remove_volume, volume_users
from ._watch import GateWatch, container_info, end_wedged_sandbox, log_tail
from ._workspace import Helper, check_out, export_workspace, workspace_path
from ._workspace import helper as workspace_helper

READY_TIMEOUT = 30.0
FENCE_TIMEOUT = 30.0


class DockerBackend:
    def __init__(self, client: docker.DockerClient | None = None, build: BuildOptions | None = None) -> None:
        self.client = client or connect()
        self.api = self.client.api
        self.build = build or BuildOptions.from_env()
        self._tags: dict[str, str] = {}
        # Agents' handover execs opened during `up`, by bottle id, waiting for the secrets.
        self._handovers: dict[str, Handover] = {}
        self._lock = threading.Lock()
        self._resolvers: tuple[str, ...] | None = None  # engine_resolvers, asked once

    # -- images ---------------------------------------------------------------------------
    def image(
        self, key: str, progress: Callable[[str], None] = lambda _: None, recipe: ImageRecipe | None = None
    ) -> str:
        """The tag of our image `key`, built first if needed (on the images its recipe names)."""
        if key not in self._tags:
            options = self.build
            if recipe is not None:
                options = recipe_build(self.client, options, recipe, lambda base: self.image(base, progress))
            self._tags[key] = ensure_image(self.client, key, options, progress)
        return self._tags[key]

    def describe_engine(self) -> str:
        return find_endpoint().describe(self.client.info())

    def choose_runtime(self, requested: str | None) -> str | None:
        runtime = requested or detect_runtime(self.client)
        check_runtime(self.client, runtime)
        return runtime

    # -- lifecycle ------------------------------------------------------------------------
    def up(
        self,
        plan: RuntimePlan,
        progress: Callable[[str], None],
        sidecar_secrets: Mapping[str, Secrets] | None = None,
    ) -> None:
        for spec in (*plan.sidecars, plan.agent):
            self.image(spec.image, progress, spec.recipe)
        progress("starting sidecars")
        secrets = sidecar_secrets or {}
        give_up = threading.Event()  # so an interrupted start is not held up by the waits
        with ThreadPoolExecutor(max_workers=2 * len(plan.sidecars) + 1 + len(plan.volumes)) as pool:
            # A seed unpacks alongside everything else up to the agent's handover: its command
            # cannot run before `up` returns, and nothing in the agent reads the working folder
            # before that (an agent under gVisor sees what the helper wrote there meanwhile: the
            # local-workspace tests run it so). Unpacked into the agent before its start,
            # 10,000 files held the start up by 3.6 s (measured).
            seeded = [pool.submit(self._seed, plan, volume) for volume in self._create_volumes(plan) if volume.seed]
            self._create_networks(plan)
            subnet = self.api.inspect_network(plan.internal_network)["IPAM"]["Config"][0]["Subnet"]
            environment = {SUBNET_VAR: subnet}
            resolvers = pool.submit(self._engine_resolvers)
            started = {
                spec.name: pool.submit(self._start, spec, plan, environment=environment) for spec in plan.sidecars
            }
            # Each sidecar is handed its secrets and awaited (mitmproxy takes a second or so)
            # while the agent is started and fenced. The agent's command cannot run before its
            # own handover, which comes only after all of this.
            ready = [
                pool.submit(
                    self._sidecar_ready, plan, spec, started[spec.name], secrets.get(spec.role), give_up, resolvers
                )
                for spec in plan.sidecars
            ]
            try:
                addresses = self._addresses(plan, started)
                hosts = {spec.hostname: addresses[spec.name] for spec in plan.sidecars if spec.hostname}
                allowed = [(addresses[spec.name], port) for spec in plan.sidecars for port in spec.ports]
                progress("starting agent")
                agent_id = self._start(pinned(self.api, self.client.info(), plan.agent), plan, extra_hosts=hosts)
                pool.submit(self._open_handover, plan, agent_id)
                progress("fencing agent network")
                self._fence(plan, agent_id, "agent", agent_fence_script(allowed))
                progress("waiting for sidecars")
                for wait in (*ready, *seeded):
                    wait.result()
            finally:
                give_up.set()

    def _create_volumes(self, plan: RuntimePlan) -> list[VolumeSpec]:
        """The volumes made now: a persisted one the agent's last bottle left is reused as it is."""
        made = []
        for volume in plan.volumes:
            if volume.persistent:
                try:
                    self.client.volumes.get(volume.name)
                    continue
                except docker.errors.NotFound:
                    pass
            self.client.volumes.create(volume.name, labels=volume.labels)
            made.append(volume)
        return made

    def _seed(self, plan: RuntimePlan, volume: VolumeSpec) -> None:
        image = self.image(plan.agent.image)
        path, user = plan.agent.mounts[volume.name], plan.agent.user or "0"
        seed_volume(self.api, image, f"{volume.name}-seed", plan.labels("seed"), volume.name, path, user, volume.seed)

    def _create_networks(self, plan: RuntimePlan) -> None:
        def create(network: NetworkSpec) -> None:
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

        with ThreadPoolExecutor(max_workers=len(plan.networks)) as pool:
            list(pool.map(create, plan.networks))

    def _start(
        self,
        spec: ContainerSpec,
        plan: RuntimePlan,
        extra_hosts: Mapping[str, str] | None = None,
        environment: Mapping[str, str] | None = None,
    ) -> str:
        """Create the container, put its files in, start it; its id."""
        host_config = self.api.create_host_config(
            tmpfs=spec.tmpfs or None,
            extra_hosts={**spec.extra_hosts, **(extra_hosts or {})},
            runtime=plan.options.runtime,
            cap_drop=["ALL"],
            security_opt=["no-new-privileges:true"],
            binds={name: {"bind": path, "mode": "rw"} for name, path in spec.mounts.items()} or None,
            **limit_options(spec.limits),
        )
        networking = self.api.create_networking_config({spec.networks[0]: self.api.create_endpoint_config()})
        container_id: str = self.api.create_container(
            self.image(spec.image),
            command=list(spec.command) if spec.command else None,
            name=spec.name,
            labels=spec.labels,
            environment={**spec.environment, **(environment or {})},
            user=spec.user,
            working_dir=spec.working_dir,
            hostname=spec.hostname,
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
        self.api.start(container_id)
        return container_id

    def _addresses(self, plan: RuntimePlan, started: Mapping[str, Future[str]]) -> dict[str, str]:
        """Each sidecar's address on the agent's network, by container name, as soon as it has
        one: the engine assigns it as a start begins, and a gVisor start takes about 0.4 s more
        (measured), which the agent's own start can overlap."""
        addresses: dict[str, str] = {}
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            endpoints = (self.api.inspect_network(plan.internal_network).get("Containers") or {}).values()
            assigned = {e["Name"]: e["IPv4Address"].split("/")[0] for e in endpoints if e.get("IPv4Address")}
            for spec in plan.sidecars:
                if spec.name in assigned:
                    addresses[spec.name] = assigned[spec.name]
                elif started[spec.name].done():  # started, or failed to: either way, say which
                    addresses[spec.name] = self._ip(started[spec.name].result(), spec, plan.internal_network)
            if len(addresses) == len(plan.sidecars):
                return addresses
            if time.monotonic() > deadline:
                raise LaunchError(f"the sidecars got no address within {READY_TIMEOUT:.0f} s")
            time.sleep(0.01)

    def _sidecar_ready(
        self,
        plan: RuntimePlan,
        spec: ContainerSpec,
        started: Future[str],
        secrets: Secrets | None,
        give_up: threading.Event,
        resolvers: Future[tuple[str, ...]],
    ) -> None:
        container_id = started.result()
        # Before its handover: a gate dials nothing before it has its secrets (the ssh gate has
        # none, and dials only when the agent connects, which comes after every gate is ready).
        if spec.denied:
            self._fence(plan, container_id, spec.role, gate_fence_script(spec.denied, resolvers.result()))
        if spec.handover:
            secrets = secrets or Secrets()
            self._handover(container_id, spec).send(secrets.files, encode_env(secrets.env))
        self._wait_ready(container_id, spec, give_up)

    def _engine_resolvers(self) -> tuple[str, ...]:
        if self._resolvers is None:
            self._resolvers = engine_resolvers(self.client, self.image("egress"))
        return self._resolvers

    def _wait_ready(self, container_id: str, spec: ContainerSpec, give_up: threading.Event) -> None:
        if not spec.ready_event:
            return
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline and not give_up.is_set():
            logs: bytes = self.api.logs(container_id, stdout=True, stderr=True)
            if any(_event_name(line) == spec.ready_event for line in logs.splitlines()):
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

    def _fence(self, plan: RuntimePlan, container_id: str, role: str, script: str) -> None:
        # runc, always, even where the engine's default runtime is gVisor: iptables must write the
        # kernel's rules for the namespace the container's sandbox uses, and gVisor has no nftables
        # ("Failed to initialize nft: Protocol not supported", measured). The helper runs only
        # our own fence script, and only until it exits.
        host_config = self.api.create_host_config(
            network_mode=f"container:{container_id}",
            cap_drop=["ALL"],
            cap_add=["NET_ADMIN", "NET_RAW"],
            runtime="runc",
        )
        helper = self.api.create_container(
            self.image("egress"),
            entrypoint=["sh", "-c", script],
            user="0",
            labels=plan.labels("fence"),
            host_config=host_config,
            name=f"bottle-{plan.plan.agent}-{plan.bottle_id}-fence-{role}",
        )["Id"]
        try:
            self.api.start(helper)
            result = self.api.wait(helper, timeout=FENCE_TIMEOUT)
            if result.get("StatusCode") != 0:
                logs = self.api.logs(helper).decode(errors="replace").strip()
                raise LaunchError(f"fencing the {role}'s network failed:\n{logs}")
        finally:
            self.api.remove_container(helper, force=True)

    def _handover(self, container: str, spec: ContainerSpec) -> Handover:
        """An exec in `container`, as its user, waiting to unpack into its handover tmpfs."""
        assert spec.handover is not None
        return Handover(self.api, container, spec.handover, spec.user or "0")

    def _open_handover(self, plan: RuntimePlan, agent_id: str) -> None:
        handover = self._handover(agent_id, plan.agent)
        with self._lock:
            self._handovers[plan.bottle_id] = handover

    def hand_over(self, plan: RuntimePlan, secrets: Secrets) -> None:
        with self._lock:
            handover = self._handovers.pop(plan.bottle_id, None)
        if handover is None:
            handover = self._handover(plan.agent.name, plan.agent)
        handover.send(secrets.files, encode_env(secrets.env))

    def check_out(self, plan: RuntimePlan) -> None:
        script = checkout_script(plan.plan)
        if script is not None:
            check_out(self.api, plan.agent.name, script)

    def workspace(self, bottle_id: str) -> contextlib.AbstractContextManager[Helper | None]:
        return workspace_helper(self.client, bottle_id, self.image("agent"))

    def volume_users(self) -> dict[str, list[str]]:
        return volume_users(self.api)

    def persisted_volumes(self) -> list[PersistedVolume]:
        return describe(self.client.df().get("Volumes") or [], self.volume_users())

    def remove_volume(self, name: str) -> None:
        remove_volume(self.client, name)

    def workspace_path(self, bottle_id: str) -> str | None:
        return workspace_path(self._containers(bottle_id))

    def export_workspace(self, bottle_id: str, repo: str, known: list[str]) -> tuple[list[tuple[str, str]], bytes]:
        return export_workspace(self.api, bottle_id, self._containers(bottle_id), repo, known)

    def stop_agent(self, bottle_id: str) -> None:
        """End the agent at once, so its working folder holds still. SIGKILL, as the removal
        that follows always was: a grace period only waited on a PID 1 that ignores SIGTERM
        (most commands run as one), 3 s for every bottle removed."""
        for container in self._containers(bottle_id):
            if container.labels.get(f"{LABEL}.role") == "agent" and container.status == "running":
                with contextlib.suppress(docker.errors.APIError):
                    container.kill()

    def is_gvisor(self, runtime: str | None) -> bool:
        return is_gvisor(self.client.info(), runtime)

    def attach(self, plan: RuntimePlan, secrets: Secrets, notify: Callable[[ContainerInfo], None] | None = None) -> int:
        on_oom = None
        if plan.options.engine.sandbox:  # asked of the engine once, for the plan's limits
            on_oom = functools.partial(end_wedged_sandbox, self.api, plan.agent.name)
        watch = GateWatch(self.api, plan.bottle_id, notify, on_oom) if notify else contextlib.nullcontext()
        with watch:
            attach_tty(self.api, plan.agent.name, lambda: self.hand_over(plan, secrets))
        try:
            return int(self.api.wait(plan.agent.name, timeout=10).get("StatusCode", 1))
        except (docker.errors.APIError, requests.exceptions.RequestException):
            return 1

    def engine_limits(self, runtime: str | None) -> EngineLimits:
        """What this engine can limit (plan/_resources.py), from `docker info`; whether it can cap
        a writable layer is asked of the engine itself."""
        info = self.client.info()
        disk, note = disk_quota(self.api, info, lambda: self.image("agent"))
        overlay = gvisor_overlay_note(info, runtime)
        return EngineLimits(
            cpus=int(info.get("NCPU") or 0),
            memory=info.get("MemoryLimit") is not False,
            swap=info.get("SwapLimit") is not False,
            pids=info.get("PidsLimit") is not False,
            cpu=info.get("CpuCfsQuota") is not False,
            disk=disk,
            disk_note=f"{note}; {overlay}" if overlay else note,
            sandbox=is_gvisor(info, runtime),
        )

    def states(self, bottle_id: str) -> list[ContainerInfo]:
        infos = []
        for container in self._containers(bottle_id):
            info = container_info(container.attrs)
            if info.role != "agent" and not info.up:
                info = replace(info, log_tail=log_tail(self.api, container.id))
            infos.append(info)
        return infos

    def sidecar_log(self, bottle_id: str, role: str, since: float | None = None) -> list[bytes]:
        """A container's log lines, by role, or none if it is gone."""
        with contextlib.suppress(docker.errors.APIError):
            return list(self.sidecar_log_stream(bottle_id, role, follow=False, since=since))
        return []

    def sidecar_log_stream(
        self, bottle_id: str, role: str, follow: bool, since: float | None = None
    ) -> Iterator[bytes]:
        """A container's log lines, by role (those from `since` on, a Unix time); with `follow`,
        until it stops."""
        container = next((c for c in self._containers(bottle_id) if c.labels.get(f"{LABEL}.role") == role), None)
        if container is None:
            return
        pending = b""
        options: dict[str, Any] = {"since": since} if since is not None else {}
        for chunk in container.logs(stdout=True, stderr=role == "agent", stream=True, follow=follow, **options):
            pending += chunk
            *lines, pending = pending.split(b"\n")
            yield from (line.rstrip(b"\r") for line in lines)
        if pending:
            yield pending

    # -- the egress gate's policy, while the bottle runs -----------------------------------
    def _egress_gate(self, bottle_id: str) -> str:
        gate = next((c for c in self._containers(bottle_id) if c.labels.get(f"{LABEL}.role") == "egress"), None)
        if gate is None:
            raise LaunchError(f"no running bottle {bottle_id!r}", hint="`bottle-launch ps` lists them")
        if gate.status != "running":
            raise LaunchError(
                f"bottle {bottle_id}: its egress gate is not running ({container_info(gate.attrs).status})",
                hint=f"`bottle-launch logs {bottle_id} --egress` says why; `bottle-launch stop {bottle_id}` removes it",
            )
        return str(gate.id)

    def egress_config(self, bottle_id: str) -> bytes:
        document = read_file(self.api, self._egress_gate(bottle_id), egress.CONFIG_PATH)
        if document is None:
            raise LaunchError(f"bottle {bottle_id}: its egress gate has no {egress.CONFIG_PATH}")
        return document

    def live_policy(self, bottle_id: str) -> bytes | None:
        return read_file(self.api, self._egress_gate(bottle_id), f"{egress.HANDOVER_DIR}/{egress.LIVE_FILE}")

    def set_live_policy(self, bottle_id: str, document: bytes, serial: int) -> bool:
        return write_live(self.api, self._egress_gate(bottle_id), document, serial)

    # -- inventory and teardown -----------------------------------------------------------
    def _containers(self, bottle_id: str | None = None) -> list[Any]:
        label = f"{LABEL}.id={bottle_id}" if bottle_id else f"{LABEL}.id"
        # Not containers.list(): it inspects each one, and fails whole on one that another
        # launcher removes meanwhile (a prune racing a stop). Such a container is simply gone.
        found = []
        for summary in self.api.containers(all=True, filters={"label": label}):
            with contextlib.suppress(docker.errors.NotFound):
                found.append(self.client.containers.get(summary["Id"]))
        return found

    def _networks(self, bottle_id: str | None = None) -> list[Any]:
        label = f"{LABEL}.id={bottle_id}" if bottle_id else f"{LABEL}.id"
        return self.client.networks.list(filters={"label": label})

    def _volumes(self, bottle_id: str | None = None) -> list[Any]:
        label = f"{LABEL}.id={bottle_id}" if bottle_id else f"{LABEL}.id"
        return self.client.volumes.list(filters={"label": label})

    def down(self, bottle_id: str) -> None:
        with self._lock:
            handover = self._handovers.pop(bottle_id, None)
        if handover is not None:
            handover.close()  # unsent: nothing is handed over
        _each(lambda container: container.remove(force=True), self._containers(bottle_id))
        _each(lambda network: network.remove(), self._networks(bottle_id))
        _each(lambda volume: volume.remove(force=True), self._volumes(bottle_id))

    def list(self) -> list[BottleInfo]:
        grouped: dict[str, dict[str, Any]] = {}
        for container in self._containers():
            labels = container.labels
            entry = grouped.setdefault(labels[f"{LABEL}.id"], {"labels": labels, "containers": [], "networks": []})
            entry["containers"].append(container_info(container.attrs))
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
                    containers=tuple(sorted(entry["containers"], key=lambda c: c.name)),
                    networks=tuple(sorted(entry["networks"])),
                    launcher_host=labels.get(f"{LABEL}.launcher-host", ""),
                    launcher_pid=int(pid) if pid.isdigit() else 0,
                    detached=labels.get(f"{LABEL}.detached") == "true",
                    manifest=labels.get(MANIFEST_LABEL, ""),
                    egress_engine=labels.get(EGRESS_ENGINE_LABEL, ""),
                )
            )
        return infos

    def exec(self, bottle_id: str, command: list[str], tty: bool = False) -> int:
        """Run `command` as the agent's user with the agent's environment; with `tty`, in a
        terminal of its own connected to ours (so a second claude or shell works)."""
        agents = [c for c in self._containers(bottle_id) if c.labels.get(f"{LABEL}.role") == "agent"]
        if not agents:
            raise LaunchError(f"no running bottle {bottle_id!r}", hint="`bottle-launch ps` lists them")
        if agents[0].status != "running":
            # Say why, instead of the engine's 409 (an agent killed at its memory limit, say).
            why = container_info(self.api.inspect_container(agents[0].id)).status
            raise LaunchError(
                f"bottle {bottle_id!r}: its agent is not running ({why})",
                hint=f"`bottle-launch stop {bottle_id}` removes it",
            )
        argv = ["/usr/local/bin/bottle-exec", *command]
        agent = agents[0]
        oom = threading.Event()
        watch: contextlib.AbstractContextManager[Any] = contextlib.nullcontext()
        if self.is_gvisor(agent.attrs["HostConfig"].get("Runtime")):

            def ended(info: ContainerInfo) -> None:
                if info.role == "agent" and info.oom_killed:  # a gate's death is `ps`'s to tell
                    oom.set()

            watch = GateWatch(self.api, bottle_id, ended, functools.partial(end_wedged_sandbox, self.api, agent.id))
        with watch:
            code = self._exec(agent.id, argv, tty)
        if oom.is_set():
            memory = agent.attrs["HostConfig"].get("Memory") or 0
            limit = f" ({format_size(memory)})" if memory else ""
            raise LaunchError(
                f"bottle {bottle_id}: the agent hit its memory limit{limit}; under gVisor that stops the whole "
                "sandbox, so the bottle has ended",
                hint=f"`bottle-launch stop {bottle_id}` removes it; a larger resources.memory gives the next one more",
            )
        return code

    def _exec(self, container: str, argv: list[str], tty: bool) -> int:
        if tty:
            environment = {"TERM": os.environ.get("TERM") or "xterm"}
            exec_id = self.api.exec_create(
                container, argv, user=str(AGENT_UID), tty=True, stdin=True, environment=environment
            )["Id"]
            exec_tty(self.api, exec_id)
        else:
            exec_id = self.api.exec_create(container, argv, user=str(AGENT_UID))["Id"]
            for out, err in self.api.exec_start(exec_id, stream=True, demux=True):
                if out:
                    sys.stdout.buffer.write(out)
                    sys.stdout.buffer.flush()
                if err:
                    sys.stderr.buffer.write(err)
                    sys.stderr.buffer.flush()
        code = self.api.exec_inspect(exec_id)["ExitCode"]
        return int(code if code is not None else 1)


def _each(remove: Callable[[Any], None], items: list[Any]) -> None:
    """Remove each of `items` at once; one that is already gone, or that another launcher is
    removing right now (a prune racing a stop: 409 "removal ... already in progress"), is fine."""

    def quietly(item: Any) -> None:
        try:
            remove(item)
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError as exc:
            if exc.status_code != 409 or "already in progress" not in str(exc.explanation or exc):
                raise

    with ThreadPoolExecutor(max_workers=max(1, len(items))) as pool:
        list(pool.map(quietly, items))


def _event_name(line: bytes) -> str | None:
    event = events.parse(line)
    return event.event if event else None
