"""One socat per forward, supervised: if any of them dies, the gate exits (and so fails closed)."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from ._config import Forward, GateConfig

# Enough for many parallel git/ssh sessions from one agent, bounded so a loop cannot fork-bomb.
MAX_CHILDREN = 64
CONNECT_TIMEOUT = 10
BUFFER = 262144


def socat_argv(forward: Forward, allow_from: str) -> list[str]:
    # No -T: an idle-timeout would cut quiet, long-lived ssh sessions. The target is resolved
    # on every connection, so /etc/hosts pins apply. range= drops peers outside the bottle.
    listen = f"TCP-LISTEN:{forward.listen},fork,reuseaddr,range={allow_from},max-children={MAX_CHILDREN}"
    target = f"TCP:{forward.host}:{forward.port},connect-timeout={CONNECT_TIMEOUT}"
    # -b: socat moves 8 KiB per syscall by default; under gVisor each syscall is costly.
    return ["socat", "-d", "-b", str(BUFFER), listen, target]


def _listening_ports() -> set[int]:
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 3 and fields[3] == "0A":  # TCP_LISTEN
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def start(config: GateConfig) -> list[subprocess.Popen[bytes]]:
    return [subprocess.Popen(socat_argv(f, config.allow_from)) for f in config.forwards]


def wait_listening(config: GateConfig, processes: list[subprocess.Popen[bytes]], timeout: float = 10) -> None:
    wanted = {f.listen for f in config.forwards}
    deadline = time.monotonic() + timeout
    while not wanted <= _listening_ports():
        for forward, process in zip(config.forwards, processes, strict=True):
            if process.poll() is not None:
                raise RuntimeError(f"forwarder for {forward.alias} exited with {process.returncode}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"forwarders not listening after {timeout:.0f} s: {sorted(wanted - _listening_ports())}")
        time.sleep(0.02)
