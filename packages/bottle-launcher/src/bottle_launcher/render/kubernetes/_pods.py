"""The Pods: the agent alone in one, each gate in one of its own.

One Pod per gate, not one for all: a NetworkPolicy selects Pods, not containers, and the
containers of a Pod share one network namespace, so only separate Pods let the egress gate reach
the internet while the git gate reaches its upstream alone; and a gate that is broken into
(mitmproxy parses everything the agent sends) finds neither another gate's Secrets nor its
sockets beside it. It is the Docker layout too: one container, one namespace, one fence each.

Every container runs as its image's non-root user (the UIDs from bottle_contract), with no
capabilities, no privilege escalation, the runtime's seccomp profile and a read-only root
filesystem; the places it writes are volumes: emptyDirs (of medium Memory for a tmpfs), and
PersistentVolumeClaims for an agent that persists. Each Pod runs under the RuntimeClass
(gVisor), mounts no ServiceAccount token and gets no service links in its env.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from collections.abc import Mapping
from typing import Any

from bottle_contract import agent, egress, git, ssh
from bottle_contract.network import SUBNET_VAR

from ...plan import CHECKOUT_TIMEOUT, ContainerSpec, Limits, RuntimePlan, VolumeSpec, checkout_script
from . import _secrets
from ._files import CA_CONFIG_MAP, CA_MOUNT, FILES_MOUNT, AgentFiles, ConfigMount
from ._meta import AGENT_POD, KubeOptions, metadata, pod_name, slug

MiB = 1 << 20
GiB = 1 << 30
UIDS = {"agent": agent.UID, "egress": egress.UID, "ssh": ssh.UID, "git": git.UID}
# What a gate writes besides its handover tmpfs and /tmp: the git gate's mirrors, and its home,
# where ssh makes ~/.ssh (images/git-gate/Dockerfile: useradd --home-dir /var/lib/git-gate).
GATE_WRITES = {"git": {"mirrors": git.BASE_PATH, "home": "/var/lib/git-gate"}}
CLAUDE_DIR_SIZE = 1 * GiB  # a persisted ~/.claude: sessions and settings
WORK_SIZE = 10 * GiB  # a persisted working folder, when the agent has no disk limit
HANDOVER_ANNOTATION = "dev.claude-bottle/handover"
PIDS_ANNOTATION = "dev.claude-bottle/pids-limit"
AGENT_FILES = "agent-files"


def quantity(size: int) -> str:
    for unit, factor in (("Gi", GiB), ("Mi", MiB), ("Ki", 1024)):
        if size % factor == 0:
            return f"{size // factor}{unit}"
    return str(size)


def cpu_quantity(cores: float) -> str:
    millis = round(cores * 1000)
    return str(millis // 1000) if millis % 1000 == 0 else f"{millis}m"


def tmpfs_size(options: str) -> int | None:
    """The size= of Docker tmpfs options ("uid=1000,size=1m", "...,size=268435456")."""
    match = re.search(r"(?:^|,)size=(\d+)([kmg]?)(?:,|$)", options)
    if not match:
        return None
    return int(match.group(1)) * {"": 1, "k": 1024, "m": MiB, "g": GiB}[match.group(2)]


def resources(limits: Limits | None) -> dict[str, Any]:
    """Limits as the plan has them. Requests (what the scheduler reserves): a quarter of the
    memory, and the CPU weight (Docker's cpu_shares / 1024, the cgroup's own ratio), else a
    tenth of a core: limits are caps, not reservations."""
    if limits is None:
        return {}
    capped: dict[str, str] = {"memory": quantity(limits.memory)}
    requests: dict[str, str] = {"memory": quantity(limits.memory // 4)}
    if limits.cpus > 0:
        capped["cpu"] = cpu_quantity(limits.cpus)
    weight = limits.cpu_shares / 1024 if limits.cpu_shares else 0.1
    requests["cpu"] = cpu_quantity(min(weight, limits.cpus) if limits.cpus > 0 else weight)
    if limits.disk:
        capped["ephemeral-storage"] = quantity(limits.disk)
    return {"limits": capped, "requests": requests}


def container_security() -> dict[str, Any]:
    return {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "privileged": False,
        "readOnlyRootFilesystem": True,
    }


def pod_security(uid: int) -> dict[str, Any]:
    return {
        "runAsNonRoot": True,
        "runAsUser": uid,
        "runAsGroup": uid,
        "fsGroup": uid,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def _pod_spec(options: KubeOptions, uid: int) -> dict[str, Any]:
    spec: dict[str, Any] = {}
    if options.runtime_class:
        spec["runtimeClassName"] = options.runtime_class
    spec.update(
        {
            "automountServiceAccountToken": False,
            "enableServiceLinks": False,
            # A bottle is a session: a container that ends stays ended, as in Docker, where a dead
            # gate leaves the bottle degraded (and the agent failing closed) until it is removed.
            "restartPolicy": "Never",
            "securityContext": pod_security(uid),
        }
    )
    return spec


def _memory_dir(options: str) -> dict[str, Any]:
    size = tmpfs_size(options)
    return {"emptyDir": {"medium": "Memory", **({"sizeLimit": quantity(size)} if size else {})}}


def _tmpfs(spec: ContainerSpec) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The container's tmpfs mounts as emptyDirs of medium Memory: volumes and mounts."""
    volumes, mounts = [], []
    for path, tmpfs in spec.tmpfs.items():
        name = "handover" if path == spec.handover else slug(posixpath.basename(path))
        volumes.append({"name": name, **_memory_dir(tmpfs)})
        mounts.append({"name": name, "mountPath": path})
    return volumes, mounts


