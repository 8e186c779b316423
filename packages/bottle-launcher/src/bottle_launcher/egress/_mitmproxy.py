"""The default engine: mitmproxy with `egress_gate`'s addon (images/egress)."""

from __future__ import annotations

from bottle_contract.egress import KNOWN_FILE, MITMPROXY_CA_FILE

from ..egress_ca import BottleCA
from ..plan import EgressSidecar, Plan


class MitmproxyBackend:
    name = "mitmproxy"
    swaps_credentials = True
    live_policy = True  # egress_gate's LiveWatch applies the live document as it is written

    def sidecar(self, plan: Plan) -> EgressSidecar:
        return EgressSidecar("egress")  # the policy document is all the addon reads

    def handover_files(self, ca: BottleCA, known: bytes) -> dict[str, bytes]:
        return {MITMPROXY_CA_FILE: ca.mitmproxy_pem, KNOWN_FILE: known}

    def notice(self) -> str | None:
        return None
