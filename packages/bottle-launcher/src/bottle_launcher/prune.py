"""Remove what a killed launcher left behind. Labels are the source of truth: a bottle whose
launcher process is gone (on this host) is an orphan, unless it was detached and still runs."""

from __future__ import annotations

import os
import socket

from .runtime import BottleInfo, RuntimeBackend


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def is_orphan(info: BottleInfo, host: str) -> bool:
    if info.launcher_host != host or _alive(info.launcher_pid):
        return False
    return not (info.detached and info.agent_state == "running")


def prune_orphans(backend: RuntimeBackend) -> list[str]:
    host = socket.gethostname()
    removed = []
    for info in backend.list():
        if is_orphan(info, host):
            backend.down(info.bottle_id)
            removed.append(info.bottle_id)
    return removed
