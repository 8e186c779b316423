"""`bottle-launch check`: would the bottle's egress gate let this request through, and why.

The gate's own pipeline (`egress_gate.evaluate`) judges it, against the policy and known secrets
a launch would hand the gate, built by the same functions (`egress_config`, `seal`) and read by
the gate's own reader. This module only builds the request a client would send for the URL and
words the steps for a person, so the answer is the gate's. Nothing is started.

For a running bottle (`check <bottle-id> URL`) the policy is its gate's own: the config it
started with and its live document (`bottle-launch allow`/`deny`), read from the gate and merged
by the gate's own function (`egress_gate.live_policy`).

Two things can still differ, and the words say so: DNS (the name is resolved here, while the
gate resolves it from its own network), and the bottle's secret values, which `check` never reads:
its credentials carry stand-in values, so it knows where each may go but cannot recognise a real
value (or a running bottle's placeholder) in a request as the gate would."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any
from urllib.parse import unquote, urlsplit

from bottle_contract.egress import EgressConfig, LivePolicy
from bottle_manifest import DEFAULT_EGRESS_ALLOWLIST
from egress_gate import (
    LIVE_RULES,
    Decision,
    KnownSecret,
    Policy,
    Request,
    Resolver,
    Step,
    allow_command,
    evaluate,
    ip_literal,
    live_policy,
    normalize,
    parse_known,
)
from egress_gate import resolve as gate_resolve

from .egress import backend_for
from .egress_secrets import AGENT_TOKEN_VAR, TOKEN_HOSTS, seal
from .plan import Plan, egress_config

Headers = Sequence[tuple[str, str]]


@dataclass(frozen=True)
class Verdict:
    url: str
    host: str
    port: int
    mode: str
    gate: Decision = field(default_factory=Decision)  # the gate's own decision, its steps worded for a user
    allow_now: str | None = None  # a running bottle's refusal `bottle-launch allow` undoes: the command

    @property
    def steps(self) -> tuple[Step, ...]:
        return self.gate.steps

    @property
    def allowed(self) -> bool:
        return self.gate.allowed

    @property
    def refusal(self) -> Step | None:
        return self.gate.refusal

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
            "allow_now": self.allow_now,
            "steps": [asdict(step) for step in self.steps],
        }


def resolve(host: str, port: int) -> list[str]:
    """The gate's resolver, run here: the same lookup, from this machine's network."""
    return list(gate_resolve(host, port))


def request_for(url: str, *, method: str = "GET", headers: Headers = (), body: bytes = b"") -> tuple[str, Request]:
    """The URL as given (a bare host means https) and the request a client such as curl sends
    for it through the gate: https in a CONNECT tunnel with the host as its TLS name, http as a
    plain proxy request; a Host header, userinfo as basic auth, no fragment. `headers` are
    added, a Host among them replacing the client's. ValueError if the URL is unusable."""
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
    host = normalize(parts.hostname)
    tunnel = parts.scheme == "https"
    named = f"[{host}]" if ":" in host else host
    host_header = named if port == (443 if tunnel else 80) else f"{named}:{port}"
    given = {name.lower(): value for name, value in headers}
    host_header = given.get("host", host_header)
    sent = [("Host", host_header)]
    if parts.username is not None:
        userinfo = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        sent.append(("Authorization", "Basic " + base64.b64encode(userinfo.encode()).decode()))
    sent += [(name, value) for name, value in headers if name.lower() != "host"]
    if body and "content-length" not in given:
        sent.append(("Content-Length", str(len(body))))
    request = Request(
        method=method.upper(),
        scheme=parts.scheme,
        host=host,
        port=port,
        path=(parts.path or "/") + (f"?{parts.query}" if parts.query else ""),
        headers=tuple(sent),
        body=body,
        tunnel=tunnel,
        sni=host if tunnel and ip_literal(host) is None else None,  # no TLS name for an address
        host_header=host_header,
    )
    return text, request


