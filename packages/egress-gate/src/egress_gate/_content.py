"""What a request carries: the DLP steps over its URL, its headers and its body (or a WebSocket
message). A finding refuses the request unless it is one of the bottle's own secrets travelling
to a host it is granted for; a credential found elsewhere is named, with the manifest change that
would grant it. ("Withheld" in a step's words: a secret this host may not receive.)

`scan_text` is the one body step: a whole body, each window of a streamed upload (`_upload.py`)
and each WebSocket message all go through it."""

from __future__ import annotations

from egress_gate._dlp import Finding, scan_known, scan_patterns, scan_url_entropy
from egress_gate._policy import Step
from egress_gate._request import Request
from egress_gate._rules import Policy
from egress_gate._secrets import KnownSecret


def _owners(finding: Finding, known: tuple[KnownSecret, ...]) -> list[KnownSecret]:
    return [k for k in known if any(f in finding.match or finding.match in f for f in k.forms)]


def blocking(findings: list[Finding], host: str, known: tuple[KnownSecret, ...]) -> Finding | None:
    """The first finding that is not a granted secret travelling to one of its hosts."""
    for finding in findings:
        owners = _owners(finding, known)
        if owners and all(k.may_go_to(host) for k in owners):
            continue
        return finding
    return None


def refusal(policy: Policy, check: str, host: str, finding: Finding) -> Step:
    """The refusal a finding makes: a credential outside its hosts, or a possible secret. Never
    the secret itself: `finding.match` stays in memory."""
    credentials = [k for k in _owners(finding, policy.known) if k.placeholder and not k.may_go_to(host)]
    if credentials:
        k = credentials[0]
        # A built-in credential (no name) is not the manifest's to grant: no hint.
        hint = f'add "{host}" to bottles.{policy.bottle}.env.{k.name}.hosts' if k.name else None
        message = f"credential {k.name or 'of this bottle'} may go only to {', '.join(k.hosts)}"
        return Step(check, False, "dlp:credential", f"{message}; it is in the {finding.where}", hint)
    return Step(check, False, f"dlp:{finding.rule}", f"possible secret ({finding.rule}) in the {finding.where}")


def _judge(policy: Policy, check: str, host: str, findings: list[Finding], clean: str) -> Step:
    found = blocking(findings, host, policy.known)
    return Step(check, True, "clean", clean) if found is None else refusal(policy, check, host, found)


def scan_url(policy: Policy, request: Request) -> Step:
    url, host = request.url, request.host
    findings = scan_patterns(url, "url") + scan_url_entropy(url, host) + scan_known(url, "url", policy.forms)
    return _judge(policy, "url", host, findings, "no token, high-entropy part or withheld secret in the URL")


def scan_headers(policy: Policy, request: Request) -> Step:
    findings: list[Finding] = []
    for name, value in request.headers:
        findings += scan_patterns(value, f"header {name}") + scan_known(value, f"header {name}", policy.forms)
    return _judge(policy, "headers", request.host, findings, "no token or withheld secret in the headers")


def scan_text(policy: Policy, host: str, text: str, where: str = "body") -> Step:
    """The body step, over a whole body, one window of a streamed one, or a WebSocket message."""
    findings = scan_patterns(text, where) + scan_known(text, where, policy.forms)
    return _judge(policy, where, host, findings, f"no token or withheld secret in the {where}")
