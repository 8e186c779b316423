"""The plan as the JSON object `bottle-launch plan --json` prints."""

from __future__ import annotations

from typing import Any

from ._model import EgressRule, Plan
from ._resources import bottle_limits, describe_limits


def describe(plan: Plan) -> dict[str, Any]:
    return {
        "agent": plan.agent,
        "bottle": plan.bottle,
        "sources": list(plan.sources),
        "env": [
            {
                "name": e.name,
                "source": e.source,
                **({"credential_hosts": list(e.credential_hosts)} if e.credential_hosts else {}),
            }
            for e in plan.env
        ],
        "skills": list(plan.skills),
        "prompt": plan.prompt,
        "claude": {"permission_mode": plan.claude_permission_mode, "model": plan.claude_model},
        "ssh": [{"host": s.host, "hostname": s.hostname, "port": s.port, "user": s.user} for s in plan.ssh],
        "git": [{"host": g.host, "hostname": g.hostname, "port": g.port, "repos": list(g.repos)} for g in plan.git],
        "egress": {
            "allowlist": list(plan.egress_allowlist),
            # A host named here lets through only the requests one of its rules matches.
            "rules": [_rule(rule) for rule in plan.egress_rules],
            "allow_cidrs": list(plan.egress_allow_cidrs),
            "passthrough": list(plan.egress_passthrough),
            "ports": {host: list(ports) for host, ports in plan.egress_ports},
            "mode": plan.egress_mode,
            "backend": plan.egress_backend,
        },
        # As the plan asks; the launcher caps CPUs at what the engine has and drops the disk limit
        # where the engine cannot apply it (the preflight shows what applies).
        "resources": {
            "set": list(plan.resources_set),
            **{role: describe_limits(limits) for role, limits in bottle_limits(plan).items()},
        },
    }


def _rule(rule: EgressRule) -> dict[str, Any]:
    """As the manifest writes it: a key it left out (any method, any path) stays out."""
    shown: dict[str, Any] = {"host": rule.host}
    if rule.methods:
        shown["methods"] = list(rule.methods)
    if rule.paths:
        shown["paths"] = list(rule.paths)
    return shown
