"""Run `bottle-launch` in this process and record when each phase of a start begins and ends.

Usage: BENCH_SPAWNED=<time.time() just before the spawn> python _trace_start.py OUT.json ARGS...
The launcher is unchanged: the Docker backend's methods are wrapped here, from outside, and the
phases written to OUT.json as [name, start, end] in seconds since the spawn.
"""

from __future__ import annotations

import atexit
import functools
import json
import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

SPAWNED = float(os.environ["BENCH_SPAWNED"])
OUT = sys.argv[1]
phases: list[tuple[str, float, float]] = [("interpreter", 0.0, time.time() - SPAWNED)]
lock = threading.Lock()


def trace(cls: type, method: str, name: Callable[..., str]) -> None:
    original = getattr(cls, method)

    @functools.wraps(original)
    def traced(*args: Any, **kwargs: Any) -> Any:
        start = time.time() - SPAWNED
        try:
            return original(*args, **kwargs)
        finally:
            with lock:
                phases.append((name(*args, **kwargs), start, time.time() - SPAWNED))

    setattr(cls, method, traced)


from bottle_launcher.runtime.docker import DockerBackend  # noqa: E402

trace(DockerBackend, "up", lambda *a, **k: "up")
trace(DockerBackend, "_create_networks", lambda *a, **k: "networks")
trace(DockerBackend, "_start", lambda self, spec, *a, **k: f"start {spec.role}")
trace(DockerBackend, "_sidecar_ready", lambda self, plan, spec, *a, **k: f"ready {spec.role}")
trace(DockerBackend, "_fence", lambda *a, **k: "fence")
trace(DockerBackend, "attach", lambda *a, **k: "attach")
trace(DockerBackend, "down", lambda *a, **k: "down")


@atexit.register
def _write() -> None:
    with open(OUT, "w") as out:
        json.dump([*phases, ("exit", time.time() - SPAWNED, 0.0)], out)


from bottle_launcher.cli import main  # noqa: E402

phases.append(("imports", phases[0][2], time.time() - SPAWNED))
sys.argv = ["bottle-launch", *sys.argv[2:]]
main()