def _env(environment: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"name": name, "value": value} for name, value in environment.items()]


def persistent_claims(runtime: RuntimePlan, namespace: str, options: KubeOptions) -> list[dict[str, Any]]:
    """A PersistentVolumeClaim for each volume an agent that persists keeps between bottles."""
    claims = []
    for volume in runtime.volumes:
        if not volume.persistent:
            continue
        path = runtime.agent.mounts.get(volume.name)
        disk = runtime.agent.limits.disk if runtime.agent.limits else None
        size = CLAUDE_DIR_SIZE if path == agent.CLAUDE_DIR else disk or WORK_SIZE
        spec: dict[str, Any] = {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": quantity(size)}},
        }
        if options.storage_class:
            spec["storageClassName"] = options.storage_class
        claims.append(
            {
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaim",
                "metadata": metadata(slug(volume.name), namespace, volume.labels),
                "spec": spec,
            }
        )
    return claims


def _volume_source(volume: VolumeSpec) -> dict[str, Any]:
    if volume.persistent:
        return {"persistentVolumeClaim": {"claimName": slug(volume.name)}}
    return {"emptyDir": {}}  # the working folder; the ephemeral-storage limit bounds it


def agent_pod(runtime: RuntimePlan, namespace: str, options: KubeOptions, files: AgentFiles) -> dict[str, Any]:
    spec = runtime.agent
    image = options.images[spec.image]
    by_name = {volume.name: volume for volume in runtime.volumes}
    # The home is writable (the entrypoint writes ~/.bottle/ca-bundle.pem, claude its ~/.claude);
    # the working folder and, for an agent that persists, ~/.claude are volumes of their own in it.
    elsewhere = sorted({f.directory for f in spec.files if not f"{f.directory}/".startswith(f"{agent.HOME}/")})
    if elsewhere:  # the plan writes the agent's files into its home only; anything else needs a volume here
        raise ValueError(f"agent files outside {agent.HOME}: {', '.join(elsewhere)}")
    volumes: list[dict[str, Any]] = [{"name": "home", "emptyDir": {}}]
    writable: list[dict[str, Any]] = [{"name": "home", "mountPath": agent.HOME}]
    for volume_name, path in spec.mounts.items():
        name = slug(posixpath.basename(path))
        volumes.append({"name": name, **_volume_source(by_name[volume_name])})
        writable.append({"name": name, "mountPath": path})
    memory_volumes, memory_mounts = _tmpfs(spec)
    volumes += memory_volumes
    volumes.append({"name": "files", "configMap": {"name": AGENT_FILES}})
    volumes.append({"name": "egress-ca", "configMap": {"name": CA_CONFIG_MAP}})
    security = container_security()
    init = {
        "name": "files",
        "image": image,
        "command": ["sh", "-c", files.script],
        "securityContext": security,
        "resources": resources(spec.limits),
        "volumeMounts": [
            *writable,
            {"name": "files", "mountPath": FILES_MOUNT, "readOnly": True},
            {"name": "egress-ca", "mountPath": CA_MOUNT, "readOnly": True},
        ],
    }
    inits = [init]
    checkout = _checkout(runtime)
    if checkout:
        scratch = [mount for mount in memory_mounts if mount["name"] != "handover"]  # git may write /tmp
        inits.append(
            {**init, "name": "checkout", "command": ["bash", "-c", checkout], "volumeMounts": writable + scratch}
        )
    container: dict[str, Any] = {"name": "agent", "image": image}
    if spec.command:
        container["args"] = list(spec.command)
    container["env"] = _env(spec.environment)
    if spec.working_dir:
        container["workingDir"] = spec.working_dir
    container.update(
        {
            # Attachable (`kubectl attach -it`), as `start` attaches to it.
            "stdin": True,
            "tty": True,
            "securityContext": security,
            "resources": resources(spec.limits),
            "volumeMounts": [*writable, *memory_mounts],
        }
    )
    annotations = {}
    if spec.handover:
        command = _secrets.agent_handover_command(namespace, AGENT_POD, "agent", spec.handover)
        annotations[HANDOVER_ANNOTATION] = command
    if spec.limits:
        annotations[PIDS_ANNOTATION] = str(spec.limits.pids)
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": metadata(AGENT_POD, namespace, spec.labels, annotations),
        "spec": {
            **_pod_spec(options, UIDS["agent"]),
            "initContainers": inits,
            "containers": [container],
            "volumes": volumes,
        },
    }


