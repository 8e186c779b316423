"""What an egress backend provides: the image that runs the gate, the files it is configured
with, and the secrets handed into its tmpfs. Both backends listen on the same port, trust the
same per-bottle CA and log the same JSON decision lines, so the agent side never changes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from ...egress_ca import BottleCA

if TYPE_CHECKING:
    from ...plan._model import Plan


class EgressBackend(Protocol):
    name: str
    image: str  # an image key the runtime backend resolves (and builds) to a tag

    def config_files(self, plan: Plan, upstream_ca: bool) -> dict[str, bytes]:
        """Files under /etc/egress-gate, by relative path: public configuration only."""

    def handover_files(self, ca: BottleCA, known: bytes) -> dict[str, bytes]:
        """Files for the gate's tmpfs (the CA key, the bottle's known secrets)."""
