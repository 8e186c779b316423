"""`bottle-launch check`: would the bottle's egress gate let this URL through, and why.

The same functions the gate runs (`egress_gate`'s pure policy and scanner) judge the plan's
policy, so the answer cannot drift from the gate's. Nothing is started. The one thing that can
differ is DNS: the name is resolved here, while the gate resolves it from its own network."""

from __future__ import annotations

import socket
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlsplit

from bottle_manifest import DEFAULT_EGRESS_ALLOWLIST
from egress_gate import (
    check_destination,
    check_port,
    decide,
    ip_literal,
    match,
    normalize,
    scan_patterns,
    scan_url_entropy,
)

from .egress_secrets import AGENT_TOKEN_VAR, TOKEN_HOSTS
from .plan import Plan

Resolver = Callable[[str, int], list[str]]


@dataclass(frozen=True)
class Step:
    check: str  # "allowlist", "destination", "tls", "url", "credentials"
    allowed: bool
    rule: str
    detail: str
    hint: str | None = None


@dataclass(frozen=True)
class Verdict:
    url: str
    host: str
    port: int
    mode: str
    steps: list[Step] = field(default_factory=list)

    @property
    def allowed(self) -> bool:
        return all(step.allowed for step in self.steps)

    @property
    def refusal(self) -> Step | None:
        return next((step for step in self.steps if not step.allowed), None)

    @property
    def decision(self) -> str:
        if self.allowed:
            return "allow"
        return "would-block" if self.mode == "report" else "block"

    def as_dict(self) -> dict[str, Any]:
        refusal = self.refusal
        return {
            "url": self.url,
            "host": self.host,
            "port": self.port,
            "mode": self.mode,
            "decision": self.decision,
            "rule": refusal.rule if refusal else None,
            "hint": refusal.hint if refusal else None,
            "steps": [asdict(step) for step in self.steps],
        }


def resolve(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


def parse(url: str) -> tuple[str, str, int]:
    """The URL with a scheme, its host and port; a bare host means https. ValueError if unusable."""
    text = url.strip()
    if "://" not in text:
        text = f"https://{text}"
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"{url!r}: the egress gate carries http and https only (SSH goes through the ssh gate)")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise ValueError(f"{url!r} has an invalid port") from None
    if not parts.hostname:
        raise ValueError(f"{url!r} names no host")
    return text, normalize(parts.hostname), port


def check(plan: Plan, url: str, resolver: Resolver | None = resolve) -> Verdict:
    """Judge `url` with the plan's egress policy, in the gate's order. `resolver=None` skips DNS."""
    text, host, port = parse(url)
    verdict = Verdict(text, host, port, plan.egress_mode)
    steps = verdict.steps
    if ip_literal(host) is None:
        listed = decide(host, plan.egress_allowlist, plan.bottle)
        entry = listed.rule.split(":", 1)[-1]
        where = "the built-in defaults" if entry in DEFAULT_EGRESS_ALLOWLIST else "the bottle's allowlist"
        detail = f"matches {entry!r} in {where}" if listed.allowed else "not on the allowlist"
        steps.append(Step("allowlist", listed.allowed, listed.rule, detail, listed.hint))
        if not listed.allowed:
            return verdict
        open_port = check_port(host, port, dict(plan.egress_ports), plan.bottle)
        detail = f"port {port} is open" if open_port.allowed else f"port {port} is not open (80 and 443 are)"
        steps.append(Step("port", open_port.allowed, open_port.rule, detail, open_port.hint))
        if not open_port.allowed:
            return verdict
        steps.append(_destination(plan, host, port, resolver))
    else:
        literal = check_destination(host, [], plan.egress_allow_cidrs, plan.bottle)
        detail = "an IP address inside allow_cidrs" if literal.allowed else "an IP address outside allow_cidrs"
        steps.append(Step("destination", literal.allowed, literal.rule, detail, literal.hint))
    if not verdict.allowed:
        return verdict
    if text.startswith("https://") and match(host, plan.egress_passthrough) is not None:
        steps.append(Step("tls", True, "passthrough", "tunnelled without interception: SNI checked, nothing scanned"))
        return verdict
    if text.startswith("https://"):
        steps.append(Step("tls", True, "intercepted", "intercepted with the bottle's CA; every request is scanned"))
    findings = scan_patterns(text, "url") + scan_url_entropy(text, host)
    if findings:
        rule = f"dlp:{findings[0].rule}"
        steps.append(Step("url", False, rule, f"the URL looks like it carries a secret ({findings[0].rule})"))
        return verdict
    steps.append(Step("url", True, "clean", "no token format or high-entropy part in the URL"))
    swapped = [e.name for e in plan.env if e.credential_hosts and match(host, e.credential_hosts)]
    if match(host, TOKEN_HOSTS) and plan.egress_backend == "mitmproxy":  # pipelock swaps nothing
        swapped.append(AGENT_TOKEN_VAR)
    if swapped:
        steps.append(Step("credentials", True, "swapped", f"real value swapped in for: {', '.join(swapped)}"))
    return verdict


def _destination(plan: Plan, host: str, port: int, resolver: Resolver | None) -> Step:
    if resolver is None:
        return Step(
            "destination", True, "not-resolved", "not resolved (--no-resolve); the gate checks it at request time"
        )
    try:
        addresses = resolver(host, port)
    except OSError:
        return Step(
            "destination",
            True,
            "not-resolved",
            f"{host} does not resolve here; the gate refuses it if it does not resolve from the bottle either",
        )
    decision = check_destination(host, addresses, plan.egress_allow_cidrs, plan.bottle)
    shown = ", ".join(addresses)
    if decision.allowed:
        kind = "inside allow_cidrs" if decision.rule.startswith("allow_cidrs") else "public"
        detail = f"resolves here to {shown} ({kind})"
    else:
        detail = f"resolves here to {shown}: an internal address outside allow_cidrs (SSRF)"
    return Step("destination", decision.allowed, decision.rule, detail, decision.hint)
