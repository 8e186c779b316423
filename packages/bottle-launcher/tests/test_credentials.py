"""Credentials: the agent gets a placeholder of the same length and shape, the gate gets both."""

from __future__ import annotations

import json

import pytest
from bottle_launcher.egress_secrets import placeholder, seal
from bottle_launcher.errors import LaunchError

OAUTH = "sk-ant-oat01-" + "Ab3dE-fG7h_" * 8


@pytest.mark.parametrize("value", [OAUTH, "ghp_" + "x1Y2" * 9, "plainlowercasevalue", "12345678", "a.b.c-d_e.f.g.h"])
def test_a_placeholder_has_the_same_length_and_shape_but_not_the_value(value):
    fake = placeholder(value)
    assert len(fake) == len(value) and fake != value
    for ours, theirs in zip(fake, value, strict=True):
        assert ours.isdigit() == theirs.isdigit() and ours.islower() == theirs.islower()
        if not theirs.isalnum():
            assert ours == theirs


def test_a_format_prefix_is_kept_and_the_rest_is_random():
    fakes = {placeholder(OAUTH) for _ in range(20)}
    assert all(f.startswith("sk-ant-oat01-") for f in fakes) and len(fakes) == 20


def test_seal_gives_the_agent_placeholders_and_the_gate_both_forms():
    env = {"GITEA_TOKEN": "gitea-secret-value-123", "PLAIN": "plain-value", "CLAUDE_CODE_OAUTH_TOKEN": OAUTH}
    credentials = {"GITEA_TOKEN": ["gitea.example.com"], "CLAUDE_CODE_OAUTH_TOKEN": ("api.anthropic.com",)}
    sealed = seal(env, credentials, builtin=["CLAUDE_CODE_OAUTH_TOKEN"])
    assert sealed.agent_env["PLAIN"] == "plain-value"
    assert sealed.agent_env["GITEA_TOKEN"] != env["GITEA_TOKEN"]
    assert sealed.agent_env["CLAUDE_CODE_OAUTH_TOKEN"] != OAUTH
    known = {e["value"]: e for e in json.loads(sealed.known)}
    assert known["plain-value"] == {"value": "plain-value", "hosts": ["*"]}
    assert known["gitea-secret-value-123"] == {
        "value": "gitea-secret-value-123",
        "placeholder": sealed.agent_env["GITEA_TOKEN"],
        "hosts": ["gitea.example.com"],
        "name": "GITEA_TOKEN",
    }
    assert "name" not in known[OAUTH]  # not the manifest's to change: no hint names it
    assert not any(OAUTH in v or "gitea-secret-value-123" in v for v in sealed.agent_env.values())


def test_a_credential_too_short_to_swap_safely_is_refused():
    with pytest.raises(LaunchError, match="credential PIN is 4 characters long"):
        seal({"PIN": "1234"}, {"PIN": ["bank.example.com"]})