def _checkout(runtime: RuntimePlan) -> str | None:
    """The agent's checkouts, cloned before claude starts as `start` clones them (through the git
    gate, by the agent's own ~/.gitconfig), once the git gate answers."""
    script = checkout_script(runtime.plan)
    gate = next((spec for spec in runtime.sidecars if spec.role == "git"), None)
    if script is None or gate is None or not gate.ports:
        return None
    host, port = pod_name(gate.role, gate.hostname), gate.ports[0]
    wait = [
        "deadline=$((SECONDS + 300))",
        f"until (exec 3<>/dev/tcp/{host}/{port}) 2>/dev/null; do",
        '  [ "$SECONDS" -lt "$deadline" ] || { echo "the git gate did not answer within 300 s" >&2; exit 1; }',
        "  sleep 1",
        "done",
        f"exec timeout {CHECKOUT_TIMEOUT} sh -c {shlex.quote(script)}",
    ]
    return "\n".join(wait) + "\n"


def _host_aliases(extra_hosts: Mapping[str, str]) -> list[dict[str, Any]]:
    by_address: dict[str, list[str]] = {}
    for name, address in extra_hosts.items():
        by_address.setdefault(address, []).append(name)
    return [{"ip": address, "hostnames": names} for address, names in by_address.items()]


def gate_pod(
    runtime: RuntimePlan,
    spec: ContainerSpec,
    namespace: str,
    options: KubeOptions,
    config: list[ConfigMount],
    handover: list[tuple[str, str]] | None,
) -> dict[str, Any]:
    """`handover`: the gate's Secret keys and their paths in its handover tmpfs, when it has one."""
    name = pod_name(spec.role, spec.hostname)
    image = options.images[spec.image]
    uid = int(spec.user) if spec.user else UIDS[spec.role]
    security = container_security()
    volumes: list[dict[str, Any]] = []
    mounts: list[dict[str, Any]] = []
    for index, mount in enumerate(config):
        volume = "config" if index == 0 else f"config-{index + 1}"
        items = [{"key": key, "path": path, "mode": mode} for key, path, mode in mount.items]
        volumes.append({"name": volume, "configMap": {"name": mount.config_map, "items": items}})
        mounts.append(
            {"name": volume, "mountPath": mount.mount_path, "readOnly": True}
            | ({"subPath": mount.sub_path} if mount.sub_path else {})
        )
    memory_volumes, memory_mounts = _tmpfs(spec)
    volumes += memory_volumes
    mounts += memory_mounts
    for volume, path in {"tmp": "/tmp", **GATE_WRITES.get(spec.role, {})}.items():
        if path not in spec.tmpfs:
            volumes.append({"name": volume, "emptyDir": {}})
            mounts.append({"name": volume, "mountPath": path})
    pod = _pod_spec(options, uid)
    pod["hostname"] = spec.hostname or name
    if spec.extra_hosts:
        pod["hostAliases"] = _host_aliases(spec.extra_hosts)
    if spec.handover and handover is not None:
        secret_name = f"{name}-handover"
        volumes.append({"name": "handover-source", "secret": {"secretName": secret_name, "defaultMode": 0o440}})
        pod["initContainers"] = [
            {
                "name": "handover",
                "image": image,
                "command": ["sh", "-c", _secrets.handover_script(spec.handover, handover)],
                "securityContext": security,
                "volumeMounts": [
                    {"name": "handover", "mountPath": spec.handover},
                    {"name": "handover-source", "mountPath": _secrets.SOURCE_MOUNT, "readOnly": True},
                ],
            }
        ]
    container: dict[str, Any] = {"name": spec.role, "image": image}
    if spec.command:
        container["args"] = list(spec.command)
    container.update(
        {
            # The only peers a gate serves, and where the git gate finds its own address.
            "env": _env({**spec.environment, SUBNET_VAR: options.pod_cidr}),
            "securityContext": security,
            "resources": resources(spec.limits),
            "volumeMounts": mounts,
        }
    )
    if spec.working_dir:
        container["workingDir"] = spec.working_dir
    pod["containers"] = [container]
    pod["volumes"] = volumes
    annotations = {PIDS_ANNOTATION: str(spec.limits.pids)} if spec.limits else None
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": metadata(name, namespace, spec.labels, annotations),
        "spec": pod,
    }
