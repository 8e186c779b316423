"""What `bottle-launch allow` and `deny` write: the next live policy document of a running bottle,
and what each refuses. The gate applying it is egress_gate.live_policy (its own tests); here the
two are run together too, so "a host allowed then denied ends denied" is the gate's answer."""

from __future__ import annotations

import pytest
from bottle_contract.egress import EgressConfig, LivePolicy
from bottle_launcher import live_change
from bottle_launcher.errors import LaunchError
from egress_gate import live_policy
from egress_gate._policy import decide

CONFIG = EgressConfig(
    bottle="dev",
    bottle_id="3f9c2a1b",
    allowlist=("api.anthropic.com", "platform.claude.com", "pypi.org", "*.corp.test"),
)
WHO = {"by": "alice", "pid": 4242, "at": "2026-12-01T20:00:00Z"}


def allow(current: LivePolicy, *hosts: str) -> live_change.Change:
    return live_change.allow(CONFIG, current, hosts, **WHO)


def deny(current: LivePolicy, *hosts: str) -> live_change.Change:
    return live_change.deny(CONFIG, current, hosts, **WHO)


def admitted(document: LivePolicy, host: str) -> bool:
    """What the gate answers for `host` once `document` is in place."""
    policy = live_policy(CONFIG, (), document)
    return decide(host, policy.config.allowlist, "dev", policy.denied).allowed


def test_allow_writes_the_next_document_with_who_and_when():
    change = allow(LivePolicy(), "example.com", "*.example.org")
    assert change.changed == ("example.com", "*.example.org")
    assert change.document == LivePolicy(("*.example.org", "example.com"), (), 1, "alice", 4242, "2026-12-01T20:00:00Z")
    assert admitted(change.document, "example.com") and admitted(change.document, "a.example.org")


def test_allow_leaves_what_is_allowed_already_and_says_by_what():
    change = allow(LivePolicy(allow=("example.com",), serial=4), "example.com", "pypi.org", "api.anthropic.com",
                   "x.corp.test", "*.a.corp.test")  # fmt: skip
    assert change.changed == () and change.document.serial == 4
    notes = "\n".join(change.notes)
    assert "example.com is already allowed (by 'example.com', from an earlier `bottle-launch allow`)" in notes
    assert "pypi.org is already allowed (by 'pypi.org', from bottles.dev.egress.allowlist)" in notes
    assert "from the built-in defaults" in notes
    assert "x.corp.test is already allowed (by '*.corp.test'" in notes and "*.a.corp.test is already" in notes


def test_a_host_allowed_then_denied_ends_denied_and_a_later_allow_undoes_it():
    allowed = allow(LivePolicy(), "example.com").document
    denied = deny(allowed, "example.com")
    assert denied.changed == ("example.com",) and denied.document.serial == 2
    assert denied.document.allow == () and denied.document.deny == ()
    assert not admitted(denied.document, "example.com")
    again = allow(denied.document, "example.com")
    assert admitted(again.document, "example.com") and again.document.serial == 3


def test_a_name_under_an_allowed_wildcard_is_carved_out_and_put_back():
    wide = allow(LivePolicy(), "*.example.com").document
    carved = deny(wide, "bad.example.com").document
    assert carved.allow == ("*.example.com",) and carved.deny == ("bad.example.com",)
    assert not admitted(carved, "bad.example.com") and admitted(carved, "good.example.com")
    back = allow(carved, "bad.example.com").document
    assert back.deny == () and back.allow == ("*.example.com",) and admitted(back, "bad.example.com")
    # Taking the wildcard off takes its carve-outs with it: nothing is left to deny.
    gone = deny(carved, "*.example.com").document
    assert gone.allow == () and gone.deny == () and not admitted(gone, "good.example.com")


def test_a_name_under_a_denied_wildcard_is_refused_rather_than_reopening_it():
    carved = LivePolicy(allow=("*.example.com",), deny=("*.in.example.com",), serial=2)
    with pytest.raises(LaunchError, match=r"a.in.example.com is under \*.in.example.com"):
        allow(carved, "a.in.example.com")


def test_deny_refuses_the_manifests_and_the_defaults_hosts_and_changes_nothing():
    with pytest.raises(LaunchError, match=r"'pypi\.org' in bottles\.dev\.egress\.allowlist") as manifest:
        deny(LivePolicy(allow=("example.com",), serial=1), "example.com", "pypi.org")
    assert "remove it from the manifest" in (manifest.value.hint or "")
    with pytest.raises(LaunchError, match=r"'api\.anthropic\.com' in the built-in defaults"):
        deny(LivePolicy(), "api.anthropic.com")
    with pytest.raises(LaunchError, match=r"'\*.corp.test'"):
        deny(LivePolicy(), "a.corp.test")  # a name the manifest's wildcard allows
    with pytest.raises(LaunchError, match=r"'pypi\.org'"):
        deny(LivePolicy(), "*.org")  # would take off a manifest host


def test_deny_of_what_is_not_allowed_changes_nothing():
    change = deny(LivePolicy(allow=("a.test",), serial=1), "b.test")
    assert change.changed == () and change.document.serial == 1
    assert change.notes == ("b.test is not allowed: nothing to take off",)
