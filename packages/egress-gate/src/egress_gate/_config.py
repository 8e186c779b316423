"""The config the launcher writes into the sidecar before it starts (bottle_contract.egress),
and where the launcher hands over the CA key and the bottle's known secrets (a tmpfs)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from bottle_contract.egress import CONFIG_PATH, HANDOVER_DIR, EgressConfig

__all__ = ["GateConfig"]


@dataclass(frozen=True)
class GateConfig(EgressConfig):
    @classmethod
    def load(cls, path: str | os.PathLike[str] | None = None) -> GateConfig:
        where = Path(path or os.environ.get("EGRESS_GATE_CONFIG", CONFIG_PATH))
        return cls.from_json(where.read_bytes())

    @property
    def handover(self) -> Path:
        return Path(os.environ.get("EGRESS_GATE_HANDOVER", HANDOVER_DIR))
