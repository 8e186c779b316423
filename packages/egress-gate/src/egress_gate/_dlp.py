"""Secret-leak scanning: well-known token formats, high-entropy URL parts, and the bottle's own
secrets. Pure functions over text, so they are tested without a proxy.

The formats are written from each issuer's public documentation of its token prefixes:
Anthropic (console key and OAuth token prefixes `sk-ant-api03-`, `sk-ant-oat01-`), OpenAI
(`sk-proj-`, and the `T3BlbkFJ` marker legacy keys carry), AWS (access key ID prefixes, IAM
user guide "Unique identifiers"), GitHub ("About authentication: token formats", `ghp_` etc. and
`github_pat_`), GitLab ("Personal access tokens", `glpat-`), Slack ("Token types", `xox?-`, and
incoming webhooks), Stripe ("API keys", `sk_live_`/`rk_live_`), npm ("About access tokens",
`npm_`), PyPI ("API tokens", `pypi-AgEIcHlwaS5vcmc`), Hugging Face ("User access tokens", `hf_`),
Google API keys (`AIza`), PEM private-key headers (RFC 7468) and JWTs (RFC 7519, a base64url
`{"` header and payload). Entropy limits follow pipelock's published defaults.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

# (name, pattern, keywords). A rule's regex runs only where one of its keywords occurs: `in` is a
# C substring search, while a pattern that starts with \b makes the regex engine try every
# position (about 38 MB/s each, measured), which a 100 MB upload cannot afford.
_RULE_SPECS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("anthropic-key", r"sk-ant-[a-z]{3}\d{2}-[A-Za-z0-9_\-]{20,}", ("sk-ant-",)),
    (
        "openai-key",
        r"\bsk-(?:proj|svcacct|admin)-[A-Za-z0-9_\-]{20,}|\bsk-[A-Za-z0-9_\-]{16,}T3BlbkFJ[A-Za-z0-9_\-]{16,}",
        ("sk-",),
    ),
    ("aws-access-key-id", r"\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b", ("AKIA", "ASIA", "ABIA", "ACCA")),
    (
        "github-token",
        r"\bgh[pousr]_[A-Za-z0-9]{36,}\b|\bgithub_pat_[A-Za-z0-9_]{60,}",
        ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
    ),
    ("gitlab-token", r"\bglpat-[A-Za-z0-9_\-]{20,}", ("glpat-",)),
    ("slack-token", r"\bxox[abposr]-[A-Za-z0-9\-]{10,}", ("xox",)),
    ("slack-webhook", r"hooks\.slack\.com/services/T[A-Z0-9]+/B[A-Z0-9]+/[A-Za-z0-9]{20,}", ("hooks.slack.com",)),
    ("stripe-key", r"\b[rs]k_live_[A-Za-z0-9]{20,}\b", ("k_live_",)),
    ("npm-token", r"\bnpm_[A-Za-z0-9]{36}\b", ("npm_",)),
    ("pypi-token", r"\bpypi-AgEIcHlwaS5vcmc[A-Za-z0-9_\-]{50,}", ("pypi-AgEIcHlwaS5vcmc",)),
    ("huggingface-token", r"\bhf_[A-Za-z]{34}\b", ("hf_",)),
    ("google-api-key", r"\bAIza[0-9A-Za-z_\-]{35}\b", ("AIza",)),
    ("private-key", r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----", ("PRIVATE KEY-----",)),
    ("jwt", r"\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}", ("eyJ",)),
)
RULES: tuple[tuple[str, re.Pattern[str]], ...] = tuple((name, re.compile(regex)) for name, regex, _ in _RULE_SPECS)
_KEYWORDS = {name: keywords for name, _, keywords in _RULE_SPECS}

ENTROPY_MIN_LENGTH = 20
ENTROPY_BITS = 4.5
LABEL_MIN_LENGTH = 8
LABEL_BITS = 4.0


@dataclass(frozen=True)
class Finding:
    rule: str
    where: str  # "url", "header <name>", "body", "websocket"
    match: str  # kept in memory only, to compare with known secrets; never logged or shown


def entropy(text: str) -> float:
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def scan_patterns(text: str, where: str) -> list[Finding]:
    return [
        Finding(name, where, m.group(0))
        for name, pattern in RULES
        if any(keyword in text for keyword in _KEYWORDS[name])
        for m in pattern.finditer(text)
    ]


def scan_url_entropy(url: str, host: str) -> list[Finding]:
    parts = urlsplit(url)
    candidates = [segment for segment in parts.path.split("/") if segment]
    candidates += [value for _, value in parse_qsl(parts.query, keep_blank_values=True)]
    findings = [
        Finding("high-entropy-url", "url", value)
        for value in candidates
        if len(value) >= ENTROPY_MIN_LENGTH and entropy(value) >= ENTROPY_BITS
    ]
    labels = host.split(".")[:-2]  # subdomain labels only: the registered name is allowlisted
    findings += [
        Finding("high-entropy-subdomain", "url", label)
        for label in labels
        if len(label) >= LABEL_MIN_LENGTH and entropy(label) >= LABEL_BITS
    ]
    return findings


def scan_known(text: str, where: str, known: Iterable[str]) -> list[Finding]:
    """The bottle's own secret values, found verbatim."""
    return [Finding("bottle-secret", where, value) for value in known if len(value) >= 8 and value in text]
