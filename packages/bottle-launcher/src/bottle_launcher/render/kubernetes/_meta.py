"""Names, labels and the options every object shares."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ...plan import LABEL, RuntimePlan, persisted_volumes

ROLE_LABEL = f"{LABEL}.role"
ID_LABEL = f"{LABEL}.id"
AGENT_POD = "agent"
# A label value: at most 63 characters, alphanumerics at both ends, `-_.` between.
_LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?\Z")


@dataclass(frozen=True)
class KubeOptions:
    images: Mapping[str, str]  # image key -> reference (render._offline.image_references)
    runtime_class: str | None = "gvisor"  # a RuntimeClass of gVisor or Kata; None: the node's default
    # The cluster's Pod network: the ssh gate serves only peers in it, and the git gate finds its
    # own address through it (bottle_contract.network.SUBNET_VAR); the NetworkPolicies do the rest.
    pod_cidr: str = "10.0.0.0/8"
    storage_class: str | None = None  # for an agent that persists: its PersistentVolumeClaims'
    dns_namespace: str = "kube-system"  # where the cluster's DNS Pods run ...
    dns_labels: Mapping[str, str] = field(default_factory=lambda: {"k8s-app": "kube-dns"})  # ... and their labels


def slug(text: str, limit: int = 63) -> str:
    """A DNS label (RFC 1123): lower-case alphanumerics and '-', at most `limit` characters."""
    cleaned = re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")
    return cleaned[:limit].rstrip("-") or "x"


def namespace(runtime: RuntimePlan) -> str:
    """The bottle's own Namespace. An agent that persists keeps one per (agent, project) instead,
    holding its PersistentVolumeClaims from one bottle to the next; a Pod named `agent` can
    exist there once, so it runs in one bottle at a time (as `start` insists)."""
    plan = runtime.plan
    if plan.persist:
        key = next(iter(persisted_volumes(plan))).removesuffix("-work").rsplit("-", 1)[-1]
        return slug(f"claude-bottle-{plan.agent}", 54) + f"-{key}"
    return slug(f"bottle-{plan.agent}", 46) + f"-{slug(runtime.bottle_id, 16)}"


def split_labels(labels: Mapping[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """The labels Kubernetes accepts as labels, and the rest (a path, a long name) as annotations
    under the same keys, so nothing the Docker backend records is lost."""
    kept, moved = {}, {}
    for name, value in labels.items():
        if len(value) <= 63 and _LABEL_VALUE.match(value):
            kept[name] = value
        else:
            moved[name] = value
    return kept, moved


def metadata(
    name: str,
    namespace_name: str | None,
    labels: Mapping[str, str],
    annotations: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    kept, moved = split_labels(labels)
    data: dict[str, Any] = {"name": name}
    if namespace_name is not None:
        data["namespace"] = namespace_name
    data["labels"] = kept
    notes = {**moved, **(annotations or {})}
    if notes:
        data["annotations"] = notes
    return data


def selector(runtime: RuntimePlan, role: str) -> dict[str, str]:
    """What picks one container's Pod: the bottle's id and the role."""
    return {ID_LABEL: runtime.bottle_id, ROLE_LABEL: role}


def pod_name(role: str, hostname: str | None) -> str:
    """A gate's Pod and Service are named as the agent knows the gate (egress-gate, ...)."""
    return hostname or slug(role)
