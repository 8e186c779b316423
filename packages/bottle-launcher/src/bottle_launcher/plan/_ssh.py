"""The ssh gate as plain data: which port forwards to which upstream, and the agent's
~/.ssh/config and pinned known_hosts that point each alias at the gate."""

from __future__ import annotations

from bottle_contract.agent import HOME as AGENT_HOME
from bottle_contract.agent import IDENTITY_SUBDIR
from bottle_contract.ssh import FIRST_PORT, HOST, Forward, SshConfig

from ._model import GitRemote, Plan, SshRemote

AGENT_SSH_DIR = f"{AGENT_HOME}/.ssh"
PINNED_KNOWN_HOSTS = f"{AGENT_SSH_DIR}/known_hosts.pinned"


def forwards(plan: Plan) -> tuple[Forward, ...]:
    return tuple(
        Forward(remote.host, FIRST_PORT + index, remote.hostname, remote.port) for index, remote in enumerate(plan.ssh)
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
            f"  HostName {HOST}",
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
    return SshConfig(bottle=plan.bottle, forwards=forwards(plan)).to_json()


def gate_extra_hosts(plan: Plan) -> dict[str, str]:
    return {name: ip for remote in plan.ssh for name, ip in remote.extra_hosts}
