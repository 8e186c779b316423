"""The egress decision, once: a pipeline of pure stages over a `Request`, each answering with
ordered `Step`s. The addon runs the stages from mitmproxy's hooks as each part of a request
arrives; `bottle-launch check` runs `evaluate`, all of them in the same order, and only formats
the result, so the two cannot disagree.

1. admission (`admit`): the allowlist (an IP literal skips it), the port, and the destination:
   an IP literal needs an allow_cidrs range; a name is resolved, and must resolve, and not into
   an internal range that no allow_cidrs entry covers (SSRF). The address checked is the one
   connected to (DNS rebinding);
2. TLS, inside a tunnel (`tls_step`): passthrough when the SNI names a passthrough host, else
   intercepted;
3. the request's head (`inspect_head`): one target (SNI, authority and Host name the admitted
   host), the host's method-and-path rules if it has any (`_routes.py`), the URL, the headers,
   and whether a streamed body can be scanned at all;
4. the body (`inspect_body`; a streamed body and each WebSocket message go through the same
   step, `_content.scan_text`, window by window or message by message);
5. credentials (`credentials`): which of the bottle's credentials this host receives.

In enforce mode each stage stops at its first refusal and so does the pipeline. In report mode
every check runs and each refusal is only logged, except that a name that does not resolve has
nowhere to go, that the head's DLP logs one finding, not one per place, and that a request its
host's rules refuse gets no credential swapped in (`withholds`): a rule says what a credential
may be used for, and report mode only lets the request through as the agent sent it.

DNS is the one thing from outside: the resolver is passed in (the gate's own, or the launcher's
for `check`), so every stage stays a function of its inputs."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace

from egress_gate._content import scan_headers, scan_text, scan_url
from egress_gate._policy import (
    Step,
    check_destination,
    check_port,
    check_target,
    decide,
    ip_literal,
    match,
    normalize,
    unresolvable,
)
from egress_gate._request import Request
from egress_gate._routes import check_rules, rules_for, withholds
from egress_gate._rules import Policy
from egress_gate._upload import inflatable

# (host, port) -> every address the name resolves to, the first the one to connect to; OSError
# when it does not resolve.
Resolver = Callable[[str, int], Sequence[str]]


def resolve(host: str, port: int) -> list[str]:
    """The system's resolver, in its order: the gate connects to the first address."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@dataclass(frozen=True)
class Decision:
    steps: tuple[Step, ...] = ()
    address: str | None = None  # admission: where to connect, the address the check approved
    addresses: tuple[str, ...] = ()  # everything the name resolved to
    unreachable: bool = False  # the name did not resolve: nothing to connect to, report mode or not

    @property
    def allowed(self) -> bool:
        return all(step.allowed for step in self.steps)

    @property
    def refusal(self) -> Step | None:
        """The first refused step: the one a 403 names (report mode may log more)."""
        return next((step for step in self.steps if not step.allowed), None)

    def then(self, steps: Iterable[Step]) -> Decision:
        return replace(self, steps=(*self.steps, *steps))

    def halts(self, policy: Policy) -> bool:
        """No later stage runs: a refusal in enforce mode, or a name with no address."""
        return self.unreachable or (not policy.reporting and not self.allowed)


def _run(policy: Policy, checks: Iterable[Step]) -> tuple[Step, ...]:
    """Each check in order, up to the first refusal; in report mode every one. `checks` is
    lazy, so a check after a refusal (a DNS lookup of a refused name) is never even made."""
    steps: list[Step] = []
    for step in checks:
        steps.append(step)
        if not step.allowed and not policy.reporting:
            break
    return tuple(steps)


def admit(policy: Policy, host: str, port: int, resolver: Resolver | None) -> Decision:
    """Allowlist, port and destination for a CONNECT, or for a plain-HTTP request's URL.
    `resolver=None` skips DNS (a dry run of `check`; the gate always resolves). A name is
    resolved only after the checks before it passed (or, in report mode, ran)."""
    config = policy.config
    steps: list[Step] = []

    def stops(step: Step) -> bool:
        steps.append(step)
        return not step.allowed and not policy.reporting

    literal = ip_literal(host)
    # An address names no host to list: allow_cidrs alone decide for it.
    if literal is None and stops(decide(host, config.allowlist, config.bottle, policy.denied)):
        return Decision(tuple(steps))
    if stops(check_port(host, port, config.ports, config.bottle)):
        return Decision(tuple(steps))
    if literal is not None:
        return Decision((*steps, check_destination(host, [], config.allow_cidrs, config.bottle)), host.strip("[]"))
    if resolver is None:
        return Decision((*steps, Step("destination", True, "not-resolved", "not resolved: the gate resolves it")))
    try:
        addresses = list(resolver(host, port))
    except OSError:
        addresses = []
    if not addresses:
        return Decision((*steps, unresolvable(host)), unreachable=True)
    destination = check_destination(host, addresses, config.allow_cidrs, config.bottle)
    return Decision((*steps, destination), addresses[0], tuple(addresses))


