"""What the gate's addons share: the policy, the tunnels admitted so far, a mitmproxy flow read as
a pipeline `Request`, and how steps become decision lines and a 403. Each addon feeds the
pipeline (`_decision.py`) from its hooks; none decides anything itself."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from bottle_contract import events
from mitmproxy import http

from egress_gate._audit import emit
from egress_gate._decision import Decision, Resolver, admit, resolve
from egress_gate._policy import Step
from egress_gate._request import Request
from egress_gate._rules import Policy

# flow.metadata keys
HOST = "egress_gate.host"  # the host the request was admitted for
REFUSED = "egress_gate.refused"  # a block (or report mode's would-block) was logged for this flow
SWAPS = "egress_gate.swaps"  # the credentials this host may receive in the body
WITHHELD = "egress_gate.withheld"  # the host's rules refused the request (report mode): no credential swapped
STEPS = "egress_gate.steps"  # every step this request went through, its tunnel's first


@dataclass
class Tunnel:
    """A client connection's admitted CONNECT: its host and port, and the steps that admitted it
    (then its TLS step), which each request inside it carries first."""

    host: str
    port: int
    steps: list[Step] = field(default_factory=list)


class Gate:
    def __init__(self, policy: Policy, resolver: Resolver = resolve) -> None:
        self.policy = policy
        self.resolver = resolver
        self.tunnels: dict[str, Tunnel] = {}  # by client connection id

    @property
    def bottle(self) -> str:
        return self.policy.bottle

    @property
    def reporting(self) -> bool:
        return self.policy.reporting

    async def admit(self, host: str, port: int) -> Decision:
        # The resolver blocks (getaddrinfo), so the stage runs on the default executor, as
        # asyncio's own getaddrinfo does: the proxy's loop never waits on DNS.
        return await asyncio.to_thread(admit, self.policy, host, port, self.resolver)

    def request_of(self, flow: http.HTTPFlow, host: str, port: int, tunnel: bool) -> Request:
        """The flow's request as the pipeline reads it, before its body arrives. Inside a tunnel
        mitmproxy's request host is the address connected to: the tunnel's host is the name."""
        request = flow.request
        return Request(
            method=request.method,
            scheme=request.scheme,
            host=host,
            port=port,
            path=request.path,
            headers=tuple(request.headers.items(multi=True)),
            tunnel=tunnel,
            sni=flow.client_conn.sni if tunnel else None,
            authority=request.authority if tunnel else "",
            host_header=request.host_header,
        )

    def note(self, flow: http.HTTPFlow, steps: list[Step] | tuple[Step, ...]) -> None:
        flow.metadata.setdefault(STEPS, []).extend(steps)

    def log(self, flow: http.HTTPFlow, host: str, step: Step) -> None:
        """One decision line: an allow, or a block (report mode: a would-block)."""
        verdict = "allow" if step.allowed else ("would-block" if self.reporting else "block")
        if not step.allowed:
            flow.metadata[REFUSED] = True
        emit(events.DECISION, bottle=self.bottle, method=flow.request.method, host=host, path=redacted_path(flow),
             decision=verdict, rule=step.rule, hint=step.hint)  # fmt: skip

    def record(self, flow: http.HTTPFlow, host: str, steps: tuple[Step, ...] | list[Step]) -> bool:
        """Note a stage's steps on the flow and log each refusal. True when the flow is refused:
        a 403 naming the first refusal (in report mode, never: the refusals are only logged)."""
        self.note(flow, steps)
        for step in steps:
            if step.allowed:
                continue
            self.log(flow, host, step)
            if not self.reporting:
                flow.response = refusal_response(step)
                return True
        return False


def refusal_response(step: Step) -> http.Response:
    """The 403: the step's own words and rule, and the manifest change when there is one. Never
    a secret: a DLP step names only the rule and where it was found."""
    text = f"claude-bottle egress gate: {step.detail} (rule: {step.rule}).\n"
    if step.hint:
        text += f"To allow it, {step.hint} in claude-bottle.json.\n"
    return http.Response.make(403, text.encode(), {"Content-Type": "text/plain; charset=utf-8"})


def redacted_path(flow: http.HTTPFlow) -> str:
    """The path without its query: query values are where tokens travel."""
    return flow.request.path.split("?", 1)[0][:200]
