"""`bottle-launch allow` and `deny` as a user runs them, against a stand-in runtime backend whose
egress gate answers as the real one does (a `policy` line for each document it is handed): the
arguments, the bottles it refuses, what it writes and what `--save` does to the manifest. The
real gate and engine: tests/test_egress_live.py."""

from __future__ import annotations

import getpass
import json
import os
from pathlib import Path

import pytest
from bottle_contract import events
from bottle_contract.egress import EgressConfig, LivePolicy
from bottle_launcher.cli import cli
from bottle_launcher.cli import live as live_cli
from bottle_launcher.cli import logs as logs_cli
from bottle_launcher.runtime import BottleInfo, ContainerInfo
from click.testing import CliRunner

CONFIG = EgressConfig("dev", ("api.anthropic.com", "platform.claude.com", "pypi.org"), bottle_id="3f9c2a1b")
MANIFEST = """{
  "bottles": {
    "dev": {
      "egress": {
        "allowlist": [
          "pypi.org", // python
        ],
      },
    },
  },
  "agents": {"helper": {"bottle": "dev"}},
}
"""


class FakeGate:
    """The runtime backend's side of a running bottle: documents in, `policy` lines out."""

    def __init__(self, infos: list[BottleInfo], confirm: bool = True, conflicts: int = 0) -> None:
        self.infos = infos
        self.live: bytes | None = None
        self.writes: list[LivePolicy] = []
        self.lines: list[bytes] = []
        self.confirm = confirm
        self.conflicts = conflicts

    def list(self) -> list[BottleInfo]:
        return self.infos

    def egress_config(self, bottle_id: str) -> bytes:
        return CONFIG.to_json()

    def live_policy(self, bottle_id: str) -> bytes | None:
        return self.live

    def set_live_policy(self, bottle_id: str, document: bytes, serial: int) -> bool:
        if self.conflicts:
            self.conflicts -= 1
            # Another launcher's change came first: the one the next read finds.
            self.live = LivePolicy(allow=("other.test",), serial=serial + 1).to_json()
            return False
        current = LivePolicy.from_json(self.live) if self.live else LivePolicy()
        assert current.serial == serial
        self.live = document
        written = LivePolicy.from_json(document)
        self.writes.append(written)
        if self.confirm:
            line = events.line("egress", events.POLICY, serial=written.serial, closed=1, by=written.by, pid=written.pid)
            self.lines.append(line.encode())
        return True

    def sidecar_log(self, bottle_id: str, role: str, since: float | None = None) -> list[bytes]:
        return self.lines


def bottle(bottle_id: str = "3f9c2a1b", engine: str = "mitmproxy", manifest: str = "") -> BottleInfo:
    containers = (ContainerInfo("a", "agent", "running"), ContainerInfo("e", "egress", "running"))
    return BottleInfo(bottle_id, "helper", "dev", containers, (), "host", 1, True, manifest, engine)


@pytest.fixture
def manifest(tmp_path: Path) -> Path:
    path = tmp_path / "claude-bottle.json"
    path.write_text(MANIFEST)
    return path


def run(monkeypatch, gate: FakeGate, *args: str):
    monkeypatch.setattr(live_cli, "open_backend", lambda: gate)
    monkeypatch.setattr(live_cli, "APPLY_TIMEOUT", 0.3)
    return CliRunner().invoke(cli, list(args))


def test_allow_writes_the_next_document_and_waits_for_the_gate(monkeypatch):
    gate = FakeGate([bottle()])
    result = run(monkeypatch, gate, "allow", "helper", "Example.COM", "*.example.org")
    assert result.exit_code == 0, result.output
    assert "bottle 3f9c2a1b: allowed example.com, *.example.org" in result.output
    (written,) = gate.writes
    assert (written.allow, written.deny, written.serial) == (("*.example.org", "example.com"), (), 1)
    assert (written.by, written.pid) == (getpass.getuser(), os.getpid()) and written.at


def test_deny_reports_the_tunnels_the_gate_closed(monkeypatch):
    gate = FakeGate([bottle()])
    gate.live = LivePolicy(allow=("example.com",), serial=1).to_json()
    result = run(monkeypatch, gate, "deny", "3f9c2a1b", "example.com")
    assert result.exit_code == 0, result.output
    assert "bottle 3f9c2a1b: took off example.com; closed 1 open tunnel" in result.output
    assert gate.writes[-1].allow == () and gate.writes[-1].serial == 2


