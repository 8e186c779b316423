"""A dead gate is noticed: the bottle's state comes from all of its containers, `ps` shows each,
an attached session hears at once which gate stopped and why, and the summary says so too."""

from __future__ import annotations

import json
import queue
import threading
import time

import pytest
from bottle_launcher import summary
from bottle_launcher.cli import lifecycle
from bottle_launcher.runtime.docker._watch import GateWatch, container_info
from bottle_launcher.runtime.plugin.interface import BottleInfo, ContainerInfo, bottle_state
from click.testing import CliRunner

LABEL = "dev.claude-bottle"


def c(role: str, state: str = "running", **kw) -> ContainerInfo:
    return ContainerInfo(name=f"bottle-t-x-{role}", role=role, state=state, **kw)


@pytest.mark.parametrize(
    ("containers", "state", "down"),
    [
        ([c("agent"), c("egress"), c("ssh")], "running", ()),
        ([c("agent"), c("egress", "exited", exit_code=137)], "degraded", ("egress",)),
        ([c("agent"), c("egress"), c("git", "exited", exit_code=1), c("ssh", "dead")], "degraded", ("git", "ssh")),
        ([c("agent"), c("egress", health="unhealthy")], "degraded", ("egress",)),
        ([c("agent"), c("egress", health="healthy")], "running", ()),
        ([c("agent"), c("egress", "restarting")], "degraded", ("egress",)),
        ([c("agent", "exited", exit_code=0), c("egress")], "exited", ()),
        ([c("agent", "exited", exit_code=137), c("egress", "exited", exit_code=137)], "exited", ("egress",)),
        ([c("agent", "created"), c("egress")], "starting", ()),
        ([c("agent", "paused"), c("egress")], "paused", ()),
        ([c("egress")], "missing", ()),
        ([], "missing", ()),
        # the fence helper lives for a moment during a start and says nothing of the bottle
        ([c("agent"), c("egress"), c("fence", "exited", exit_code=0)], "running", ()),
    ],
)
def test_the_bottles_state_comes_from_every_container(containers, state, down):
    assert bottle_state(containers) == (state, down)


def test_a_containers_status_carries_its_exit_code_oom_and_health():
    assert c("egress").status == "running"
    assert c("egress", "exited", exit_code=137).status == "exited(137)"
    assert c("egress", "exited", exit_code=137, oom_killed=True).status == "exited(137,oom)"
    assert c("egress", health="unhealthy").status == "running(unhealthy)"


def test_container_info_reads_the_engines_inspect_data():
    inspected = {
        "Id": "abc",
        "Name": "/bottle-t-x-egress",
        "Config": {"Labels": {f"{LABEL}.role": "egress", f"{LABEL}.id": "x"}},
        "State": {"Status": "exited", "ExitCode": 137, "OOMKilled": True, "Running": False},
    }
    assert container_info(inspected) == ContainerInfo("bottle-t-x-egress", "egress", "exited", 137, True, None)
    inspected["State"] = {"Status": "running", "ExitCode": 0, "Health": {"Status": "unhealthy"}}
    info = container_info(inspected)
    assert info.exit_code is None and info.health == "unhealthy" and not info.up


@pytest.mark.parametrize(
    ("info", "text"),
    [
        (c("egress", "exited", exit_code=137), "exit 137: killed"),
        (c("egress", "exited", exit_code=137, oom_killed=True), "exit 137: out of memory"),
        (c("egress", "exited", exit_code=143), "exit 143: terminated"),
        (c("egress", "exited", exit_code=1), "exit 1"),
        (c("egress", health="unhealthy"), "unhealthy"),
    ],
)
def test_the_reason_a_gate_is_down_is_in_words(info, text):
    assert summary.reason(info) == text


