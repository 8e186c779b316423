"""Remove what a killed launcher left behind. Labels are the source of truth: a bottle whose
launcher process is gone (on this host) is an orphan, unless it was detached and still runs."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable

from .rescue import Mode
from .runtime import BottleInfo, RuntimeBackend
from .teardown import remove_bottle


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


def prune_orphans(backend: RuntimeBackend, say: Callable[[str], None], mode: Mode = "save") -> list[str]:
    """Remove orphans, saving their unpushed work first: their launcher died before it could."""
    host = socket.gethostname()
    removed = []
    for info in backend.list():
        if is_orphan(info, host):
            remove_bottle(backend, info.bottle_id, info.agent, mode=mode, say=say)
            removed.append(info.bottle_id)
    return removed
