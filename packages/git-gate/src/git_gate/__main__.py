"""The git gate's entrypoint: wait for the identities, build the mirrors from upstream, then run
git daemon on the bottle's internal address only, reporting health as JSON lines."""

from __future__ import annotations

import ipaddress
import os
import signal
import socket
import subprocess
import sys
import time
from functools import partial

from bottle_contract import events, handover
from bottle_contract.git import BASE_PATH, HANDOVER_DIR
from bottle_contract.network import SUBNET_VAR

from ._config import ConfigError, GateConfig
from ._mirrors import HOOKS_DIR, prepare
from ._upstream import UpstreamError

_event = partial(events.emit, "git")


def _wait_for_handover() -> None:
    if not handover.wait(HANDOVER_DIR):
        raise ConfigError(f"the launcher did not hand over the upstream identities within {handover.TIMEOUT:g} s")


def internal_address(subnet: str) -> str:
    """Our own address on the bottle's internal network: the source of a route into it."""
    network = ipaddress.ip_network(subnet)
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect((str(network.network_address + 1), 9))  # UDP connect sends nothing
        return str(probe.getsockname()[0])
    finally:
        probe.close()


def daemon_argv(address: str, port: int) -> list[str]:
    return [
        "git", "daemon", "--export-all", "--enable=receive-pack", f"--base-path={BASE_PATH}",
        f"--access-hook={HOOKS_DIR}/access-hook", "--informative-errors", "--reuseaddr",
        # All of an agent's connections come from one address; the default (32) would cut some.
        "--max-connections=256", "--timeout=600", "--init-timeout=30",
        f"--listen={address}", f"--port={port}",
    ]  # fmt: skip


def _wait_listening(address: str, port: int, daemon: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 10
    while True:
        if daemon.poll() is not None:
            raise RuntimeError(f"git daemon exited with {daemon.returncode}")
        try:
            socket.create_connection((address, port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError("git daemon is not listening") from None
            time.sleep(0.02)


def main() -> int:
    try:
        config = GateConfig.load()
        subnet = os.environ.get(SUBNET_VAR, "")
        address = internal_address(subnet)
        _wait_for_handover()
        prepare(config)
    except (ConfigError, UpstreamError, ValueError) as exc:
        _event(events.ERROR, message=str(exc))
        return 1
    daemon = subprocess.Popen(daemon_argv(address, config.port))

    def stop(signum: int, frame: object) -> None:
        daemon.terminate()
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    try:
        _wait_listening(address, config.port, daemon)
    except RuntimeError as exc:
        _event(events.ERROR, message=str(exc))
        daemon.kill()
        return 1
    repos = [repo for remote in config.remotes for repo in remote.repos]
    repos += [config.workspace.repo] if config.workspace else []
    _event(events.READY, bottle=config.bottle, listen=f"{address}:{config.port}", repos=repos)
    code = daemon.wait()
    _event(events.ERROR, message=f"git daemon exited with {code}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
