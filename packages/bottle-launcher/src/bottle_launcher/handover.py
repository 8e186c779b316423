"""The handover as the launcher sends it, whatever applies the bottle: the container's secret
files and its marker (bottle_contract.handover), as one tar that one shell command unpacks into
the tmpfs, the marker renamed last so whoever waits for it never reads half a handover. The
Docker backend streams it into an exec's stdin; a Kubernetes rendering stores it for
`kubectl exec -i`. Paths are argv ($1, $2), never content."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Mapping

from bottle_contract.handover import MARKER

from .errors import LaunchError

UNPACK = (
    'umask 077; mkdir -p "$1" && tar -x --no-same-owner --no-same-permissions -f - -C "$1" && mv "$1/.$2.part" "$1/$2"'
)


def encode_env(env: Mapping[str, str]) -> bytes:
    """The marker's content: NUL-separated NAME=value records."""
    for name, value in env.items():
        if "\0" in value or "\0" in name or "=" in name:
            raise LaunchError(f"env {name!r} contains a character that cannot be passed (NUL or '=' in the name)")
    return b"".join(f"{name}={value}".encode() + b"\0" for name, value in env.items())


def handover_tar(files: Mapping[str, bytes], marker: bytes, mtime: int = 0) -> bytes:
    """`files`, then the marker as `.<MARKER>.part`, for UNPACK to put in place."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name, content in [*files.items(), (f".{MARKER}.part", marker)]:
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(content), 0o600, mtime
            archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()
