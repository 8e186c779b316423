"""The small config the launcher writes into the sidecar before it starts, and the files the
launcher hands over into its tmpfs (the CA key, the bottle's known secrets)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_PATH = "/etc/egress-gate/config.json"
HANDOVER_DIR = "/run/egress-gate"  # tmpfs; also mitmproxy's confdir (it holds the CA key)


@dataclass(frozen=True)
class GateConfig:
    bottle: str
    allowlist: tuple[str, ...]
    port: int = 8888
    allow_cidrs: tuple[str, ...] = ()
    passthrough: tuple[str, ...] = ()
    upstream_ca: str | None = None  # extra PEM CAs the gate trusts for upstreams (a private CA)
    mode: str = "enforce"  # "report": let through and log what enforce would block
    ports: dict[str, tuple[int, ...]] = field(default_factory=dict)  # host (or *.domain) -> ports beyond 80, 443

    @classmethod
    def load(cls, path: str | os.PathLike[str] | None = None) -> GateConfig:
        where = Path(path or os.environ.get("EGRESS_GATE_CONFIG", DEFAULT_PATH))
        data = json.loads(where.read_text())
        return cls(
            bottle=data["bottle"],
            allowlist=tuple(data["allowlist"]),
            port=int(data.get("port", 8888)),
            allow_cidrs=tuple(data.get("allow_cidrs", ())),
            passthrough=tuple(data.get("passthrough", ())),
            upstream_ca=data.get("upstream_ca"),
            mode=str(data.get("mode", "enforce")),
            ports={str(host): tuple(int(p) for p in ports) for host, ports in (data.get("ports") or {}).items()},
        )

    @property
    def handover(self) -> Path:
        return Path(os.environ.get("EGRESS_GATE_HANDOVER", HANDOVER_DIR))
