"""Each document survives its own round trip, and a document of the wrong shape is refused with
a ContractError that names it (a gate then logs why and exits, instead of a traceback)."""

from __future__ import annotations

import io
import json
import threading
import time

import pytest
from bottle_contract import ContractError, egress, events, git, handover, ssh


def test_the_egress_config_round_trips():
    config = egress.EgressConfig(
        bottle="dev",
        bottle_id="3f9c2a1b",
        allowlist=("api.anthropic.com", "api.github.com", "*.pypi.org"),
        allow_cidrs=("10.1.0.0/16",),
        passthrough=("pinned.example",),
        upstream_ca=egress.UPSTREAM_CA_PATH,
        mode="report",
        ports={"db.example": (5432,)},
        rules=(
            egress.Rule("api.github.com", ("GET", "HEAD"), ("/repos/acme/*",)),
            egress.Rule("api.github.com", paths=("/user",)),
            egress.Rule("*.pypi.org", methods=("GET",)),
        ),
    )
    assert egress.EgressConfig.from_json(config.to_json()) == config
    assert egress.EgressConfig.from_json(egress.EgressConfig("b", ()).to_json()).port == egress.PORT
    assert egress.EgressConfig.from_json(b'{"bottle": "b", "allowlist": []}').rules == ()
    assert egress.EgressConfig.from_json(b'{"bottle": "b", "allowlist": []}').bottle_id == ""


def test_the_live_policy_round_trips_and_starts_empty():
    live = egress.LivePolicy(
        allow=("example.com", "*.example.org"), deny=("a.example.org",), serial=3, by="alice", pid=4242,
        at="2026-12-01T20:00:00Z",
    )  # fmt: skip
    assert egress.LivePolicy.from_json(live.to_json()) == live
    assert egress.LivePolicy.from_json(b"{}") == egress.LivePolicy()
    assert egress.LIVE_FILE not in (egress.KNOWN_FILE, egress.MITMPROXY_CA_FILE)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (b"[]", "must be a JSON object"),
        (b'{"allow": "a.example"}', "allow must be a list"),
        (b'{"deny": [], "serial": "3"}', "serial must be a whole number"),
        (b'{"serial": -1}', "serial must be a whole number"),
        (b'{"serial": true}', "serial must be a whole number"),
        (b'{"pid": 1.5}', "pid must be a whole number"),
        (b'{"allow": [], "passthrough": []}', "keys this side does not know"),
    ],
)
def test_a_wrong_live_policy_is_refused_by_name(document, message):
    with pytest.raises(ContractError, match=message):
        egress.LivePolicy.from_json(document)


def test_a_rule_writes_only_the_keys_it_restricts():
    written = json.loads(
        egress.EgressConfig("b", ("a.example",), rules=(egress.Rule("a.example", ("GET",)),)).to_json()
    )
    assert written["rules"] == [{"host": "a.example", "methods": ["GET"]}]
    read = egress.EgressConfig.from_json(b'{"bottle": "b", "allowlist": ["a.example"], '
                                         b'"rules": [{"host": "a.example", "methods": ["get"]}]}')  # fmt: skip
    assert read.rules == (egress.Rule("a.example", ("GET",)),)  # methods are upper-case


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (b"[]", "must be a JSON object"),
        (b"{", "not JSON"),
        (b'{"allowlist": []}', "bottle"),
        (b'{"bottle": "b", "allowlist": "api.anthropic.com"}', "allowlist must be a list"),
        (b'{"bottle": "b", "allowlist": [], "mode": "off"}', "mode must be one of"),
        (b'{"bottle": "b", "allowlist": ["a"], "rules": {"host": "a"}}', "rules must be a list"),
        (b'{"bottle": "b", "allowlist": ["a"], "rules": ["a"]}', "each rule must be a JSON object"),
        (b'{"bottle": "b", "allowlist": ["a"], "rules": [{"host": "a"}]}', "restricts nothing"),
        (b'{"bottle": "b", "allowlist": ["a"], "rules": [{"host": "a", "methods": []}]}', "an empty list"),
        (b'{"bottle": "b", "allowlist": ["a"], "rules": [{"host": "a", "paths": "/x"}]}', "paths must be a list"),
        (b'{"bottle": "b", "allowlist": ["a"], "rules": [{"host": "b", "methods": ["GET"]}]}', "not on the allowlist"),
        (b'{"bottle": "b", "allowlist": ["a"], "rules": [{"methods": ["GET"]}]}', "the egress gate's config"),
    ],
)
def test_a_wrong_egress_config_is_refused_by_name(document, message):
    with pytest.raises(ContractError, match=message):
        egress.EgressConfig.from_json(document)


