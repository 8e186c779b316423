"""The small config the launcher writes into the sidecar before it starts."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_PATH = "/etc/egress-gate/config.json"


@dataclass(frozen=True)
class GateConfig:
    bottle: str
    allowlist: tuple[str, ...]
    port: int = 8888

    @classmethod
    def load(cls, path: str | os.PathLike[str] | None = None) -> GateConfig:
        where = Path(path or os.environ.get("EGRESS_GATE_CONFIG", DEFAULT_PATH))
        data = json.loads(where.read_text())
        return cls(bottle=data["bottle"], allowlist=tuple(data["allowlist"]), port=int(data.get("port", 8888)))
