"""The bottle's own secrets, handed to the gate at launch (a tmpfs file, never its config).

A plain env value may go to any allowlisted host (`*`). A credential is a value the agent never
held: the agent has a same-length placeholder, and only requests to the credential's hosts get
the real value swapped in. Both forms of a credential are recognised anywhere else and refused."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from egress_gate._policy import match


@dataclass(frozen=True)
class KnownSecret:
    value: str
    hosts: tuple[str, ...]
    name: str = ""  # the env name, for a credential's 403 hint
    placeholder: str | None = None  # set for a credential: what the agent holds instead

    def may_go_to(self, host: str) -> bool:
        return "*" in self.hosts or match(host, self.hosts) is not None

    @property
    def forms(self) -> tuple[str, ...]:
        return (self.value, self.placeholder) if self.placeholder else (self.value,)


def load_known(path: Path) -> tuple[KnownSecret, ...]:
    if not path.exists():
        return ()
    data = json.loads(path.read_text() or "[]")
    return tuple(
        KnownSecret(str(item["value"]), tuple(item["hosts"]), str(item.get("name", "")), item.get("placeholder"))
        for item in data
    )


def swaps_for(known: tuple[KnownSecret, ...], host: str) -> tuple[tuple[bytes, bytes], ...]:
    """(placeholder, real value) for each credential that `host` may receive."""
    return tuple((k.placeholder.encode(), k.value.encode()) for k in known if k.placeholder and k.may_go_to(host))


def swap(data: bytes, swaps: tuple[tuple[bytes, bytes], ...]) -> bytes:
    for placeholder, value in swaps:
        data = data.replace(placeholder, value)
    return data


def swap_text(text: str, swaps: tuple[tuple[bytes, bytes], ...]) -> str:
    for placeholder, value in swaps:
        text = text.replace(placeholder.decode(), value.decode())
    return text
