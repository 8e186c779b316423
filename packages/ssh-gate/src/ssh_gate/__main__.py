"""Run the gate: start the forwarders, report ready, and exit if any of them stops."""

from __future__ import annotations

import signal
import sys
import time
from functools import partial

from bottle_contract import events

from ._config import ConfigError, GateConfig
from ._forwarders import start, wait_listening

_event = partial(events.emit, "ssh")


def main() -> int:
    try:
        config = GateConfig.load()
    except ConfigError as exc:
        _event(events.ERROR, message=str(exc))
        return 2
    processes = start(config)

    def terminate_all() -> None:
        for process in processes:
            process.terminate()

    def on_sigterm(signum: int, frame: object) -> None:
        terminate_all()
        sys.exit(0)

    signal.signal(signal.SIGTERM, on_sigterm)
    try:
        wait_listening(config, processes)
    except RuntimeError as exc:
        _event(events.ERROR, message=str(exc))
        terminate_all()
        return 1
    _event(
        events.READY,
        bottle=config.bottle,
        allow_from=config.allow_from,
        forwards=[{"alias": f.alias, "listen": f.listen, "to": f"{f.host}:{f.port}"} for f in config.forwards],
    )
    while True:
        for forward, process in zip(config.forwards, processes, strict=True):
            if process.poll() is not None:
                _event(events.ERROR, message=f"forwarder for {forward.alias} exited with {process.returncode}")
                terminate_all()
                return 1
        time.sleep(0.5)


if __name__ == "__main__":
    sys.exit(main())
