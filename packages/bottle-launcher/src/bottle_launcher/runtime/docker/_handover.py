"""Write secrets into a running container's tmpfs through an exec's stdin.

Measured on this engine: values passed as `environment=` land in config.v2.json on disk and in
`docker inspect`; put_archive into a tmpfs path lands in the overlay layer instead. Only an
exec's stdin reaches the tmpfs without touching disk.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Mapping
from typing import Any

from docker import APIClient

from ...errors import LaunchError

# The path is argv ($1), never the content. Written then renamed, so a reader never sees half.
_WRITE = 'umask 077; mkdir -p "$(dirname "$1")" && cat > "$1.tmp" && mv "$1.tmp" "$1"'


def encode_env(env: Mapping[str, str]) -> bytes:
    for name, value in env.items():
        if "\0" in value or "\0" in name or "=" in name:
            raise LaunchError(f"env {name!r} contains a character that cannot be passed (NUL or '=' in the name)")
    return b"".join(f"{name}={value}".encode() + b"\0" for name, value in env.items())


def raw_socket(stream: Any) -> socket.socket:
    # docker-py returns a SocketIO wrapper for unix sockets and the socket itself otherwise.
    return getattr(stream, "_sock", stream)


def write_via_exec(api: APIClient, container: str, path: str, payload: bytes, user: str) -> None:
    exec_id = api.exec_create(
        container, ["sh", "-c", _WRITE, "write", path], stdin=True, stdout=True, stderr=True, user=user
    )["Id"]
    stream = api.exec_start(exec_id, socket=True)
    sock = raw_socket(stream)
    try:
        sock.sendall(payload)
        sock.shutdown(socket.SHUT_WR)
        while sock.recv(4096):
            pass
    finally:
        sock.close()
    deadline = time.monotonic() + 10
    while True:
        info = api.exec_inspect(exec_id)
        if not info["Running"] and info["ExitCode"] is not None:
            break
        if time.monotonic() > deadline:
            raise LaunchError("handing the secrets to the agent timed out")
        time.sleep(0.01)
    if info["ExitCode"] != 0:
        raise LaunchError(f"handing the secrets to the agent failed (exit {info['ExitCode']})")
