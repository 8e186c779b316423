"""The bottle as containers and networks: plain data a runtime backend applies.

Addresses exist only once the engine assigns them, so the backend fills them in: each sidecar's
address becomes the agent's `<role>-gate` host name and a fence rule for each of its `ports`, and
every sidecar gets the internal network's subnet as BOTTLE_AGENT_SUBNET (the only peers it
should serve). Everything else is decided here.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from bottle_contract import egress, git, ssh
from bottle_contract.agent import CLAUDE_DIR, HANDOVER_DIR, HANDOVER_FILE_VAR, START_FOLDER_VAR, WORKDIR
from bottle_contract.agent import HOME as AGENT_HOME
from bottle_contract.agent import UID as AGENT_UID
from bottle_contract.handover import marker

from . import _git, _ssh
from ._claude import CLAUDE_DIR_VAR, claude_files, start_folder
from ._egress import EgressSidecar, ImageRecipe, egress_config
from ._fence import internal_ranges
from ._labels import EGRESS_ENGINE_LABEL, LABEL, MANIFEST_LABEL, VOLUME_LABEL, WORKSPACE_LABEL
from ._model import Plan
from ._resources import GATE, GATES, EngineLimits, Limits, bottle_limits, fit, tmp_mount
from ._workspace import persisted_labels, persisted_volumes, work_volume

AGENT_CA = f"{AGENT_HOME}/.bottle/ca.pem"
AGENT_CA_BUNDLE = f"{AGENT_HOME}/.bottle/ca-bundle.pem"  # system CAs plus ours, made at start


@dataclass(frozen=True)
class NetworkSpec:
    name: str
    internal: bool
    labels: dict[str, str]
    external: bool = False  # given by --egress-network: joined, never created or removed


@dataclass(frozen=True)
class VolumeSpec:
    name: str
    labels: dict[str, str]
    persistent: bool = False  # kept when the bottle is removed; reused by the agent's next bottle
    # A tar unpacked into the fresh volume before the agent's command runs (its entries carry
    # their owner). The backend unpacks it alongside the gates' start, off the agent's path:
    # unpacking 10,000 files took 2.2 to 7.6 s on this machine's disk (measured).
    seed: bytes = field(default=b"", repr=False)


@dataclass(frozen=True)
class FileSpec:
    directory: str  # a directory that already exists in the image
    path: str  # relative to it; missing parent directories are created
    content: bytes
    mode: int = 0o644
    uid: int = 0


@dataclass(frozen=True)
class ContainerSpec:
    name: str
    role: str
    image: str  # an image key ("agent", "egress"), resolved to a tag by the backend
    command: tuple[str, ...] | None
    labels: dict[str, str]
    networks: tuple[str, ...]  # the first one is joined at create time
    environment: dict[str, str] = field(default_factory=dict)  # never secrets
    files: tuple[FileSpec, ...] = ()
    tmpfs: dict[str, str] = field(default_factory=dict)
    user: str | None = None
    tty: bool = False
    ready_event: str | None = None  # a JSON log line with this "event" means the sidecar is up
    ports: tuple[int, ...] = ()  # what the agent may connect to on this sidecar
    extra_hosts: dict[str, str] = field(default_factory=dict)
    handover: str | None = None  # the tmpfs directory Secrets are written into
    working_dir: str | None = None
    limits: Limits | None = None  # memory, pids, CPU, disk (plan/_resources.py); None: the engine's own
    denied: tuple[str, ...] = ()  # ranges it may not dial (a gate's fence, plan/_fence.py)
    mounts: dict[str, str] = field(default_factory=dict)  # volume name -> path in the container
    recipe: ImageRecipe | None = None  # how to build `image` when it is built on other images
    # A gate's name: the agent's /etc/hosts maps it to the gate's address, and the gate knows it
    # as its own (git daemon looks up the name a client asked for; unknown, that costs a DNS
    # timeout per connection).
    hostname: str | None = None


@dataclass(frozen=True)
class Secrets:
    """What goes into the agent's tmpfs at handover: env values, and files (SSH identities)
    relative to the handover directory. Never part of a plan that is printed or stored."""

    env: dict[str, str] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)


@dataclass(frozen=True)
class LaunchOptions:
    command: tuple[str, ...] = ()
    detach: bool = False
    runtime: str | None = None
    egress_network: str | None = None
    launcher_host: str = ""
    launcher_pid: int = 0
    bottle_id: str = field(default_factory=lambda: secrets.token_hex(4))
    egress_ca_cert: bytes = b""  # the bottle's CA certificate (public); its key is a Secret
    egress_upstream_ca: bytes = b""  # extra CAs the gate trusts for upstreams (a private CA)
    engine: EngineLimits = field(default_factory=EngineLimits)  # what the engine can limit
    workspace_mirror: bytes = b""  # the local workspace's mirror for the git gate (git.WORKSPACE_MIRROR)
    workspace_clone: bytes = b""  # the agent's clone of it, a tar for a fresh working folder


@dataclass(frozen=True)
class RuntimePlan:
    bottle_id: str
    plan: Plan
    options: LaunchOptions
    networks: tuple[NetworkSpec, ...]
    sidecars: tuple[ContainerSpec, ...]
    agent: ContainerSpec
    volumes: tuple[VolumeSpec, ...] = ()

    @property
    def internal_network(self) -> str:
        return self.networks[0].name

    def labels(self, role: str) -> dict[str, str]:
        return _labels(self.bottle_id, self.plan, self.options, role)


def _labels(bottle_id: str, plan: Plan, options: LaunchOptions, role: str) -> dict[str, str]:
    return {
        f"{LABEL}.id": bottle_id,
        f"{LABEL}.agent": plan.agent,
        f"{LABEL}.bottle": plan.bottle,
        f"{LABEL}.role": role,
        f"{LABEL}.launcher-host": options.launcher_host,
        f"{LABEL}.launcher-pid": str(options.launcher_pid),
        f"{LABEL}.detached": "true" if options.detach else "false",
        MANIFEST_LABEL: plan.bottle_source,
        EGRESS_ENGINE_LABEL: plan.egress_backend,
    }


def agent_command(plan: Plan, command: tuple[str, ...]) -> tuple[str, ...]:
    if command:
        return command
    if plan.prompt:
        return ("claude", "--append-system-prompt", plan.prompt)
    return ("claude",)


def proxy_environment(egress_host: str) -> dict[str, str]:
    url = f"http://{egress_host}:{egress.PORT}"
    return {
        # Node (Claude Code) adds our CA to its own; the rest replace their store with a bundle.
        "NODE_EXTRA_CA_CERTS": AGENT_CA,
        "SSL_CERT_FILE": AGENT_CA_BUNDLE,
        "REQUESTS_CA_BUNDLE": AGENT_CA_BUNDLE,
        "GIT_SSL_CAINFO": AGENT_CA_BUNDLE,
        "CURL_CA_BUNDLE": AGENT_CA_BUNDLE,
        "PIP_CERT": AGENT_CA_BUNDLE,
        "HTTPS_PROXY": url,
        "HTTP_PROXY": url,
        "https_proxy": url,
        "http_proxy": url,
        "NO_PROXY": "localhost,127.0.0.1,::1",
        "no_proxy": "localhost,127.0.0.1,::1",
    }


def build_runtime_plan(
    plan: Plan,
    options: LaunchOptions,
    agent_files: tuple[FileSpec, ...] = (),
    egress_sidecar: EgressSidecar | None = None,
) -> RuntimePlan:
    """`egress_sidecar`: what the egress engine adds (egress/); by default, our own addon's."""
    bid = options.bottle_id
    stem = f"bottle-{plan.agent}-{bid}"
    internal = NetworkSpec(f"{stem}-internal", True, _labels(bid, plan, options, "network"))
    if options.egress_network:
        outside = NetworkSpec(options.egress_network, False, {}, external=True)
    else:
        outside = NetworkSpec(f"{stem}-egress", False, _labels(bid, plan, options, "network"))
    networks = (internal.name, outside.name)
    sidecars = [_egress_gate(stem, networks, plan, options, egress_sidecar or EgressSidecar())]
    agent_files = (
        *agent_files,
        FileSpec(AGENT_HOME, ".bottle/ca.pem", options.egress_ca_cert, 0o644, AGENT_UID),
        *(FileSpec(AGENT_HOME, path, data, 0o600, AGENT_UID) for path, data in claude_files(plan).items()),
    )
    if plan.ssh:
        sidecars.append(_ssh_gate(stem, networks, plan, options))
        agent_files = (*agent_files, *_ssh_files(plan))
    if plan.git or plan.workspace:
        sidecars.append(_git_gate(stem, networks, plan, options))
        gitconfig = FileSpec(AGENT_HOME, ".gitconfig", _git.gitconfig(plan).encode(), 0o644, AGENT_UID)
        agent_files = (*agent_files, gitconfig)
    limits = bottle_limits(plan, options.engine)["agent"]
    labels = _labels(bid, plan, options, "agent")
    if plan.persist:
        volumes = tuple(
            VolumeSpec(name, persisted_labels(plan, "claude" if path == CLAUDE_DIR else "work"), persistent=True)
            for name, path in persisted_volumes(plan).items()
        )
        mounts = persisted_volumes(plan)
        labels[VOLUME_LABEL] = volumes[0].name
    else:
        # A fresh working folder holds the workspace's clone from the start. A persisted one
        # may hold the last session's work: nothing is unpacked over it, the agent fetches.
        work_labels = _labels(bid, plan, options, "work")
        work = VolumeSpec(work_volume(plan.agent, bid), work_labels, seed=options.workspace_clone)
        volumes = (work,)
        mounts = {work.name: WORKDIR}
    environment = {
        **proxy_environment(egress.HOST),
        CLAUDE_DIR_VAR: CLAUDE_DIR,
        HANDOVER_FILE_VAR: str(marker(HANDOVER_DIR)),
    }
    if start_folder(plan) != WORKDIR:
        environment[START_FOLDER_VAR] = start_folder(plan)
    agent = ContainerSpec(
        name=f"{stem}-agent",
        role="agent",
        image="agent",
        command=agent_command(plan, options.command),
        labels=labels,
        networks=(internal.name,),
        environment=environment,
        tmpfs={HANDOVER_DIR: _tmpfs(AGENT_UID, "1m"), **({"/tmp": tmp_mount(limits.tmp)} if limits.tmp else {})},
        files=agent_files,
        user=str(AGENT_UID),
        tty=not options.detach,
        handover=HANDOVER_DIR,
        working_dir=WORKDIR,
        limits=limits,
        mounts=mounts,
    )
    return RuntimePlan(bid, plan, options, (internal, outside), tuple(sidecars), agent, volumes)


