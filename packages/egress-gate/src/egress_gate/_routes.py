"""Method-and-path rules: which requests to an allowlisted host its entry's rules let through.

The allowlist entry that decides a host (`_policy.match`: the name itself, else the longest
`*.domain` over it) has either no rules, and then any request goes, or rules, and then a request
must match one of them: its method among the rule's methods (when it names some) and its path
matched by one of the rule's patterns (when it names some; `_paths.py` says how a path is read).
A refusal is rule `method` when no rule takes the method, else `path`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from bottle_contract.egress import EgressConfig, Rule

from egress_gate._paths import UnclearPath, matches, segments, shown
from egress_gate._policy import Step, match
from egress_gate._request import Request

RULES = "rules"  # the step's check


def rules_for(config: EgressConfig, host: str) -> tuple[str | None, tuple[Rule, ...]]:
    """The allowlist entry deciding `host`, and that entry's rules (none: any request goes)."""
    entry = match(host, config.allowlist)
    return entry, tuple(rule for rule in config.rules if rule.host == entry)


def describe(rule: Rule) -> str:
    """A rule in a person's words: `GET, HEAD to /repos/acme/*`."""
    methods = ", ".join(rule.methods) if rule.methods else "any method"
    paths = ", ".join(rule.paths) if rule.paths else "any path"
    return f"{methods} to {paths}"


def check_rules(config: EgressConfig, request: Request) -> Step | None:
    """The rules step, or None when the request's host has no rules (a plain allowlist entry, an
    IP literal admitted by allow_cidrs)."""
    entry, rules = rules_for(config, request.host)
    if entry is None or not rules:
        return None
    where = f"bottles.{config.bottle}.egress.allowlist entry for {entry}"
    method = request.method.upper()
    by_method = [rule for rule in rules if not rule.methods or method in rule.methods]
    if not by_method:
        allowed = ", ".join(dict.fromkeys(m for rule in rules for m in rule.methods))
        return Step(RULES, False, "method", f"{method} is not a method the rules for {entry} allow ({allowed})",
                    f'add "{method}" to the methods of {where}')  # fmt: skip
    try:
        parts: tuple[str, ...] | None = segments(request.path)
    except UnclearPath as unclear:
        parts, why = None, str(unclear)
    for rule in by_method:
        if not rule.paths or (parts is not None and any(matches(p, parts) for p in rule.paths)):
            path = shown(parts) if parts is not None else "its path"
            return Step(RULES, True, f"rules:{entry}", f"{method} {path} matches a rule for {entry}: {describe(rule)}")
    patterns = ", ".join(_patterns(by_method))
    if parts is None:
        # No pattern could make such a path unambiguous: there is no manifest change to suggest.
        return Step(RULES, False, "path", f"the path {why}, so no path rule for {entry} matches it ({patterns})")
    path = shown(parts)
    return Step(RULES, False, "path", f"{path} is not a path the rules for {entry} allow for {method} ({patterns})",
                f'add a pattern matching "{path}" to the paths of {where}')  # fmt: skip


def _patterns(rules: Sequence[Rule]) -> Iterable[str]:
    return dict.fromkeys(pattern for rule in rules for pattern in rule.paths)


def withholds(steps: Iterable[Step]) -> bool:
    """A rules step refused the request: its host's credentials are not swapped into it, even in
    report mode, where it is let through. A rule names what a credential may be used for."""
    return any(step.check == RULES and not step.allowed for step in steps)
