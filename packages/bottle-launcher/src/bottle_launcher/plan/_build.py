from __future__ import annotations

from bottle_manifest import AgentSpec, checkout_folder

from ._model import Checkout, EgressRule, EnvVar, GitRemote, Plan, SshRemote
from ._resources import RESOURCE_KEYS, agent_limits


def build_plan(spec: AgentSpec) -> Plan:
    bottle = spec.bottle
    return Plan(
        agent=spec.name,
        bottle=spec.bottle_name,
        sources=tuple(str(path) for path in spec.sources),
        env=tuple(
            EnvVar(name, source, tuple(spec.credential_hosts().get(name, ())))
            for name, source in spec.env_sources().items()
        ),
        skills=tuple(spec.agent.skills),
        prompt=spec.agent.prompt,
        ssh=tuple(
            SshRemote(
                e.host,
                e.hostname,
                e.port,
                e.user,
                e.known_host_key,
                e.identity_file,
                tuple(sorted(e.extra_hosts.items())),
            )
            for e in bottle.ssh
        ),
        git=tuple(
            GitRemote(
                e.host,
                e.hostname,
                e.port,
                e.user,
                tuple(e.repos),
                e.known_host_key,
                e.identity_file,
                tuple(sorted(e.extra_hosts.items())),
            )
            for e in bottle.git
        ),
        egress_allowlist=tuple(spec.egress_allowlist),
        egress_allow_cidrs=tuple(bottle.egress.allow_cidrs),
        egress_passthrough=tuple(bottle.egress.passthrough),
        egress_mode=bottle.egress.mode,
        egress_backend=bottle.egress.backend,
        egress_ports=tuple((host, tuple(ports)) for host, ports in sorted(bottle.egress.ports.items())),
        egress_rules=tuple(EgressRule(r.host, tuple(r.methods), tuple(r.paths)) for r in spec.egress_rules),
        claude_permission_mode=spec.agent.claude.permission_mode,
        claude_model=spec.agent.claude.model,
        resources=agent_limits(bottle.resources),
        resources_set=tuple(key for key in RESOURCE_KEYS if getattr(bottle.resources, key) is not None),
        checkouts=tuple(
            Checkout(repo, f"{entry.host}:{repo}", checkout_folder(repo))
            for repo in spec.agent.checkout
            for entry in bottle.git
            if repo in entry.repos
        ),
        persist=spec.agent.persist,
        project=str(spec.agent_source.parent.resolve()),
        bottle_source=str(spec.bottle_source.resolve()),
    )
