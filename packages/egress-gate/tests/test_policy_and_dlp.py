"""The egress policy and the secret scanner as pure functions. The addon itself is tested end to
end against a real TLS upstream (tests/test_egress_gate.py)."""

from __future__ import annotations

import pytest
from egress_gate._dlp import entropy, scan_patterns, scan_url_entropy
from egress_gate._policy import check_destination, decide

# Each sample is built at run time so this file holds no token-shaped string a scanner would flag.
SAMPLES = {
    "anthropic-key": "sk-ant-" + "api03-" + "x" * 40,
    "openai-key": "sk-" + "proj-" + "Ab1" * 10,
    "aws-access-key-id": "AKIA" + "Z7Q2RXK4LPN3T6VW",
    "github-token": "ghp" + "_" + "a1B2c3D4" * 5,
    "gitlab-token": "glpat" + "-" + "xY3" * 8,
    "slack-token": "xoxb" + "-" + "1234567890-abcdef",
    "stripe-key": "sk" + "_live_" + "Z9" * 12,
    "npm-token": "npm" + "_" + "a" * 36,
    "pypi-token": "pypi-" + "AgEIcHlwaS5vcmc" + "B" * 60,
    "huggingface-token": "hf" + "_" + "abcdefghij" * 3 + "abcd",
    "private-key": "-----BEGIN " + "OPENSSH PRIVATE KEY-----",
    "jwt": "eyJ" + "hbGciOiJI" + ".eyJ" + "zdWIiOiIx" + ".SflKxwRJSMeKKF2QT4",
}


@pytest.mark.parametrize(("rule", "sample"), sorted(SAMPLES.items()))
def test_each_rule_finds_its_format(rule, sample):
    assert rule in {f.rule for f in scan_patterns(f"prefix {sample} suffix", "body")}


def test_ordinary_text_has_no_findings():
    text = (
        "GET /v1/messages?beta=true HTTP/1.1 user-agent claude-cli/2.1 commit 0123456789abcdef0123456789abcdef01234567"
    )
    assert scan_patterns(text, "url") == []
    assert scan_url_entropy("https://api.anthropic.com/v1/messages?beta=true", "api.anthropic.com") == []


def test_entropy_flags_random_path_segments_and_labels():
    assert entropy("aaaa") == 0
    assert scan_url_entropy("https://h.example/x/Zq8vR2mKx9Lp3Tn7Wc5Yb1Hd", "h.example")[0].rule == "high-entropy-url"
    labels = scan_url_entropy("https://q8Zv2RmK9xLp3Tn7.evil.example/", "q8Zv2RmK9xLp3Tn7.evil.example")
    assert labels[0].rule == "high-entropy-subdomain"


def test_allowlist_wildcards_match_subdomains_only():
    assert decide("api.github.com", ["*.github.com"], "b").allowed
    assert not decide("github.com.evil.example", ["*.github.com"], "b").allowed
    blocked = decide("evil.example", ["github.com"], "b")
    assert blocked.hint == 'add "evil.example" to bottles.b.egress.allowlist'


@pytest.mark.parametrize("address", ["127.0.0.1", "10.1.2.3", "172.20.0.5", "192.168.1.1", "169.254.169.254",
                                     "100.64.0.1", "::1", "fd00::1", "::ffff:10.0.0.1", "0.0.0.0"])  # fmt: skip
def test_internal_addresses_are_refused_without_allow_cidrs(address):
    assert check_destination("name.example", [address], (), "b").rule == "internal-address"


def test_allow_cidrs_admit_internal_ranges_and_ip_literals():
    assert check_destination("name.example", ["172.20.0.5"], ("172.20.0.0/16",), "b").allowed
    assert check_destination("name.example", ["93.184.216.34"], (), "b").allowed
    literal = check_destination("10.0.0.7", [], (), "b")
    assert literal.rule == "ip-literal" and literal.hint == 'add "10.0.0.7/32" to bottles.b.egress.allow_cidrs'
    assert check_destination("10.0.0.7", [], ("10.0.0.0/8",), "b").allowed
