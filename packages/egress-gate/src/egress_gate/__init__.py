"""The egress gate's mitmproxy addon: host allowlist (now); TLS interception, DLP scanning,
credential sentinels and the audit log (issue 6).
"""

__version__ = "0.1.0"