def test_known_secrets_round_trip_and_keep_their_defaults():
    known = (
        egress.KnownSecret("plain-value-123", ("*",)),
        egress.KnownSecret("ghp_realrealreal", ("api.github.com",), "GH_TOKEN", "ghp_fakefakefake", ("headers", "url")),
    )
    assert egress.known_from_json(egress.known_to_json(known)) == known
    assert egress.known_from_json(b"") == ()
    with pytest.raises(ContractError):
        egress.known_from_json(b'{"value": "x"}')


def test_the_git_config_round_trips_with_a_workspace_and_without():
    remote = git.Remote("forge", "git.example.com", 2222, "git", "[git.example.com]:2222", ("a/b", "c/d"))
    with_workspace = git.GitConfig(
        bottle="dev",
        remotes=(remote,),
        scan_budget=git.ScanBudget(max_bytes=1024, max_objects=10, seconds=5),
        workspace=git.Workspace("workspace/app", head="refs/heads/dev"),
    )
    assert git.GitConfig.from_json(with_workspace.to_json()) == with_workspace
    bare = git.GitConfig(bottle="dev", remotes=())
    assert git.GitConfig.from_json(bare.to_json()) == bare
    assert remote.url("a/b") == "ssh://git@git.example.com:2222/a/b.git"
    assert remote.identity() == f"{git.HANDOVER_DIR}/{git.IDENTITY_SUBDIR}/forge"


def test_a_git_config_whose_push_refs_is_one_string_is_refused():
    with pytest.raises(ContractError, match="push_refs"):
        git.GitConfig.from_json(json.dumps({"remotes": [], "push_refs": "refs/*"}))


def test_the_ssh_config_round_trips_and_refuses_repeated_ports():
    config = ssh.SshConfig("dev", (ssh.Forward("forge", ssh.FIRST_PORT, "git.example.com", 22),))
    assert ssh.SshConfig.from_json(config.to_json()) == config
    twice = ssh.SshConfig("dev", (ssh.Forward("a", 2201, "x", 22), ssh.Forward("b", 2201, "y", 22)))
    with pytest.raises(ContractError, match="repeat"):
        ssh.SshConfig.from_json(twice.to_json())
    with pytest.raises(ContractError, match="no forwards"):
        ssh.SshConfig.from_json(b'{"bottle": "dev", "forwards": []}')


def test_an_event_line_reads_back_as_it_was_written():
    out = io.StringIO()
    events.emit("egress", events.DECISION, stream=out, decision="block", host="evil.example", rule="allowlist")
    (line,) = out.getvalue().splitlines()
    event = events.parse(line.encode())
    assert event is not None
    assert (event.gate, event.event, event.get("host"), event.refused) == ("egress", "decision", "evil.example", True)
    assert time.strptime(event.time, "%Y-%m-%dT%H:%M:%SZ")


@pytest.mark.parametrize("line", [b"", b"plain output", b"{not json", b"[1]", b'{"no": "event"}', b'{"event": 3}'])
def test_lines_that_are_not_events_read_as_none(line):
    assert events.parse(line) is None


def test_only_a_refusing_decision_is_refused():
    allowed = events.parse(events.line("egress", events.DECISION, decision="allow"))
    report = events.parse(events.line("egress", events.DECISION, decision=events.DECISION_WOULD_BLOCK))
    ready = events.parse(events.line("git", events.READY, decision="block"))
    policy = events.parse(events.line("egress", events.POLICY, serial=1, removed=["x.example"], closed=1))
    assert allowed is not None and report is not None and ready is not None and policy is not None
    assert (allowed.refused, report.refused, ready.refused, policy.refused) == (False, True, False, False)


def test_the_handover_wait_ends_when_the_marker_arrives_and_not_before(tmp_path):
    assert handover.wait(tmp_path, timeout=0.1) is False
    threading.Timer(0.1, handover.marker(tmp_path).touch).start()
    assert handover.wait(tmp_path, timeout=5) is True


@pytest.mark.parametrize(
    ("read", "document"),
    [
        (egress.EgressConfig.from_json, b'{"bottle": "b", "allowlist": [], "deny": ["x"]}'),
        (
            egress.EgressConfig.from_json,
            b'{"bottle": "b", "allowlist": ["h"], "rules": [{"host": "h", "verbs": ["GET"]}]}',
        ),
        (git.GitConfig.from_json, b'{"remotes": [], "mirror_all": true}'),
        (ssh.SshConfig.from_json, b'{"forwards": [{"alias": "a", "listen": 1, "host": "h", "port": 22}], "udp": 1}'),
    ],
)
def test_a_key_this_side_does_not_know_is_refused_not_skipped(read, document):
    # A policy key a newer launcher wrote and an older gate skipped would go unenforced.
    with pytest.raises(ContractError, match="does not know"):
        read(document)
