"""The egress gate: a mitmproxy addon enforcing a bottle's egress policy (allowlist, SNI and Host
checks, SSRF, secret scanning, credential swapping) with the bottle's own CA.

The decision itself is a pure pipeline, importable without mitmproxy: `evaluate(policy, request,
resolver)` answers with a `Decision`, its ordered `Step`s and the rule of the first refusal. The
addon (`python -m egress_gate`) runs the same stages from mitmproxy's hooks, and
`bottle-launch check` runs `evaluate`, so the two give the same answer."""

from ._decision import Decision, Resolver, evaluate, resolve
from ._policy import Step, ip_literal, normalize
from ._request import Request
from ._rules import Policy
from ._secrets import KnownSecret, parse_known

__version__ = "0.1.0"

__all__ = [
    "Decision",
    "KnownSecret",
    "Policy",
    "Request",
    "Resolver",
    "Step",
    "evaluate",
    "ip_literal",
    "normalize",
    "parse_known",
    "resolve",
]
