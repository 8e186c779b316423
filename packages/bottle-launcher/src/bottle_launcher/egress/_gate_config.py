"""The small JSON config every egress engine's entrypoint reads (bottle, policy, port)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the plan imports the backends; at run time they need only its attributes
    from ..plan._model import Plan


EGRESS_PORT = 8888
HANDOVER = "/run/egress-gate"  # tmpfs in the egress sidecar: the CA key, known secrets
UPSTREAM_CA_PATH = "/etc/egress-gate/upstream-ca.pem"


def gate_config(plan: Plan, upstream_ca: bool = False) -> bytes:
    return json.dumps(
        {
            "bottle": plan.bottle,
            "allowlist": list(plan.egress_allowlist),
            "allow_cidrs": list(plan.egress_allow_cidrs),
            "passthrough": list(plan.egress_passthrough),
            "mode": plan.egress_mode,
            "ports": {host: list(ports) for host, ports in plan.egress_ports},
            "port": EGRESS_PORT,
            **({"upstream_ca": UPSTREAM_CA_PATH} if upstream_ca else {}),
        },
        indent=2,
    ).encode()
