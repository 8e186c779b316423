"""The default engine: mitmproxy with `egress_gate`'s addon (images/egress)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..egress_ca import BottleCA
from ._gate_config import gate_config

if TYPE_CHECKING:  # the plan imports the backends; at run time they need only its attributes
    from ..plan._model import Plan


class MitmproxyBackend:
    name = "mitmproxy"
    image = "egress"

    def config_files(self, plan: Plan, upstream_ca: bool) -> dict[str, bytes]:
        return {"egress-gate/config.json": gate_config(plan, upstream_ca)}

    def handover_files(self, ca: BottleCA, known: bytes) -> dict[str, bytes]:
        return {"mitmproxy-ca.pem": ca.mitmproxy_pem, "known.json": known}
