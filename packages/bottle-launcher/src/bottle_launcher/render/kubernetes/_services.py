"""One Service per gate, named as the agent knows the gate (egress-gate, ssh-gate, git-gate): in
the bottle's own Namespace, the agent's short name resolves to it through the cluster's DNS
search path, as the Docker backend's /etc/hosts entry does."""

from __future__ import annotations

from typing import Any

from ...plan import ContainerSpec, RuntimePlan
from ._meta import metadata, pod_name, selector


def service(runtime: RuntimePlan, spec: ContainerSpec, namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata(pod_name(spec.role, spec.hostname), namespace, spec.labels),
        "spec": {
            "type": "ClusterIP",
            "selector": selector(runtime, spec.role),
            "ports": [
                {"name": f"tcp-{port}", "protocol": "TCP", "port": port, "targetPort": port} for port in spec.ports
            ],
        },
    }
