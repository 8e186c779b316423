"""Credentials: the agent gets a same-length placeholder that keeps only a known token prefix;
the gate gets both."""

from __future__ import annotations

import json

import pytest
from bottle_launcher.egress_secrets import placeholder, seal
from bottle_launcher.errors import LaunchError

OAUTH = "sk-ant-oat01-" + "Ab3dE-fG7h_" * 8


@pytest.mark.parametrize(
    ("value", "prefix"),
    [
        (OAUTH, "sk-ant-oat01-"),
        ("ghp_" + "x1Y2" * 9, "ghp_"),
        ("github_pat_" + "x1Y2" * 20, "github_pat_"),
        ("xoxb-1234-5678-abcdefgh", "xoxb-"),
        ("correct-horse-battery-staple", ""),
        ("a.b.c-d_e.f.g.h", ""),
        ("12345678", ""),
        ("ghp_short", ""),  # too little after the prefix to hide: nothing is kept
    ],
)
def test_a_placeholder_keeps_only_a_known_format_prefix(value, prefix):
    fakes = {placeholder(value) for _ in range(20)}
    assert len(fakes) == 20
    for fake in fakes:
        assert len(fake) == len(value) and fake.startswith(prefix)
        rest = fake[len(prefix) :]
        assert rest.isalnum()
        # Nothing of the secret past the prefix survives where it stood: at most chance matches.
        same = sum(a == b for a, b in zip(rest, value[len(prefix) :], strict=True))
        assert same <= max(3, len(rest) // 4), (fake, value)


def test_a_passphrase_leaves_no_word_or_separator_in_its_placeholder():
    fake = placeholder("correct-horse-battery-staple")
    assert "correct" not in fake and "-" not in fake


def test_seal_gives_the_agent_placeholders_and_the_gate_both_forms():
    env = {"GITEA_TOKEN": "gitea-secret-value-123", "PLAIN": "plain-value", "CLAUDE_CODE_OAUTH_TOKEN": OAUTH}
    credentials = {"GITEA_TOKEN": ["gitea.example.com"], "CLAUDE_CODE_OAUTH_TOKEN": ("api.anthropic.com",)}
    sealed = seal(env, credentials, builtin=["CLAUDE_CODE_OAUTH_TOKEN"], places={"GITEA_TOKEN": ["headers", "body"]})
    assert sealed.agent_env["PLAIN"] == "plain-value"
    assert sealed.agent_env["GITEA_TOKEN"] != env["GITEA_TOKEN"]
    assert sealed.agent_env["CLAUDE_CODE_OAUTH_TOKEN"] != OAUTH
    known = {e["value"]: e for e in json.loads(sealed.known)}
    assert known["plain-value"] == {"value": "plain-value", "hosts": ["*"]}
    assert known["gitea-secret-value-123"] == {
        "value": "gitea-secret-value-123",
        "placeholder": sealed.agent_env["GITEA_TOKEN"],
        "hosts": ["gitea.example.com"],
        "swap_in": ["headers", "body"],
        "name": "GITEA_TOKEN",
    }
    assert known[OAUTH]["swap_in"] == ["headers"]  # Claude's token: the Authorization header only
    assert "name" not in known[OAUTH]  # not the manifest's to change: no hint names it
    assert not any(OAUTH in v or "gitea-secret-value-123" in v for v in sealed.agent_env.values())


def test_a_credential_too_short_to_swap_safely_is_refused():
    with pytest.raises(LaunchError, match="credential PIN is 4 characters long"):
        seal({"PIN": "1234"}, {"PIN": ["bank.example.com"]})
