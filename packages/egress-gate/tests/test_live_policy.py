"""Live allowlist changes as pure functions: the policy a gate decides by once the launcher wrote a
live document (`bottle-launch allow`/`deny`), the one `check <bottle-id>` uses too. The addon
applying them as they are written is tested in test_addon_live.py (mitmproxy) and end to end in
tests/test_egress_live.py."""

from __future__ import annotations

import os

from bottle_contract.egress import EgressConfig, LivePolicy, Rule
from egress_gate._decision import evaluate
from egress_gate._live import allow_command, changes, live_hint, live_policy, merged
from egress_gate._livefile import LiveFile
from egress_gate._policy import decide
from egress_gate._request import Request
from egress_gate._rules import Policy
from egress_gate._secrets import KnownSecret

CONFIG = EgressConfig(
    bottle="b",
    bottle_id="3f9c2a1b",
    allowlist=("api.anthropic.com", "platform.claude.com", "tls.test", "*.github.com", "api.github.com"),
    rules=(Rule("api.github.com", ("GET",)),),
)
CREDENTIAL = KnownSecret("real-token-0123456789", ("tls.test",), "API_TOKEN", "fake-token-9876543210")
ADDRESSES = {"tls.test": ["93.184.215.14"], "new.test": ["93.184.215.20"], "api.github.com": ["93.184.215.21"]}


def resolver(host: str, port: int) -> list[str]:
    if host not in ADDRESSES:
        raise OSError(-2, "Name or service not known")
    return ADDRESSES[host]


def https(host: str, headers: tuple[tuple[str, str], ...] = (), method: str = "GET") -> Request:
    return Request(method, "https", host, 443, "/", (("Host", host), *headers), tunnel=True, sni=host, host_header=host)


def test_without_a_live_document_the_policy_is_the_one_handed_over():
    policy = live_policy(CONFIG, (CREDENTIAL,), None)
    assert policy == Policy(CONFIG, (CREDENTIAL,)) and merged(CONFIG, None) is CONFIG


def test_an_allowed_host_is_admitted_and_a_refused_one_names_the_allow_command():
    before = evaluate(live_policy(CONFIG, (), None), https("new.test"), resolver)
    assert before.refusal is not None and before.refusal.rule == "not-allowlisted"
    assert live_hint(live_policy(CONFIG, (), None), "new.test", before.refusal) == (
        "bottle-launch allow 3f9c2a1b new.test"
    )
    after = evaluate(live_policy(CONFIG, (), LivePolicy(allow=("new.test",), serial=1)), https("new.test"), resolver)
    assert after.allowed, after.steps
    assert after.steps[0].rule == "allowlist:new.test"


def test_no_allow_command_without_a_running_bottle_or_for_other_refusals():
    plan_only = live_policy(EgressConfig("b", ("tls.test",)), (), None)
    refusal = evaluate(plan_only, https("new.test"), resolver).refusal
    assert refusal is not None and live_hint(plan_only, "new.test", refusal) is None
    unresolvable = evaluate(live_policy(CONFIG, (), LivePolicy(allow=("gone.test",))), https("gone.test"), resolver)
    assert unresolvable.refusal is not None and unresolvable.refusal.rule == "unresolvable"
    assert live_hint(live_policy(CONFIG, (), None), "gone.test", unresolvable.refusal) is None
    assert allow_command("3f9c2a1b", "*.x.test") == "bottle-launch allow 3f9c2a1b *.x.test"


def test_a_credential_does_not_follow_an_allowed_host():
    live = LivePolicy(allow=("new.test",), serial=1)
    policy = live_policy(CONFIG, (CREDENTIAL,), live)
    assert policy.known == (CREDENTIAL,)  # the known secrets are never touched by a live change
    carrying = https("new.test", (("Authorization", f"Bearer {CREDENTIAL.placeholder}"),))
    refused = evaluate(policy, carrying, resolver)
    assert refused.refusal is not None and refused.refusal.rule == "dlp:credential"
    clean = evaluate(policy, https("new.test"), resolver)
    assert clean.allowed and all(step.check != "credentials" for step in clean.steps)
    own = evaluate(policy, https("tls.test"), resolver)
    assert own.steps[-1].check == "credentials" and own.steps[-1].rule == "swapped"


def test_a_deny_wins_over_the_allowlist_it_started_with_and_the_defaults():
    live = LivePolicy(deny=("api.anthropic.com", "tls.test"), serial=2)
    policy = live_policy(CONFIG, (), live)
    for host in ("api.anthropic.com", "tls.test"):
        step = decide(host, policy.config.allowlist, "b", policy.denied)
        assert not step.allowed and step.rule == "denied" and step.hint is None, step
    assert "api.anthropic.com" not in policy.config.allowlist
    assert live_hint(policy, "tls.test", decide("tls.test", (), "b", policy.denied)) == (
        "bottle-launch allow 3f9c2a1b tls.test"
    )


def test_a_deny_refuses_a_name_a_wider_entry_still_covers_and_its_rules_go_with_it():
    live = LivePolicy(allow=("*.new.test",), deny=("api.github.com", "bad.new.test"), serial=3)
    policy = live_policy(CONFIG, (), live)
    # api.github.com had rules of its own; taken off, *.github.com must not let it through unruled.
    assert not decide("api.github.com", policy.config.allowlist, "b", policy.denied).allowed
    assert policy.config.rules == ()
    assert not decide("bad.new.test", policy.config.allowlist, "b", policy.denied).allowed
    assert decide("good.new.test", policy.config.allowlist, "b", policy.denied).allowed
    assert decide("docs.github.com", policy.config.allowlist, "b", policy.denied).allowed


def test_an_allowed_name_keeps_the_rules_of_the_entry_that_decides_it():
    policy = live_policy(CONFIG, (), LivePolicy(allow=("*.api.github.com",), serial=1))
    refused = evaluate(policy, https("api.github.com", method="POST"), resolver)
    assert refused.refusal is not None and refused.refusal.rule == "method"


def test_changes_name_what_was_added_and_what_was_taken_off():
    start = live_policy(CONFIG, (), None)
    allowed = live_policy(CONFIG, (), LivePolicy(allow=("new.test", "*.x.test"), serial=1))
    assert changes(start, allowed) == (["*.x.test", "new.test"], [])
    denied = live_policy(CONFIG, (), LivePolicy(allow=("*.x.test",), deny=("a.x.test",), serial=2))
    assert changes(allowed, denied) == ([], ["a.x.test", "new.test"])
    assert changes(denied, allowed) == (["a.x.test", "new.test"], [])


def test_the_live_file_is_read_only_when_it_changed(tmp_path):
    path = tmp_path / "live.json"
    live = LiveFile(path)
    assert live.changed() is None  # none yet
    path.write_bytes(LivePolicy(allow=("new.test",), serial=1).to_json())
    assert live.changed() == LivePolicy(allow=("new.test",), serial=1)
    assert live.changed() is None  # the same file: one stat, no read
    part = tmp_path / ".live.json.part"
    part.write_bytes(LivePolicy(allow=("new.test", "b.test"), serial=2).to_json())
    os.replace(part, path)  # as the launcher puts it in place: a new inode
    document = live.changed()
    assert document is not None and document.serial == 2
