"""What the gate's addons share: the policy, the tunnels admitted so far, a mitmproxy flow read as
a pipeline `Request`, and how steps become decision lines and a 403. Each addon feeds the
pipeline (`_decision.py`) from its hooks; none decides anything itself.

The policy changes while the gate runs when the launcher writes a live document
(`bottle-launch allow`/`deny`): `refresh` looks for one (a stat) before each admission and
request, and the `LiveWatch` addon every POLL seconds, so a deny also reaches tunnels that send
nothing. A change swaps in a new `Policy` for every later decision (nothing is restarted, no
connection dropped), is logged as a `policy` event line, and closes each open tunnel whose host
the new policy refuses."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from bottle_contract import ContractError, events
from bottle_contract.egress import LivePolicy
from mitmproxy import http

from egress_gate._abort import close_client
from egress_gate._audit import emit
from egress_gate._decision import Decision, Resolver, admit, resolve
from egress_gate._live import changes, live_hint, live_policy
from egress_gate._livefile import LiveFile
from egress_gate._policy import Step, decide, ip_literal
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
    flows: list[http.HTTPFlow] = field(default_factory=list)  # its requests still in flight
    revoked: Step | None = None  # a live change refused its host: closed, and nothing more goes

    def carry(self, flow: http.HTTPFlow) -> None:
        """Keep `flow` to kill if the tunnel is revoked; forget the ones that ended."""
        self.flows = [*(f for f in self.flows if f.live), flow]


class Gate:
    def __init__(self, policy: Policy, resolver: Resolver = resolve, live: LiveFile | None = None) -> None:
        self.started = policy  # the policy handed over at launch: each live document applies to it
        self.policy = policy
        self.resolver = resolver
        self.tunnels: dict[str, Tunnel] = {}  # by client connection id
        self.live = live
        self.close: Callable[[str], bool] = close_client  # closes a client connection by id

    @property
    def bottle(self) -> str:
        return self.policy.bottle

    @property
    def reporting(self) -> bool:
        return self.policy.reporting

    def refresh(self) -> None:
        """Apply the live document if it changed. One that does not parse is logged and the
        policy kept as it is: the launcher wrote it with the same contract, so it is not ours."""
        if self.live is None:
            return
        try:
            document = self.live.changed()
        except (OSError, ContractError) as exc:
            emit(events.ERROR, bottle=self.bottle, message=f"the live policy was not applied: {exc}")
            return
        if document is not None:
            self.apply(document)

    def apply(self, document: LivePolicy) -> None:
        old = self.policy
        self.policy = live_policy(self.started.config, self.started.known, document)
        added, removed = changes(old, self.policy)
        closed = self.revoke()
        emit(events.POLICY, bottle=self.bottle, serial=document.serial, by=document.by, pid=document.pid,
             at=document.at, added=added, removed=removed, allow=list(document.allow), deny=list(document.deny),
             closed=closed)  # fmt: skip

    def revoke(self) -> int:
        """Close each open tunnel whose host the policy now refuses (report mode: log it only);
        the number closed. A tunnel to an address was admitted by allow_cidrs, which no live
        change touches."""
        closed = 0
        for client_id, tunnel in list(self.tunnels.items()):
            if tunnel.revoked is not None or ip_literal(tunnel.host) is not None:
                continue
            step = decide(tunnel.host, self.policy.config.allowlist, self.bottle, self.policy.denied)
            if step.allowed:
                continue
            command = live_hint(self.policy, tunnel.host, step)
            emit(events.DECISION, bottle=self.bottle, method="CONNECT", host=tunnel.host, path="",
                 decision="would-block" if self.reporting else "block", rule=step.rule, hint=step.hint,
                 **({"command": command} if command else {}))  # fmt: skip
            if self.reporting:
                continue
            tunnel.revoked = step
            for flow in tunnel.flows:
                if flow.killable:
                    flow.kill()
            self.close(client_id)
            closed += 1
        return closed

    async def admit(self, host: str, port: int) -> Decision:
        self.refresh()  # on the proxy's loop, before the stage leaves it
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
        command = live_hint(self.policy, host, step)
        emit(events.DECISION, bottle=self.bottle, method=flow.request.method, host=host, path=redacted_path(flow),
             decision=verdict, rule=step.rule, hint=step.hint, **({"command": command} if command else {}))  # fmt: skip

    def record(self, flow: http.HTTPFlow, host: str, steps: tuple[Step, ...] | list[Step]) -> bool:
        """Note a stage's steps on the flow and log each refusal. True when the flow is refused:
        a 403 naming the first refusal (in report mode, never: the refusals are only logged)."""
        self.note(flow, steps)
        for step in steps:
            if step.allowed:
                continue
            self.log(flow, host, step)
            if not self.reporting:
                flow.response = refusal_response(step, live_hint(self.policy, host, step))
                return True
        return False


def refusal_response(step: Step, command: str | None = None) -> http.Response:
    """The 403: the step's own words and rule, the manifest change when there is one, and for a
    host off the allowlist the command that lets it through this running bottle now (for the
    agent to pass on: only a person on the host can run it). Never a secret: a DLP step names
    only the rule and where it was found."""
    text = f"claude-bottle egress gate: {step.detail} (rule: {step.rule}).\n"
    if step.hint:
        text += f"To allow it, {step.hint} in claude-bottle.json.\n"
    if command:
        text += f"To allow it now, a person can run on the host: {command}\n"
    return http.Response.make(403, text.encode(), {"Content-Type": "text/plain; charset=utf-8"})


def redacted_path(flow: http.HTTPFlow) -> str:
    """The path without its query: query values are where tokens travel."""
    return flow.request.path.split("?", 1)[0][:200]
