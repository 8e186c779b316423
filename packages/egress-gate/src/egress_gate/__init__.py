"""The egress gate: a mitmproxy addon enforcing a bottle's egress policy (allowlist, SNI and Host
checks, SSRF, secret scanning) with the bottle's own CA. The policy and scanning functions are
pure and importable without mitmproxy; the addon itself runs in mitmproxy (`python -m
egress_gate`)."""

from ._dlp import Finding, scan_known, scan_patterns, scan_url_entropy
from ._policy import DEFAULT_PORTS, Decision, check_destination, check_port, decide, ip_literal, match, normalize

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_PORTS",
    "Decision",
    "Finding",
    "check_destination",
    "check_port",
    "decide",
    "ip_literal",
    "match",
    "normalize",
    "scan_known",
    "scan_patterns",
    "scan_url_entropy",
]