def test_a_change_that_lost_a_race_is_made_again_over_the_new_document(monkeypatch):
    gate = FakeGate([bottle()], conflicts=1)
    assert run(monkeypatch, gate, "allow", "3f9c2a1b", "example.com").exit_code == 0
    (written,) = gate.writes
    assert written.allow == ("example.com", "other.test") and written.serial == 2  # the other change kept


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("allow", "nobody", "example.com"), 1, "no bottle matches 'nobody'"),
        (("allow", "3f9c2a1b", "https://example.com"), 2, "has a scheme; write just the host name"),
        (("allow", "3f9c2a1b", "10.0.0.1"), 2, "is an IP address; the allowlist takes host names only"),
        (("allow", "3f9c2a1b", "ex*ample.com"), 2, "a wildcard is allowed only as a leading '*.'"),
        (("allow", "3f9c2a1b"), 2, "Missing argument 'HOSTS...'"),
        (("deny", "3f9c2a1b", "pypi.org"), 1, "'pypi.org' in bottles.dev.egress.allowlist"),
        (("deny", "3f9c2a1b", "api.anthropic.com"), 1, "in the built-in defaults"),
    ],
)
def test_what_allow_and_deny_refuse_changes_nothing(monkeypatch, args, code, message):
    gate = FakeGate([bottle()])
    result = run(monkeypatch, gate, *args)
    assert result.exit_code == code, result.output
    assert message in result.output
    assert gate.writes == []


def test_a_pipelock_bottle_says_it_cannot_and_changes_nothing(monkeypatch, manifest):
    gate = FakeGate([bottle(engine="pipelock", manifest=str(manifest))])
    for verb in ("allow", "deny"):
        result = run(monkeypatch, gate, verb, "helper", "example.com", "--save")
        assert result.exit_code == 1, result.output
        assert "runs the pipelock egress engine, which cannot reload its allowlist" in result.output
        assert f"`{verb}` changed nothing" in result.output
    assert gate.writes == [] and manifest.read_text() == MANIFEST


def test_a_bottle_from_an_older_launcher_is_refused(monkeypatch):
    result = run(monkeypatch, FakeGate([bottle(engine="")]), "allow", "3f9c2a1b", "example.com")
    assert result.exit_code == 1 and "started by an older bottle-launch" in result.output


def test_an_agent_with_several_bottles_needs_an_id(monkeypatch):
    result = run(monkeypatch, FakeGate([bottle("aaaa1111"), bottle("bbbb2222")]), "allow", "helper", "x.test")
    assert result.exit_code == 1 and "names several bottles: aaaa1111, bbbb2222" in result.output


def test_a_gate_that_does_not_confirm_is_reported(monkeypatch):
    gate = FakeGate([bottle()], confirm=False)
    result = run(monkeypatch, gate, "allow", "3f9c2a1b", "example.com")
    assert result.exit_code == 1 and "did not confirm it" in result.output
    assert len(gate.writes) == 1  # written: the gate applies it at its next request


def test_save_writes_the_change_into_the_manifest_the_bottle_came_from(monkeypatch, manifest):
    gate = FakeGate([bottle(manifest=str(manifest))])
    result = run(monkeypatch, gate, "allow", "3f9c2a1b", "example.com", "api.anthropic.com", "--save")
    assert result.exit_code == 0, result.output
    assert f"{manifest}: added example.com in bottles.dev.egress.allowlist" in result.output
    text = manifest.read_text()
    assert '"pypi.org", // python\n          "example.com",\n' in text and "api.anthropic.com" not in text
    gate.live = LivePolicy(allow=("example.com",), serial=1).to_json()
    result = run(monkeypatch, gate, "deny", "3f9c2a1b", "example.com", "--save")
    assert result.exit_code == 0, result.output
    assert manifest.read_text() == MANIFEST


def test_save_is_refused_before_anything_changes_when_the_manifest_cannot_take_it(monkeypatch, manifest):
    manifest.write_text(MANIFEST.replace('"pypi.org"', '"https://pypi.org"'))  # a problem of its own
    gate = FakeGate([bottle(manifest=str(manifest))])
    result = run(monkeypatch, gate, "allow", "3f9c2a1b", "example.com", "--save")
    assert result.exit_code == 1 and "fix these first" in result.output, result.output
    assert gate.writes == []


