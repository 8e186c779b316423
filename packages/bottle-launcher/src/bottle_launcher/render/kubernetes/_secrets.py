"""What a bottle is handed at run time, as Secrets. Only the gates mount theirs.

A Secret volume is a tmpfs (the kubelet keeps Secret data in memory, never on the node's disk),
mounted read-only, in the gate's init container alone: it copies the files into the gate's
handover folder, an emptyDir of medium Memory (a tmpfs too), and writes the handover marker
last, as the Docker backend's exec does. A copy, not the mount itself, because the gates write
beside their secrets (mitmproxy's confdir, the upstream trust bundle, ssh's control sockets).

The agent mounts no Secret. Its handover (its env, with placeholders for credentials, and its
SSH identities) stays a Secret in the bottle's Namespace, and reaches the agent's tmpfs the way
`start` hands it over: through an exec's stdin (`kubectl exec -i`), as a tar unpacked in place,
the marker renamed last. The agent's ServiceAccount token is not mounted, and its
NetworkPolicy keeps it from the API server, so it cannot read the Secret itself.

Without values (the default), each Secret has its keys, empty, and an annotation that says how
to fill them; a gate's init container refuses to start its gate on an empty one."""

from __future__ import annotations

import base64
import shlex
from collections.abc import Mapping
from typing import Any

from bottle_contract.handover import MARKER

from ...handover import UNPACK, encode_env, handover_tar
from ...plan import Secrets
from ._files import file_key
from ._meta import metadata

SOURCE_MOUNT = "/bottle/secret"  # a gate's Secret, in its init container only
AGENT_HANDOVER = "agent-handover"
AGENT_HANDOVER_KEY = "handover.tar"
FILL_ANNOTATION = "dev.claude-bottle/fill"


def agent_handover_tar(secrets: Secrets) -> bytes:
    """The agent's handover as the unpack reads it: its files, and the marker last."""
    return handover_tar(secrets.files, encode_env(secrets.env))


def secret(
    name: str,
    namespace: str,
    labels: Mapping[str, str],
    contents: Mapping[str, bytes],
    fill: str | None,
) -> dict[str, Any]:
    """An Opaque Secret; `fill`: how to put the values in, when it holds none."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": metadata(name, namespace, labels, {FILL_ANNOTATION: fill} if fill else None),
        "type": "Opaque",
        "data": {key: base64.b64encode(value).decode() for key, value in contents.items()},
    }


def gate_items(files: Mapping[str, bytes]) -> tuple[dict[str, bytes], list[tuple[str, str]]]:
    """A gate's handover files by Secret key (`ssh/forge` is key `ssh_forge`), and each key's
    path in its handover folder."""
    contents: dict[str, bytes] = {}
    items = []
    for path, content in files.items():
        key = file_key(path, contents)
        contents[key] = content
        items.append((key, path))
    return contents, items


def gate_fill(name: str, namespace: str, items: list[tuple[str, str]], what: Mapping[str, str]) -> str:
    sources = " ".join(f"--from-file={key}=<{what.get(path, path)}>" for key, path in items)
    return (
        f"kubectl -n {namespace} create secret generic {name} {sources} --dry-run=client -o yaml "
        "| kubectl apply -f -   (or render with --with-secrets)"
    )


def handover_script(directory: str, items: list[tuple[str, str]]) -> str:
    """A gate's init container: refuse an empty value, copy each file into the tmpfs (private to
    the gate's user), then the marker, last."""
    target = shlex.quote(directory)
    lines = ["set -eu", "umask 077"]
    for key, path in items:
        source = shlex.quote(f"{SOURCE_MOUNT}/{key}")
        lines.append(f"test -s {source} || {{ echo 'Secret key {key} is empty: see the annotation' >&2; exit 1; }}")
        destination = shlex.quote(f"{directory}/{path}")
        folder = shlex.quote(f"{directory}/{path.rsplit('/', 1)[0]}") if "/" in path else None
        if folder:
            lines.append(f"mkdir -p {folder}")
        lines.append(f"cp {source} {destination}")
    lines.append(f": > {target}/.{MARKER}.part && mv {target}/.{MARKER}.part {target}/{MARKER}")
    return "\n".join(lines) + "\n"


def agent_handover_command(namespace: str, pod: str, container: str, directory: str) -> str:
    """The exec that hands the agent its secrets (after its gates are ready), as `start` does."""
    return (
        f"kubectl -n {namespace} get secret {AGENT_HANDOVER} -o jsonpath='{{.data.handover\\.tar}}' | base64 -d | "
        f"kubectl -n {namespace} exec -i {pod} -c {container} -- sh -c {shlex.quote(UNPACK)} unpack "
        f"{directory} {MARKER}"
    )


def agent_fill(secrets: Secrets) -> str:
    files = ", ".join(f"{path} (0600)" for path in secrets.files) or "none"
    names = ", ".join(secrets.env) or "none"
    return (
        f"key {AGENT_HANDOVER_KEY}: a tar of the agent's files ({files}) and .{MARKER}.part, its env as "
        f"NUL-separated NAME=value records ({names}); a credential is a placeholder, its real value is in "
        "the egress gate's known.json (or render with --with-secrets)"
    )