def admitted_rule(decision: Decision) -> str:
    """The rule an admitted CONNECT is logged with: the allowlist entry, or for an IP literal
    (which has none) allow_cidrs."""
    return next((s.rule for s in decision.steps if s.check == "allowlist"), "allow_cidrs")


def tls_step(policy: Policy, host: str, sni: str | None) -> Step:
    """Passthrough only when the SNI names the CONNECT host: any other SNI is intercepted, so the
    head's target check refuses the mismatch with a readable 403. Never for a host with
    method-and-path rules (the manifest refuses that pairing): its requests must be seen."""
    config = policy.config
    tunnelled = host and normalize(sni or "") == host and match(host, config.passthrough) is not None
    if tunnelled and not rules_for(config, host)[1]:
        return Step("tls", True, "passthrough", "tunnelled without interception: SNI checked, nothing scanned")
    return Step("tls", True, "intercepted", "intercepted with the bottle's CA; every request is scanned")


def inspect_head(policy: Policy, request: Request) -> tuple[Step, ...]:
    """Everything decided before the body: one target, the URL, the headers, and whether a
    streamed body could be scanned."""

    def checks() -> Iterator[Step]:
        yield check_target(request.host, request.port, sni=request.sni, authority=request.authority,
                           host_header=request.host_header)  # fmt: skip
        # Once the target is one host, that host's rules: before the DLP, which is about content.
        rules = check_rules(policy.config, request)
        if rules is not None:
            yield rules
        url = scan_url(policy, request)
        yield url
        if url.allowed:  # one DLP finding per head is logged, in report mode too
            yield scan_headers(policy, request)
        encoding = request.encoding
        if request.streamed and not inflatable(encoding):
            yield Step("body", False, "unscannable-encoding", f"a streamed body in {encoding!r} cannot be scanned")

    return _run(policy, checks())


# A streamed body in an encoding the gate cannot inflate: refused at the head (`inspect_head`),
# so this is only report mode's answer, where it passes as it came.
UNSCANNED = Step("body", True, "unscanned", "streamed in an encoding the gate cannot read; passed as it came")


def inspect_body(policy: Policy, host: str, body: bytes) -> Step:
    """A whole (decoded) body. A streamed one goes through `scan_text` window by window."""
    text = body.decode("utf-8", errors="replace") if body else ""
    return scan_text(policy, host, text, "body")


def credentials(policy: Policy, host: str, withheld: bool = False) -> Step | None:
    """The credentials `host` receives: their placeholders are swapped for the real values (in
    the headers, and in the URL and body where a credential says so). None when it gets none.
    `withheld`: the host's rules refused the request (`withholds`; report mode let it through),
    so none is swapped in and the request leaves with the placeholders."""
    granted = [k for k in policy.known if k.placeholder and k.may_go_to(host)]
    if not granted:
        return None
    names = ", ".join(k.name or "a built-in credential" for k in granted)
    if withheld:
        return Step("credentials", True, "withheld", f"not swapped in, as the host's rules refuse the request: {names}")
    return Step("credentials", True, "swapped", f"real value swapped in for: {names}")


def evaluate(policy: Policy, request: Request, resolver: Resolver | None) -> Decision:
    """The whole pipeline for a request known at once (what `bottle-launch check` runs): the
    stages in the gate's order, stopping where the gate would. A body is judged whole here; the
    gate judges a streamed one window by window with the same step, which finds the same
    secrets (up to 4 KiB long) but, with several, may name an earlier one first."""
    decision = admit(policy, request.host, request.port, resolver)
    if decision.halts(policy):
        return decision
    if request.tunnel and request.scheme == "https":
        step = tls_step(policy, request.host, request.sni)
        decision = decision.then([step])
        if step.rule == "passthrough":
            return decision
    decision = decision.then(inspect_head(policy, request))
    if decision.halts(policy):
        return decision
    unscannable = request.streamed and not inflatable(request.encoding)
    decision = decision.then([UNSCANNED if unscannable else inspect_body(policy, request.host, request.body)])
    if decision.halts(policy):
        return decision
    granted = credentials(policy, request.host, withholds(decision.steps))
    return decision.then([granted] if granted else [])