def test_logs_refused_shows_only_refusals_and_policy_changes_otherwise():
    allowed = events.line("egress", events.DECISION, method="GET", host="a.test", path="/", decision="allow",
                          rule="allowed", hint=None).encode()  # fmt: skip
    refused = events.line("egress", events.DECISION, method="CONNECT", host="b.test", path="", decision="block",
                          rule="not-allowlisted", hint='add "b.test" to bottles.dev.egress.allowlist',
                          command="bottle-launch allow 3f9c2a1b b.test").encode()  # fmt: skip
    policy = events.line("egress", events.POLICY, serial=1, added=["b.test"], removed=[], by="alice", pid=7,
                         closed=0).encode()  # fmt: skip
    shown = [logs_cli._shown(raw, as_json=False, refused=True) for raw in (allowed, refused, policy, b"noise")]
    assert shown[0] is None and shown[2] is None and shown[3] is None
    assert shown[1] is not None and b"now: bottle-launch allow 3f9c2a1b b.test" in shown[1]
    assert logs_cli._shown(refused, as_json=True, refused=True) == refused
    line = logs_cli._shown(policy, as_json=False, refused=False)
    assert line is not None and b"policy      +b.test  (by alice, pid 7)" in line
    assert json.loads(logs_cli._shown(policy, as_json=True, refused=False) or b"{}")["event"] == "policy"


def test_the_gates_write_script_puts_a_document_in_place_only_over_the_serial_read(tmp_path):
    """The script the Docker backend runs in the gate (as its UID, through an exec's stdin), run
    here: the compare-and-swap that keeps two launchers from overwriting each other's change."""
    import subprocess
    import sys

    from bottle_launcher.runtime.docker._live import _WRITE

    def put(document: LivePolicy, serial: int) -> int:
        data = document.to_json()
        argv = [sys.executable, "-c", _WRITE, str(tmp_path), "live.json", str(serial), str(len(data))]
        return subprocess.run(argv, input=data, capture_output=True).returncode

    first, second = LivePolicy(allow=("a.test",), serial=1), LivePolicy(allow=("b.test",), serial=1)
    assert put(first, 0) == 0
    assert put(second, 0) == 3  # read before the first was written: refused
    assert LivePolicy.from_json((tmp_path / "live.json").read_bytes()) == first
    assert put(LivePolicy(allow=("a.test", "b.test"), serial=2), 1) == 0
    # A document cut short (the stream ended before its stated length) is not put in place.
    short = [sys.executable, "-c", _WRITE, str(tmp_path), "live.json", "2", "1000"]
    assert subprocess.run(short, input=b'{"allow": []', capture_output=True).returncode == 5
    assert "b.test" in (tmp_path / "live.json").read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == [".live.json.lock", "live.json"]  # no part left
    assert oct((tmp_path / "live.json").stat().st_mode & 0o777) == "0o600"


def test_check_answers_for_a_running_bottle_with_its_live_changes(monkeypatch):
    from bottle_launcher.cli import check as check_cli

    gate = FakeGate([bottle()])
    monkeypatch.setattr(check_cli, "open_backend", lambda: gate)

    def ask(url: str) -> dict:
        result = CliRunner().invoke(cli, ["check", "3f9c2a1b", url, "--no-resolve", "--json"])
        assert result.exit_code in (0, 1), result.output
        return json.loads(result.output)

    before = ask("https://example.com/x")
    assert (before["decision"], before["rule"]) == ("block", "not-allowlisted")
    assert before["allow_now"] == "bottle-launch allow 3f9c2a1b example.com"
    gate.live = LivePolicy(allow=("example.com",), serial=1).to_json()
    after = ask("https://example.com/x")
    assert after["decision"] == "allow" and after["allow_now"] is None
    assert "`bottle-launch allow` added" in after["steps"][0]["detail"]
    text = CliRunner().invoke(cli, ["check", "3f9c2a1b", "https://other.test/", "--no-resolve"]).output
    assert "To allow it now: bottle-launch allow 3f9c2a1b other.test" in text