def test_the_notice_names_the_gate_the_reason_and_the_loss_in_raw_mode_lines():
    info = c("egress", "exited", exit_code=137, log_tail=("Traceback (most recent call last):", "MemoryError"))
    text = summary.notice(info)
    assert text.startswith("\r\n") and text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")
    lines = text.strip("\r\n").split("\r\n")
    assert lines[0] == (
        "claude-bottle: the egress gate stopped (exit 137: killed); "
        "the agent can no longer reach the network (claude's API included)"
    )
    assert lines[1:] == [
        "claude-bottle:   egress: Traceback (most recent call last):",
        "claude-bottle:   egress: MemoryError",
    ]
    assert "can no longer fetch or push" in summary.notice(c("git", "exited", exit_code=128))
    agent = summary.notice(c("agent", oom_killed=True), memory=4 << 30)
    assert "the agent hit its memory limit (4g)" in agent


def test_the_summary_says_which_gate_stopped_and_that_the_agent_ran_out_of_memory():
    states = [
        c("agent", "exited", exit_code=137, oom_killed=True),
        c("egress", "exited", exit_code=137),
        c("ssh"),
        c("git", health="unhealthy"),
    ]
    assert summary.ended(states, bottle="e2e", memory=512 << 20).splitlines() == [
        "the agent ran out of memory and was killed (exit 137: out of memory); "
        "bottles.e2e.resources.memory raises its limit, 512m",
        "the egress gate stopped during this session (exit 137: killed)",
        "the git gate was unhealthy when the session ended",
    ]
    assert summary.ended([c("agent", "exited", exit_code=0), c("egress")], bottle="e2e") == ""
    # under runc the kernel may kill a child for the memory and the agent goes on
    child = summary.ended([c("agent", "exited", exit_code=0, oom_killed=True)], bottle="e2e")
    assert child.startswith("a process in the agent ran out of memory")


# -- the watcher, against a stand-in for the engine's API -----------------------------------


class Stream:
    """An event stream that blocks like the engine's until an event comes or it is closed."""

    def __init__(self) -> None:
        self.events: queue.Queue = queue.Queue()
        self.closed = False

    def __iter__(self):
        while True:
            event = self.events.get()
            if event is None:
                raise OSError("stream closed")
            yield event

    def close(self) -> None:
        self.closed = True
        self.events.put(None)


class FakeAPI:
    def __init__(self, containers: dict[str, dict]) -> None:
        self.inspected = containers  # id -> inspect data
        self.stream = Stream()
        self.filters: dict = {}

    def events(self, decode, filters):
        self.filters = filters
        return self.stream

    def containers(self, all, filters):
        return [{"Id": cid} for cid in self.inspected]

    def inspect_container(self, cid):
        return self.inspected[cid]

    def logs(self, cid, stdout, stderr, tail):
        return b"first\nsecond\n\nlast words\n"


def inspect(role: str, status: str = "running", code: int = 0, oom: bool = False) -> dict:
    return {
        "Id": role,
        "Name": f"/bottle-t-x-{role}",
        "Config": {"Labels": {f"{LABEL}.role": role, f"{LABEL}.id": "x"}},
        "State": {"Status": status, "ExitCode": code, "OOMKilled": oom},
    }


def event(role: str, action: str) -> dict:
    attributes = {f"{LABEL}.role": role, "name": f"bottle-t-x-{role}", "exitCode": "137"}
    return {"Type": "container", "Action": action, "Actor": {"ID": role, "Attributes": attributes}}


def wait_until(predicate, timeout: float = 5) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "not in time"
        time.sleep(0.01)


def test_a_gate_that_dies_is_told_at_once_with_its_last_lines_and_only_once():
    api = FakeAPI({"agent": inspect("agent"), "egress": inspect("egress")})
    told: list[ContainerInfo] = []
    with GateWatch(api, "x", told.append):
        assert told == []  # positive control: every gate runs, nothing is said
        assert api.filters == {"type": "container", "label": f"{LABEL}.id=x"}
        api.inspected["egress"] = inspect("egress", "exited", 137)
        api.stream.events.put(event("egress", "kill"))
        api.stream.events.put(event("egress", "die"))
        api.stream.events.put(event("egress", "die"))
        wait_until(lambda: told)
        time.sleep(0.1)
    assert told == [c("egress", "exited", exit_code=137, log_tail=("first", "second", "last words"))]
    assert api.stream.closed


