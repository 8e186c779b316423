"""NetworkPolicies: the Docker backend's fences (plan/_fence.py), said to the cluster's CNI.

- Everything in the bottle's Namespace is denied both ways unless a policy below allows it.
- The agent reaches its gates' Pods on their ports (`ContainerSpec.ports`) and the cluster DNS,
  nothing else: not the internet, not the API server, not the node, not other bottles. No
  ingress at all.
- A gate accepts connections from the agent's Pod only, on its own ports. It reaches the cluster
  DNS, and only what the manifest grants: the egress gate any public address on the ports it
  proxies (80, 443, and what `egress.ports` adds; any port in report mode), the ssh and git
  gates their upstreams (the pinned address when the manifest pins one, else any public
  address) on the upstreams' ports. "Public" is 0.0.0.0/0 and ::/0 except the gate's `denied`
  ranges, i.e. the internal ranges less `allow_cidrs`, as the Docker gates' fences have it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from typing import Any

from ...plan import ContainerSpec, RuntimePlan
from ._meta import AGENT_POD, KubeOptions, metadata, pod_name, selector

PROXY_PORTS = (80, 443)  # what the egress gate proxies to without `egress.ports`


def _policy(name: str, namespace: str, labels: Mapping[str, str], spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": metadata(name, namespace, labels),
        "spec": spec,
    }


def _ports(ports: Iterable[int], protocol: str = "TCP") -> list[dict[str, Any]]:
    return [{"protocol": protocol, "port": port} for port in sorted(set(ports))]


def dns_rule(options: KubeOptions) -> dict[str, Any]:
    peer = {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": options.dns_namespace}},
        "podSelector": {"matchLabels": dict(options.dns_labels)},
    }
    return {"to": [peer], "ports": [*_ports([53], "UDP"), *_ports([53], "TCP")]}


def public(denied: Iterable[str]) -> list[dict[str, Any]]:
    """Every address but the `denied` ranges, one ipBlock per family."""
    ranges = [ipaddress.ip_network(r) for r in denied]
    blocks = []
    for version, everything in ((4, "0.0.0.0/0"), (6, "::/0")):
        holes = [str(r) for r in ranges if r.version == version]
        blocks.append({"ipBlock": {"cidr": everything, **({"except": holes} if holes else {})}})
    return blocks


def _address(hostname: str, pins: Mapping[str, str]) -> str | None:
    """The one address a gate dials for `hostname`, when the manifest fixes it."""
    for candidate in (pins.get(hostname), hostname):
        try:
            return str(ipaddress.ip_network(candidate or ""))
        except ValueError:
            continue
    return None


def upstream_rules(runtime: RuntimePlan, spec: ContainerSpec) -> list[dict[str, Any]]:
    plan = runtime.plan
    if spec.role == "egress":
        if plan.egress_mode == "report":  # lets everything through, any port: only addresses are fenced
            return [{"to": public(spec.denied)}]
        extra = [port for _, ports in plan.egress_ports for port in ports]
        return [{"to": public(spec.denied), "ports": _ports([*PROXY_PORTS, *extra])}]
    remotes = plan.ssh if spec.role == "ssh" else plan.git if spec.role == "git" else ()
    rules: list[dict[str, Any]] = []
    for remote in remotes:
        address = _address(remote.hostname, spec.extra_hosts)
        rule = {
            "to": [{"ipBlock": {"cidr": address}}] if address else public(spec.denied),
            "ports": _ports([remote.port]),
        }
        if rule not in rules:
            rules.append(rule)
    return rules


def policies(runtime: RuntimePlan, namespace: str, options: KubeOptions) -> list[dict[str, Any]]:
    labels = runtime.labels("network")
    agent = selector(runtime, "agent")
    everything = _policy("default-deny", namespace, labels, {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]})
    to_gates = [
        {"to": [{"podSelector": {"matchLabels": selector(runtime, spec.role)}}], "ports": _ports(spec.ports)}
        for spec in runtime.sidecars
        if spec.ports
    ]
    result = [
        everything,
        _policy(
            AGENT_POD,
            namespace,
            labels,
            {
                "podSelector": {"matchLabels": agent},
                "policyTypes": ["Ingress", "Egress"],
                "ingress": [],
                "egress": [*to_gates, dns_rule(options)],
            },
        ),
    ]
    for spec in runtime.sidecars:
        ingress = (
            [{"from": [{"podSelector": {"matchLabels": agent}}], "ports": _ports(spec.ports)}] if spec.ports else []
        )
        result.append(
            _policy(
                pod_name(spec.role, spec.hostname),
                namespace,
                labels,
                {
                    "podSelector": {"matchLabels": selector(runtime, spec.role)},
                    "policyTypes": ["Ingress", "Egress"],
                    "ingress": ingress,
                    "egress": [dns_rule(options), *upstream_rules(runtime, spec)],
                },
            )
        )
    return result
