"""Write secrets into a running container's tmpfs through an exec's stdin.

Measured on this engine: values passed as `environment=` land in config.v2.json on disk and in
`docker inspect`; put_archive into a tmpfs path lands in the overlay layer instead. Only an
exec's stdin reaches the tmpfs without touching disk.
"""

from __future__ import annotations

import io
import socket
import tarfile
import time
from collections.abc import Mapping
from typing import Any

from bottle_contract.handover import MARKER
from docker import APIClient
from docker.utils.socket import frames_iter

from ...errors import LaunchError

# One exec for all files, as a tar on stdin: each exec costs about 0.2 s under gVisor (measured).
# The marker goes in under a temporary name and is renamed last, so whoever waits for it never
# reads half a handover. Paths are argv ($1, $2), never content.
_UNPACK = (
    'umask 077; mkdir -p "$1" && tar -x --no-same-owner --no-same-permissions -f - -C "$1" && mv "$1/.$2.part" "$1/$2"'
)


def encode_env(env: Mapping[str, str]) -> bytes:
    for name, value in env.items():
        if "\0" in value or "\0" in name or "=" in name:
            raise LaunchError(f"env {name!r} contains a character that cannot be passed (NUL or '=' in the name)")
    return b"".join(f"{name}={value}".encode() + b"\0" for name, value in env.items())


def raw_socket(stream: Any) -> socket.socket:
    # docker-py returns a SocketIO wrapper for unix sockets and the socket itself otherwise.
    return getattr(stream, "_sock", stream)


def _tar(files: Mapping[str, bytes], marker: bytes) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name, content in [*files.items(), (f".{MARKER}.part", marker)]:
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(content), 0o600, int(time.time())
            archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


class Handover:
    """An exec in the container, already waiting on stdin to unpack files into `directory`.

    Opened ahead of time, so the exec's start (the slow part) overlaps other work and only the
    bytes remain when the handover is due. Closing it unsent hands over nothing."""

    def __init__(self, api: APIClient, container: str, directory: str, user: str) -> None:
        self._api = api
        self._exec_id: str = api.exec_create(
            container,
            ["sh", "-c", _UNPACK, "unpack", directory, MARKER],
            stdin=True,
            stdout=True,
            stderr=True,
            user=user,
        )["Id"]
        self._sock = raw_socket(api.exec_start(self._exec_id, socket=True))

    def send(self, files: Mapping[str, bytes], marker: bytes) -> None:
        """Write `files`, then the marker (the `env` file) last; raise if the unpack failed."""
        try:
            self._sock.sendall(_tar(files, marker))
            self._sock.shutdown(socket.SHUT_WR)
            output = b"".join(data for _, data in frames_iter(self._sock, tty=False))
        finally:
            self._sock.close()
        deadline = time.monotonic() + 10
        while True:
            info = self._api.exec_inspect(self._exec_id)
            if not info["Running"] and info["ExitCode"] is not None:
                break
            if time.monotonic() > deadline:
                raise LaunchError("handing the secrets over timed out")
            time.sleep(0.01)
        if info["ExitCode"] != 0:
            detail = output.decode(errors="replace").strip()[-500:]
            raise LaunchError(f"handing the secrets over failed (exit {info['ExitCode']}): {detail}")

    def close(self) -> None:
        self._sock.close()
