"""The ssh gate as plain data: which port forwards to which upstream, and the agent's
~/.ssh/config and pinned known_hosts that point each alias at the gate."""

from __future__ import annotations

import json
from dataclasses import dataclass

from ._claude import AGENT_HOME
from ._model import GitRemote, Plan, SshRemote

SSH_GATE_HOST = "ssh-gate"
SSH_GATE_FIRST_PORT = 2201
AGENT_SSH_DIR = f"{AGENT_HOME}/.ssh"
PINNED_KNOWN_HOSTS = f"{AGENT_SSH_DIR}/known_hosts.pinned"
IDENTITY_SUBDIR = "ssh"  # under the handover tmpfs: keys live in memory, never on disk


@dataclass(frozen=True)
class Forward:
    alias: str
    listen: int
    host: str
    port: int


def forwards(plan: Plan) -> tuple[Forward, ...]:
    return tuple(
        Forward(remote.host, SSH_GATE_FIRST_PORT + index, remote.hostname, remote.port)
        for index, remote in enumerate(plan.ssh)
    )


def key_alias(remote: SshRemote | GitRemote) -> str:
    """The name ssh looks the pinned key up under (its HostKeyAlias).

    With HostKeyAlias, ssh matches the alias exactly as written, never as `[host]:port`, so the
    manifest's own host field is used verbatim: an alias, a hostname or `[host]:port` all work.
    """
    fields = remote.known_host_key.split()
    if len(fields) >= 3 and not fields[0].startswith("|"):
        return fields[0].split(",")[0]
    return remote.hostname if remote.port == 22 else f"[{remote.hostname}]:{remote.port}"


def known_hosts_line(remote: SshRemote | GitRemote) -> str:
    fields = remote.known_host_key.split()
    if len(fields) >= 3:
        return " ".join(fields[:3])
    return f"{key_alias(remote)} {fields[0]} {fields[1]}"


def identity_path(handover_dir: str, alias: str) -> str:
    return f"{handover_dir}/{IDENTITY_SUBDIR}/{alias}"


def ssh_config(plan: Plan, handover_dir: str) -> str:
    blocks = []
    for remote, forward in zip(plan.ssh, forwards(plan), strict=True):
        patterns = " ".join(dict.fromkeys([remote.host, remote.hostname]))
        lines = [
            f"Host {patterns}",
            f"  HostName {SSH_GATE_HOST}",
            f"  Port {forward.listen}",
            *([f"  User {remote.user}"] if remote.user else []),
            f"  HostKeyAlias {key_alias(remote)}",
            "  StrictHostKeyChecking yes",
            f"  UserKnownHostsFile {PINNED_KNOWN_HOSTS}",
            "  GlobalKnownHostsFile /dev/null",
            f"  IdentityFile {identity_path(handover_dir, remote.host)}",
            "  IdentitiesOnly yes",
        ]
        blocks.append("\n".join(lines))
    # Anything not declared is offered no key and trusted on no key (the fence blocks it anyway).
    blocks.append("Host *\n  IdentitiesOnly yes\n  StrictHostKeyChecking yes")
    return "\n\n".join(blocks) + "\n"


def known_hosts(plan: Plan) -> str:
    return "".join(known_hosts_line(remote) + "\n" for remote in plan.ssh)


def gate_config(plan: Plan) -> bytes:
    return json.dumps(
        {
            "bottle": plan.bottle,
            "forwards": [
                {"alias": f.alias, "listen": f.listen, "host": f.host, "port": f.port} for f in forwards(plan)
            ],
        },
        indent=2,
    ).encode()


def gate_extra_hosts(plan: Plan) -> dict[str, str]:
    return {name: ip for remote in plan.ssh for name, ip in remote.extra_hosts}
