"""The egress gate's part of the plan: the policy document every egress engine reads, and what
the chosen engine adds (its image and its own files), handed in by the launcher so the plan
never has to know which engines exist (egress/)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from bottle_contract.egress import PORT, UPSTREAM_CA_PATH, EgressConfig, Rule

from ._model import Plan


@dataclass(frozen=True)
class ImageRecipe:
    """An image that is built on others: on one of ours (by its key) or on one the user names.
    The runtime resolves each to a tag or an image id and passes them as build arguments."""

    key: str  # images/<key>
    built_on: Mapping[str, str] = field(default_factory=dict)  # build argument -> our image key
    # build argument -> an image reference the user supplies; its id is passed too, as <NAME>_ID
    # (NAME without _IMAGE), so a new image under the same reference rebuilds ours.
    external: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class EgressSidecar:
    """What the egress engine puts in the gate beyond the policy: its image and its own files
    (absolute paths under /etc, public)."""

    image: str | ImageRecipe = "egress"
    files: Mapping[str, bytes] = field(default_factory=dict)


def egress_config(plan: Plan, upstream_ca: bool = False, bottle_id: str = "") -> EgressConfig:
    """The policy document; `bottle_id` for a bottle being launched (its 403s name the live
    `bottle-launch allow <id> <host>`), empty for `check`'s plan of an agent."""
    return EgressConfig(
        bottle=plan.bottle,
        bottle_id=bottle_id,
        allowlist=tuple(plan.egress_allowlist),
        port=PORT,
        allow_cidrs=tuple(plan.egress_allow_cidrs),
        passthrough=tuple(plan.egress_passthrough),
        upstream_ca=UPSTREAM_CA_PATH if upstream_ca else None,
        mode=plan.egress_mode,
        ports={host: tuple(ports) for host, ports in plan.egress_ports},
        rules=tuple(Rule(rule.host, rule.methods, rule.paths) for rule in plan.egress_rules),
    )
