"""The bottle's own secrets, handed to the gate at launch (a tmpfs file, never its config), each
with the hosts allowed to receive it. `*` means any host on the allowlist."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from egress_gate._policy import match


@dataclass(frozen=True)
class KnownSecret:
    value: str
    hosts: tuple[str, ...]

    def may_go_to(self, host: str) -> bool:
        return "*" in self.hosts or match(host, self.hosts) is not None


def load_known(path: Path) -> tuple[KnownSecret, ...]:
    if not path.exists():
        return ()
    data = json.loads(path.read_text() or "[]")
    return tuple(KnownSecret(str(item["value"]), tuple(item["hosts"])) for item in data)