def known_for(plan: Plan) -> tuple[KnownSecret, ...]:
    """The plan's credentials as a launch hands them to the gate (sealed, then read back by the
    gate's reader), with stand-in values: where each may go is what `check` needs."""
    if not backend_for(plan.egress_backend).swaps_credentials:
        return ()  # a launch hands such an engine no credentials
    hosts = {e.name: e.credential_hosts for e in plan.env if e.credential_hosts}
    hosts[AGENT_TOKEN_VAR] = TOKEN_HOSTS
    standins = {name: secrets.token_hex(16) for name in hosts}
    return parse_known(seal(standins, hosts, builtin=[AGENT_TOKEN_VAR]).known)


def policy_for(plan: Plan, known: tuple[KnownSecret, ...] | None = None) -> Policy:
    # Through the config document and back, as the gate reads it.
    config = EgressConfig.from_json(egress_config(plan).to_json())
    return Policy(config, known_for(plan) if known is None else known)


def running_policy(config: bytes, live: bytes | None, known: tuple[KnownSecret, ...] = ()) -> Policy:
    """A running bottle's policy, from its gate's documents: the config it started with and the
    live document, applied by the gate's own function."""
    return live_policy(EgressConfig.from_json(config), known, LivePolicy.from_json(live) if live else None)


def check(
    plan: Plan | Policy,
    url: str,
    resolver: Resolver | None = resolve,
    *,
    method: str = "GET",
    headers: Headers = (),
    body: bytes = b"",
    known: tuple[KnownSecret, ...] | None = None,
) -> Verdict:
    """Judge a request to `url` as the plan's gate would (or a running gate, given its Policy).
    `resolver=None` skips DNS; `known` replaces a plan's stand-in credentials (a test that knows
    the values)."""
    text, request = request_for(url, method=method, headers=headers, body=body)
    policy = plan if isinstance(plan, Policy) else policy_for(plan, known)
    return judge_policy(policy, text, request, resolver)


def judge(
    plan: Plan,
    url: str,
    request: Request,
    resolver: Resolver | None = resolve,
    known: tuple[KnownSecret, ...] | None = None,
) -> Verdict:
    return judge_policy(policy_for(plan, known), url, request, resolver)


def judge_policy(policy: Policy, url: str, request: Request, resolver: Resolver | None = resolve) -> Verdict:
    decision = evaluate(policy, request, resolver)
    worded = replace(decision, steps=tuple(_worded(step, decision, policy) for step in decision.steps))
    refusal = decision.refusal
    allow_now = None
    if refusal is not None and refusal.rule in LIVE_RULES and policy.config.bottle_id:
        allow_now = allow_command(policy.config.bottle_id, request.host)
    return Verdict(url, request.host, request.port, policy.config.mode, worded, allow_now)


def _worded(step: Step, decision: Decision, policy: Policy) -> Step:
    """The gate's step, with what only the launcher knows added to its words."""
    detail = step.detail
    if step.check == "allowlist" and step.allowed:
        entry = step.rule.split(":", 1)[1]
        where = "the bottle's allowlist"
        if entry in DEFAULT_EGRESS_ALLOWLIST:
            where = "the built-in defaults"
        elif policy.live is not None and entry in policy.live.allow:
            where = "the entries `bottle-launch allow` added"
        detail = f"matches {entry!r} in {where}"
    elif step.check == "destination" and step.rule == "not-resolved":
        detail = "not resolved (--no-resolve); the gate checks it at request time"
    elif step.check == "destination" and step.rule == "unresolvable":
        detail = f"{detail} here; the gate resolves it from the bottle's network, and refuses it there too if it fails"
    elif step.check == "destination" and decision.addresses:
        shown = ", ".join(decision.addresses)
        detail = f"resolves here to {shown}" if step.allowed else f"{detail} ({shown} here) outside allow_cidrs (SSRF)"
    elif step.check == "credentials":
        # The one credential a launch adds without a name is Claude Code's token.
        detail = detail.replace("a built-in credential", AGENT_TOKEN_VAR)
    return replace(step, detail=detail)
