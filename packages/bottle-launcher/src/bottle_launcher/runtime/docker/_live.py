"""A running egress gate's policy documents, read and written through execs as the gate's UID:
its config as it started, and the live policy in its tmpfs (`bottle-launch allow`/`deny`).

Execs, not the archive API: a tmpfs is not in the container's filesystem as the engine's archive
API sees it, and nothing is bind-mounted, so this works the same with a remote DOCKER_HOST."""

from __future__ import annotations

import time
from typing import Any

from bottle_contract import egress

from ...errors import LaunchError
from ._handover import exchange, raw_socket

# Compare-and-swap under a lock, so two launchers' changes never overwrite each other unseen:
# the document goes in only over the serial its writer read (exit 3 otherwise), under a temporary
# name renamed into place, so the gate never reads half of one. The gate image's own python3.
_WRITE = r"""
import fcntl, json, os, sys
directory, name, expected, size = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
document = sys.stdin.buffer.read(size)  # its stated length: over TLS, stdin has no end (_handover)
if len(document) != size:
    sys.exit(5)
os.umask(0o077)
with open(os.path.join(directory, f".{name}.lock"), "w") as lock:
    fcntl.flock(lock, fcntl.LOCK_EX)
    path = os.path.join(directory, name)
    try:
        with open(path, "rb") as current:
            serial = json.load(current).get("serial", 0)
    except FileNotFoundError:
        serial = 0
    if serial != expected:
        sys.exit(3)
    part = os.path.join(directory, f".{name}.part")
    with open(part, "wb") as out:
        out.write(document)
    os.replace(part, path)
"""
_CONFLICT = 3
_TIMEOUT = 30.0


def _wait(api: Any, exec_id: str) -> int:
    deadline = time.monotonic() + _TIMEOUT
    while True:
        info = api.exec_inspect(exec_id)
        if not info["Running"] and info["ExitCode"] is not None:
            return int(info["ExitCode"])
        if time.monotonic() > deadline:
            raise LaunchError("the egress gate did not answer within 30 s")
        time.sleep(0.01)


def read_file(api: Any, container: str, path: str) -> bytes | None:
    """The file's content, or None if there is none."""
    argv = ["sh", "-c", 'if [ -e "$1" ]; then cat "$1"; else exit 4; fi', "read", path]
    exec_id = api.exec_create(container, argv, user=str(egress.UID), stdout=True, stderr=True)["Id"]
    out, err = bytearray(), bytearray()
    for chunk_out, chunk_err in api.exec_start(exec_id, stream=True, demux=True):
        out.extend(chunk_out or b"")
        err.extend(chunk_err or b"")
    code = _wait(api, exec_id)
    if code == 4:
        return None
    if code != 0:
        raise LaunchError(f"reading {path} in the egress gate failed (exit {code}): {err.decode(errors='replace')}")
    return bytes(out)


def write_live(api: Any, container: str, document: bytes, serial: int) -> bool:
    """Put `document` in place as the live policy if the one there has `serial` (0: none yet);
    False when another change came first."""
    argv = ["python3", "-c", _WRITE, egress.HANDOVER_DIR, egress.LIVE_FILE, str(serial), str(len(document))]
    exec_id = api.exec_create(container, argv, stdin=True, stdout=True, stderr=True, user=str(egress.UID))["Id"]
    output = exchange(raw_socket(api.exec_start(exec_id, socket=True)), document)
    code = _wait(api, exec_id)
    if code == _CONFLICT:
        return False
    if code != 0:
        detail = output.decode(errors="replace").strip()[-500:]
        raise LaunchError(f"writing the live policy into the egress gate failed (exit {code}): {detail}")
    return True
