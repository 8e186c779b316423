"""The small config the launcher writes into the sidecar, plus the subnet the gate serves."""

from __future__ import annotations

import ipaddress
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DEFAULT_PATH = "/etc/ssh-gate/config.json"
SUBNET_VAR = "BOTTLE_AGENT_SUBNET"


class ConfigError(Exception):
    pass


@dataclass(frozen=True)
class Forward:
    alias: str
    listen: int
    host: str
    port: int


@dataclass(frozen=True)
class GateConfig:
    bottle: str
    forwards: tuple[Forward, ...]
    allow_from: str  # CIDR of the bottle's internal network: nobody else may connect

    @classmethod
    def from_data(cls, data: Mapping[str, object], environ: Mapping[str, str]) -> GateConfig:
        subnet = environ.get(SUBNET_VAR, "")
        try:
            allow_from = str(ipaddress.ip_network(subnet))
        except ValueError:
            # Without it the gate could not tell its agent from anyone else: refuse to serve.
            raise ConfigError(f"{SUBNET_VAR} must be the bottle's internal subnet, got {subnet!r}") from None
        raw = data.get("forwards")
        if not isinstance(raw, list) or not raw:
            raise ConfigError("config has no forwards")
        forwards = tuple(Forward(str(f["alias"]), int(f["listen"]), str(f["host"]), int(f["port"])) for f in raw)
        ports = [f.listen for f in forwards]
        if len(set(ports)) != len(ports):
            raise ConfigError(f"listen ports repeat: {ports}")
        return cls(bottle=str(data.get("bottle", "")), forwards=forwards, allow_from=allow_from)

    @classmethod
    def load(cls, path: str | os.PathLike[str] | None = None, environ: Mapping[str, str] | None = None) -> GateConfig:
        where = Path(path or os.environ.get("SSH_GATE_CONFIG", DEFAULT_PATH))
        try:
            data = json.loads(where.read_text())
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot read {where}: {exc}") from None
        return cls.from_data(data, os.environ if environ is None else environ)
