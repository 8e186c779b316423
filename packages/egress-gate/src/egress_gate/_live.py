"""Live allowlist changes: how `bottle-launch allow` and `deny` (a `LivePolicy` document) change
the policy a bottle started with. One function, `live_policy`, that the gate applies to every
later decision and `bottle-launch check <bottle-id>` applies to answer as the running gate would.

The change touches the allowlist only. The known secrets stay as they were handed over, so a
credential still goes only to its own hosts: allowing a host never makes one go there. Method and
path rules stay with their entries: an entry an `allow` adds is a plain one, and the launcher
adds none for a name an entry already decides, so a rule is never voided by a wider entry."""

from __future__ import annotations

from dataclasses import replace

from bottle_contract.egress import EgressConfig, LivePolicy

from egress_gate._policy import DENIED, Step
from egress_gate._rules import Policy
from egress_gate._secrets import KnownSecret

# The allowlist steps whose refusal a live `allow` undoes (not an SSRF, port or DLP refusal).
LIVE_RULES = ("not-allowlisted", DENIED)


def merged(config: EgressConfig, live: LivePolicy | None) -> EgressConfig:
    """The config's allowlist plus `allow`, minus the entries `deny` names; the rules of an
    entry taken off go with it. (`deny` also refuses every name it matches: `Policy.denied`.)"""
    if live is None:
        return config
    denied = set(live.deny)
    allowlist = tuple(dict.fromkeys(e for e in (*config.allowlist, *sorted(live.allow)) if e not in denied))
    rules = tuple(rule for rule in config.rules if rule.host in allowlist)
    return replace(config, allowlist=allowlist, rules=rules)


def live_policy(config: EgressConfig, known: tuple[KnownSecret, ...], live: LivePolicy | None) -> Policy:
    """The policy a gate started with `config` and `known` decides by once `live` was written."""
    if live is None:
        return Policy(config, known)
    return Policy(merged(config, live), known, denied=tuple(live.deny), live=live)


def changes(old: Policy, new: Policy) -> tuple[list[str], list[str]]:
    """What a change did, for its event line: (entries now allowed, entries now refused)."""
    before, after = set(old.config.allowlist) - set(old.denied), set(new.config.allowlist) - set(new.denied)
    added = sorted((after - before) | (set(old.denied) - set(new.denied)))
    removed = sorted((before - after) | (set(new.denied) - set(old.denied)))
    return added, removed


def allow_command(bottle_id: str, host: str) -> str:
    """The command a person runs on the host to let `host` through a running bottle now."""
    return f"bottle-launch allow {bottle_id} {host}"


def live_hint(policy: Policy, host: str, step: Step) -> str | None:
    """The allow command for a refusal a live `allow` undoes, when the bottle is a running one."""
    if step.allowed or step.rule not in LIVE_RULES or not policy.config.bottle_id:
        return None
    return allow_command(policy.config.bottle_id, host)
