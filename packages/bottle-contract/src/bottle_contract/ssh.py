"""The ssh gate (images/ssh-gate): who it runs as, which ports it forwards, and its config."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Self

from ._json import ContractError, dump, load_object

HOST = "ssh-gate"  # the agent's name for it
UID = 998
CONFIG_DIR = "/etc/ssh-gate"
CONFIG_PATH = f"{CONFIG_DIR}/config.json"
FIRST_PORT = 2201  # the first upstream's forwarder; each next one takes the next port


@dataclass(frozen=True)
class Forward:
    alias: str  # the manifest's host alias
    listen: int
    host: str  # the upstream
    port: int


@dataclass(frozen=True)
class SshConfig:
    """/etc/ssh-gate/config.json. The subnet it serves comes from its environment (network.py)."""

    bottle: str
    forwards: tuple[Forward, ...]

    def to_json(self) -> bytes:
        return dump(
            {
                "bottle": self.bottle,
                "forwards": [
                    {"alias": f.alias, "listen": f.listen, "host": f.host, "port": f.port} for f in self.forwards
                ],
            }
        )

    @classmethod
    def from_json(cls, data: bytes | str) -> Self:
        raw = load_object(data, "the ssh gate's config", frozenset({"bottle", "forwards"}))
        forwards = raw.get("forwards")
        if not isinstance(forwards, list) or not forwards:
            raise ContractError("the ssh gate's config has no forwards")
        try:
            parsed = tuple(Forward(str(f["alias"]), int(f["listen"]), str(f["host"]), int(f["port"])) for f in forwards)
        except (KeyError, TypeError, ValueError) as exc:
            raise ContractError(f"the ssh gate's config: {exc!r}") from None
        ports = [f.listen for f in parsed]
        if len(set(ports)) != len(ports):
            raise ContractError(f"listen ports repeat: {ports}")
        return cls(bottle=str(raw.get("bottle", "")), forwards=parsed)
