"""The egress gate: a mitmproxy addon enforcing a bottle's egress policy (allowlist, SNI and Host
checks, SSRF, secret scanning, credential swapping) with the bottle's own CA.

The decision itself is a pure pipeline, importable without mitmproxy: `evaluate(policy, request,
resolver)` answers with a `Decision`, its ordered `Step`s and the rule of the first refusal. The
addon (`python -m egress_gate`) runs the same stages from mitmproxy's hooks, and
`bottle-launch check` runs `evaluate`, so the two give the same answer. A running bottle's live
allowlist changes (`bottle-launch allow`/`deny`) are applied by `live_policy`, in the gate and in
`check <bottle-id>` alike."""

from ._decision import Decision, Resolver, evaluate, resolve
from ._live import LIVE_RULES, allow_command, live_policy, merged
from ._policy import Step, ip_literal, normalize
from ._request import Request
from ._rules import Policy
from ._secrets import KnownSecret, parse_known

__version__ = "0.1.0"

__all__ = [
    "LIVE_RULES",
    "Decision",
    "KnownSecret",
    "Policy",
    "Request",
    "Resolver",
    "Step",
    "allow_command",
    "evaluate",
    "ip_literal",
    "live_policy",
    "merged",
    "normalize",
    "parse_known",
    "resolve",
]
