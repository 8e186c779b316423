"""The files the plan writes into containers, as ConfigMaps (all of them public: the plan never
holds a secret).

A gate only reads its config: the folder (/etc/egress-gate, ...) is mounted from a ConfigMap,
read-only. The agent writes into its home (the entrypoint makes a CA bundle in ~/.bottle, claude
writes ~/.claude), so its files are copied into its writable home by an init container before
it starts, owned by the agent with the plan's modes, as the Docker backend's archive does."""

from __future__ import annotations

import base64
import posixpath
import re
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ...plan import AGENT_CA, FileSpec
from ._meta import metadata

FILES_MOUNT = "/bottle/files"  # the agent's files, in its init container only
CA_MOUNT = "/bottle/ca"  # the bottle's CA certificate, in the agent's init container only
CA_CONFIG_MAP = "egress-ca"
CA_KEY = "ca.pem"
_KEY = re.compile(r"[^-._a-zA-Z0-9]+")


def file_key(path: str, taken: Iterable[str] = ()) -> str:
    """A ConfigMap or Secret key for a file path (keys allow `-._` and alphanumerics only)."""
    base = _KEY.sub("_", path.strip("/")) or "file"
    used = set(taken)
    candidate, number = base, 1
    while candidate in used:
        number += 1
        candidate = f"{base}.{number}"
    return candidate


def data_fields(contents: Mapping[str, bytes]) -> dict[str, Any]:
    """`data` for text, `binaryData` (base64) for anything that is not UTF-8."""
    text: dict[str, str] = {}
    binary: dict[str, str] = {}
    for name, content in contents.items():
        try:
            text[name] = content.decode()
        except UnicodeDecodeError:
            binary[name] = base64.b64encode(content).decode()
    fields: dict[str, Any] = {}
    if text or not binary:
        fields["data"] = text
    if binary:
        fields["binaryData"] = binary
    return fields


def config_map(
    name: str,
    namespace: str,
    labels: Mapping[str, str],
    contents: Mapping[str, bytes],
    annotations: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": metadata(name, namespace, labels, annotations),
        **data_fields(contents),
    }


def absolute(spec: FileSpec) -> str:
    return posixpath.join(spec.directory, spec.path.strip("/"))


@dataclass(frozen=True)
class ConfigMount:
    """One ConfigMap mounted into a gate: a whole folder, or one file (subPath) when the folder
    is a top-level one such as /etc, which must not be hidden."""

    config_map: str
    mount_path: str
    items: tuple[tuple[str, str, int], ...]  # key, path under the mount, mode
    sub_path: str | None = None


def gate_config(
    pod: str, namespace: str, labels: Mapping[str, str], files: Iterable[FileSpec]
) -> tuple[list[dict[str, Any]], list[ConfigMount]]:
    """A gate's files: one ConfigMap per folder they are in, and how each is mounted."""
    by_folder: dict[str, list[FileSpec]] = {}
    for spec in files:
        by_folder.setdefault(posixpath.dirname(absolute(spec)), []).append(spec)
    maps: list[dict[str, Any]] = []
    mounts: list[ConfigMount] = []
    for index, (folder, specs) in enumerate(sorted(by_folder.items())):
        name = f"{pod}-config" + (f"-{index + 1}" if index else "")
        contents: dict[str, bytes] = {}
        items = []
        for spec in specs:
            key = file_key(posixpath.basename(absolute(spec)), contents)
            contents[key] = spec.content
            items.append((key, posixpath.basename(absolute(spec)), spec.mode))
        maps.append(config_map(name, namespace, labels, contents))
        if folder.count("/") < 2:  # /etc itself: each file alone
            for key, path, mode in items:
                mounts.append(ConfigMount(name, posixpath.join(folder, path), ((key, path, mode),), sub_path=path))
        else:
            mounts.append(ConfigMount(name, folder, tuple(items)))
    return maps, mounts


@dataclass(frozen=True)
class AgentFiles:
    contents: dict[str, bytes]  # key -> content, for the agent-files ConfigMap
    script: str  # the init container's: copies each file to its place, the CA first


def agent_files(files: Iterable[FileSpec]) -> AgentFiles:
    """The agent's files, but the CA certificate (its own ConfigMap, CA_CONFIG_MAP, which the user
    fills when the rendering holds no values), and the script that puts them in place: folders
    as the Docker backend's archive makes them (private for a private file), then each file with
    its mode."""
    contents: dict[str, bytes] = {}
    lines = ["set -eu", "umask 077"]
    made: set[str] = set()
    for spec in files:
        target = absolute(spec)
        if target == AGENT_CA:
            source = f"{CA_MOUNT}/{CA_KEY}"
            lines.append(
                f"test -s {source} || {{ echo 'ConfigMap {CA_CONFIG_MAP} holds no certificate: see its "
                "annotation' >&2; exit 1; }"
            )
        else:
            key = file_key(spec.path, contents)
            contents[key] = spec.content
            source = f"{FILES_MOUNT}/{key}"
        parts = spec.path.strip("/").split("/")
        for depth in range(1, len(parts)):
            folder = posixpath.join(spec.directory, *parts[:depth])
            if folder not in made:
                made.add(folder)
                mode = 0o700 if spec.mode & 0o077 == 0 else 0o755
                quoted = shlex.quote(folder)
                lines.append(f"[ -d {quoted} ] || {{ mkdir {quoted} && chmod {mode:o} {quoted}; }}")
        quoted = shlex.quote(target)
        lines.append(f"cp {source} {quoted} && chmod {spec.mode:o} {quoted}")
    return AgentFiles(contents, "\n".join(lines) + "\n")
