"""The config the launcher writes into the sidecar (bottle_contract.ssh), plus the subnet the
gate serves, from its environment."""

from __future__ import annotations

import ipaddress
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from bottle_contract import ContractError
from bottle_contract.network import SUBNET_VAR
from bottle_contract.ssh import CONFIG_PATH, Forward, SshConfig

__all__ = ["ConfigError", "Forward", "GateConfig"]


class ConfigError(Exception):
    pass


@dataclass(frozen=True)
class GateConfig:
    bottle: str
    forwards: tuple[Forward, ...]
    allow_from: str  # CIDR of the bottle's internal network: nobody else may connect

    @classmethod
    def from_data(cls, data: Mapping[str, object], environ: Mapping[str, str]) -> GateConfig:
        return cls.parse(json.dumps(data), environ)

    @classmethod
    def parse(cls, document: bytes | str, environ: Mapping[str, str]) -> GateConfig:
        subnet = environ.get(SUBNET_VAR, "")
        try:
            allow_from = str(ipaddress.ip_network(subnet))
        except ValueError:
            # Without it the gate could not tell its agent from anyone else: refuse to serve.
            raise ConfigError(f"{SUBNET_VAR} must be the bottle's internal subnet, got {subnet!r}") from None
        try:
            config = SshConfig.from_json(document)
        except ContractError as exc:
            raise ConfigError(str(exc)) from None
        return cls(bottle=config.bottle, forwards=config.forwards, allow_from=allow_from)

    @classmethod
    def load(cls, path: str | os.PathLike[str] | None = None, environ: Mapping[str, str] | None = None) -> GateConfig:
        where = Path(path or os.environ.get("SSH_GATE_CONFIG", CONFIG_PATH))
        try:
            document = where.read_bytes()
        except OSError as exc:
            raise ConfigError(f"cannot read {where}: {exc}") from None
        return cls.parse(document, os.environ if environ is None else environ)
