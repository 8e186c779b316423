"""Run the gate: mitmdump with our addon, on the port the config names."""

from __future__ import annotations

import sys
from pathlib import Path

from egress_gate._config import GateConfig


def main() -> None:
    from mitmproxy.tools.main import mitmdump

    config = GateConfig.load()
    addon = Path(__file__).with_name("addon.py")
    sys.argv = [
        "mitmdump",
        "--quiet",
        "--listen-host",
        "0.0.0.0",
        "--listen-port",
        str(config.port),
        "--set",
        "connection_strategy=lazy",
        "-s",
        str(addon),
    ]
    mitmdump()


if __name__ == "__main__":
    main()