def etc_file(path: str, content: bytes) -> FileSpec:
    """A gate's config file at its absolute path: /etc is in every image, its gate folder not."""
    return FileSpec("/etc", path.removeprefix("/etc/"), content)


def _tmpfs(uid: int, size: str) -> str:
    return f"uid={uid},gid={uid},mode=0700,size={size}"


def _egress_gate(
    stem: str, networks: tuple[str, str], plan: Plan, options: LaunchOptions, engine: EgressSidecar
) -> ContainerSpec:
    upstream_ca = options.egress_upstream_ca
    files = [etc_file(egress.CONFIG_PATH, egress_config(plan, bool(upstream_ca), options.bottle_id).to_json())]
    files += [etc_file(path, data) for path, data in engine.files.items()]
    if upstream_ca:
        files.append(etc_file(egress.UPSTREAM_CA_PATH, upstream_ca))
    image = engine.image.key if isinstance(engine.image, ImageRecipe) else engine.image
    return _sidecar(
        stem, "egress", image, networks, plan, options,
        hostname=egress.HOST,
        recipe=engine.image if isinstance(engine.image, ImageRecipe) else None,
        files=tuple(files),
        tmpfs={egress.HANDOVER_DIR: _tmpfs(egress.UID, "4m")},
        user=str(egress.UID),
        ports=(egress.PORT,),
        handover=egress.HANDOVER_DIR,
    )  # fmt: skip


