"""What an egress engine provides: the image that runs the gate, the files it is configured
with beyond the policy every engine reads (plan/_egress.py), the secrets handed into its tmpfs,
and what it cannot do. Every engine listens on the same port, trusts the same per-bottle CA and
logs the same event lines (bottle_contract), so the agent side never changes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from ...egress_ca import BottleCA

if TYPE_CHECKING:
    from ...plan import EgressSidecar, Plan


class EgressBackend(Protocol):
    name: str
    # The agent holds placeholders and the gate swaps the real values in. An engine that cannot
    # gets the real values in the agent, and no credential may be declared for it.
    swaps_credentials: bool
    # The gate applies a running bottle's allowlist changes (`bottle-launch allow`/`deny`, the
    # LIVE_FILE document) without a restart. An engine that cannot reload its config refuses them.
    live_policy: bool

    def sidecar(self, plan: Plan) -> EgressSidecar:
        """The gate's image and the engine's own config files."""

    def handover_files(self, ca: BottleCA, known: bytes) -> dict[str, bytes]:
        """Files for the gate's tmpfs (the CA key, the bottle's known secrets)."""

    def notice(self) -> str | None:
        """What the user must hear before starting a bottle with this engine, if anything."""