def test_a_gate_already_dead_when_the_session_attaches_is_told_too():
    api = FakeAPI({"agent": inspect("agent"), "git": inspect("git", "exited", 128)})
    told: list[ContainerInfo] = []
    with GateWatch(api, "x", told.append):
        pass
    assert [(i.role, i.exit_code) for i in told] == [("git", 128)]


def test_the_agent_hitting_its_memory_limit_is_told_each_time_and_its_death_ends_the_watch():
    api = FakeAPI({"agent": inspect("agent"), "egress": inspect("egress")})
    told: list[ContainerInfo] = []
    with GateWatch(api, "x", told.append):
        api.stream.events.put(event("agent", "oom"))
        api.stream.events.put(event("agent", "oom"))
        wait_until(lambda: len(told) == 2)
        api.stream.events.put(event("agent", "die"))
        # the teardown that follows stops the gates: that is no news
        api.inspected["egress"] = inspect("egress", "exited", 137)
        api.stream.events.put(event("egress", "die"))
        time.sleep(0.1)
    assert [(i.role, i.oom_killed) for i in told] == [("agent", True), ("agent", True)]


def test_a_notifier_that_fails_does_not_end_the_session():
    api = FakeAPI({"agent": inspect("agent"), "egress": inspect("egress", "exited", 1), "git": inspect("git")})
    called: list[str] = []

    def broken(info: ContainerInfo) -> None:
        called.append(info.role)
        raise OSError("terminal gone")

    with GateWatch(api, "x", broken):  # the dead egress gate is told at once, and that raises
        # the session goes on, and so does the watch: the next gate that dies is told too
        api.inspected["git"] = inspect("git", "exited", 137)
        api.stream.events.put(event("git", "die"))
        wait_until(lambda: len(called) == 2)
    assert called == ["egress", "git"]


def test_the_watch_thread_ends_when_the_session_does():
    api = FakeAPI({"agent": inspect("agent")})
    before = threading.active_count()
    with GateWatch(api, "x", lambda info: None):
        assert "gate-watch" in [thread.name for thread in threading.enumerate()]  # positive control
    wait_until(lambda: threading.active_count() == before)


# -- ps ---------------------------------------------------------------------------------------


class FakeBackend:
    def __init__(self, infos: list[BottleInfo]) -> None:
        self.infos = infos

    def list(self) -> list[BottleInfo]:
        return self.infos


def bottle(bottle_id: str, *containers: ContainerInfo) -> BottleInfo:
    return BottleInfo(bottle_id, "tester", "e2e", containers, (), "host", 1, True)


@pytest.fixture
def listed(monkeypatch):
    infos = [
        bottle("aaaa1111", c("agent"), c("egress")),
        bottle("bbbb2222", c("agent"), c("egress", "exited", exit_code=137, oom_killed=True), c("git")),
    ]
    monkeypatch.setattr(lifecycle, "open_backend", lambda: FakeBackend(infos))


def test_ps_shows_each_containers_state_and_a_degraded_bottle(listed):
    result = CliRunner().invoke(lifecycle.ps, [])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[1].split() == ["aaaa1111", "tester", "e2e", "running", "agent:running", "egress:running"]
    assert lines[2].split() == [
        "bbbb2222", "tester", "e2e", "degraded", "agent:running", "egress:exited(137,oom)", "git:running"
    ]  # fmt: skip


def test_ps_json_lists_exit_codes_and_the_gates_that_are_down(listed):
    rows = {row["id"]: row for row in json.loads(CliRunner().invoke(lifecycle.ps, ["--json"]).output)}
    assert rows["aaaa1111"]["state"] == "running" and rows["aaaa1111"]["gates_down"] == []
    degraded = rows["bbbb2222"]
    assert degraded["state"] == "degraded" and degraded["agent_state"] == "running"
    assert degraded["gates_down"] == ["egress"]
    egress = next(row for row in degraded["containers"] if row["role"] == "egress")
    assert egress == {
        "name": "bottle-t-x-egress",
        "role": "egress",
        "state": "exited",
        "exit_code": 137,
        "oom_killed": True,
        "health": None,
    }