def _sidecar(
    stem: str,
    role: str,
    image: str,
    networks: tuple[str, str],
    plan: Plan,
    options: LaunchOptions,
    extra_labels: dict[str, str] | None = None,
    **spec: Any,
) -> ContainerSpec:
    """A gate: named and labelled by its role, on both networks, ready when it logs "ready"."""
    return ContainerSpec(
        name=f"{stem}-{role}",
        role=role,
        image=image,
        command=None,
        labels={**_labels(options.bottle_id, plan, options, role), **(extra_labels or {})},
        networks=networks,
        ready_event="ready",
        limits=fit(GATES.get(role, GATE), options.engine),
        denied=tuple(internal_ranges(plan.egress_allow_cidrs)),
        **spec,
    )


def _ssh_gate(stem: str, networks: tuple[str, str], plan: Plan, options: LaunchOptions) -> ContainerSpec:
    return _sidecar(
        stem, "ssh", "ssh-gate", networks, plan, options,
        hostname=ssh.HOST,
        files=(etc_file(ssh.CONFIG_PATH, _ssh.gate_config(plan)),),
        ports=tuple(f.listen for f in _ssh.forwards(plan)),
        extra_hosts=_ssh.gate_extra_hosts(plan),
    )  # fmt: skip


def _git_gate(stem: str, networks: tuple[str, str], plan: Plan, options: LaunchOptions) -> ContainerSpec:
    files = [
        etc_file(git.CONFIG_PATH, _git.gate_config(plan)),
        etc_file(git.KNOWN_HOSTS_PATH, _git.known_hosts(plan)),
    ]
    labels = {}
    if plan.workspace is not None:
        files.append(FileSpec(git.IMPORT_DIR, git.WORKSPACE_MIRROR, options.workspace_mirror))
        labels[WORKSPACE_LABEL] = plan.workspace.path  # where `stop` fetches the agent's pushes back to
    return _sidecar(
        stem, "git", "git-gate", networks, plan, options,
        hostname=git.HOST,
        files=tuple(files),
        extra_labels=labels,
        tmpfs={git.HANDOVER_DIR: _tmpfs(git.UID, "1m")},
        user=str(git.UID),
        ports=(git.PORT,),
        extra_hosts=_git.gate_extra_hosts(plan),
        handover=git.HANDOVER_DIR,
    )  # fmt: skip


def _ssh_files(plan: Plan) -> tuple[FileSpec, ...]:
    return (
        FileSpec(AGENT_HOME, ".ssh/config", _ssh.ssh_config(plan, HANDOVER_DIR).encode(), 0o600, AGENT_UID),
        FileSpec(AGENT_HOME, ".ssh/known_hosts.pinned", _ssh.known_hosts(plan).encode(), 0o644, AGENT_UID),
    )
