"""The main job: a person types `bottle-launch <agent>` and talks to the real Claude Code.

The real client from the agent image, driven through a pseudo-terminal and read from an emulated
screen. Anthropic's hosts are a stand-in on the test network (HTTPS from a private CA the gate
trusts through BOTTLE_EGRESS_UPSTREAM_CA), answering as every host the client was seen to use and
a few it might. The bottle's egress allowlist is only the built-in defaults: a client that
reaches for another host shows it in the end-of-session summary, and these tests fail.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import get_args

import docker
import pytest
from anthropic_standin import PAGE_HOST, Request, make_standin_ca, recorded, start_standin
from bottle_manifest._models import PermissionMode
from e2e_helpers import LABEL, bottle_launch, host_git, leftovers
from terminal import Terminal, input_box_ready
from upstreams import KeyPair

TOKEN = "sk-ant-oat01-" + secrets.token_urlsafe(70)
SUMMARY = "egress refused during this session"
AGENT_LABEL = "dev.claude-bottle.agent"


@pytest.fixture(scope="module")
def standin_ca_path(tmp_path_factory) -> tuple[object, Path]:
    ca = make_standin_ca()
    path = tmp_path_factory.mktemp("standin") / "ca.pem"
    path.write_bytes(ca.cert_pem)
    return ca, path


@pytest.fixture(scope="module")
def standin(client, images, upstream_network, standin_ca_path) -> Iterator[object]:
    container = start_standin(client, images["egress"], upstream_network, standin_ca_path[0])
    yield container
    container.remove(force=True)


@dataclass
class Setup:
    manifest: Path
    network: str
    env: dict[str, str] = field(default_factory=dict)

    def start_args(self, agent: str, *extra: str) -> list[str]:
        return [agent, "--manifest", str(self.manifest), "--yes", "--egress-network", self.network, *extra]


def _setup(tmp_path: Path, network: str, subnet: str, ca: Path, claude: dict[str, dict]) -> Setup:
    """One bottle with nothing but the default allowlist (and the test network's range, since the
    stand-in has a private address); an agent per entry of `claude`, with those claude options."""
    manifest = tmp_path / "claude-bottle.json"
    agents = {name: {"bottle": "main", "claude": options} for name, options in claude.items()}
    manifest.write_text(json.dumps({"bottles": {"main": {"egress": {"allow_cidrs": [subnet]}}}, "agents": agents}))
    env = {"CLAUDE_BOTTLE_OAUTH_TOKEN": TOKEN, "BOTTLE_EGRESS_UPSTREAM_CA": str(ca)}
    return Setup(manifest, network, env)


@pytest.fixture(scope="module")
def setup(tmp_path_factory, upstream_network, upstream_subnet, standin_ca_path, standin) -> Setup:
    agents = {
        "talker": {},
        "runner": {"permission_mode": "bypassPermissions"},
        "asker": {"permission_mode": "manual"},
    }
    return _setup(tmp_path_factory.mktemp("claude"), upstream_network, upstream_subnet, standin_ca_path[1], agents)


def _bottle_of(client: docker.DockerClient, agent: str) -> str:
    containers = client.containers.list(filters={"label": [f"{AGENT_LABEL}={agent}", f"{LABEL}"]})
    ids = {c.labels[LABEL] for c in containers}
    assert len(ids) == 1, f"expected one bottle of {agent}, found {ids}"
    return ids.pop()


def _exec(bottle_id: str, script: str) -> str:
    result = bottle_launch("exec", "-T", bottle_id, "--", "bash", "-c", script, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout


@dataclass
class Session:
    screens: dict[str, str]
    transcript: str
    exit_code: int
    bottle_id: str
    placeholder: str
    requests: list[Request]
    leftovers: list[str]


@pytest.fixture(scope="module")
def session(client, setup, standin) -> Session:
    """`bottle-launch talker`, two questions, `/exit`; what the screen showed at each step."""
    before = len(recorded(standin))
    terminal = Terminal(setup.start_args("talker"), env=setup.env)
    screens: dict[str, str] = {}
    try:
        screens["start"] = terminal.wait_for(input_box_ready, "claude's input box", timeout=120)
        bottle_id = _bottle_of(client, "talker")
        placeholder = _exec(bottle_id, 'printf %s "$CLAUDE_CODE_OAUTH_TOKEN"')
        terminal.type("question-alpha")
        screens["first"] = terminal.wait_for_text("answer-alpha from the stand-in")
        terminal.wait_for(input_box_ready, "the input box after the first answer")
        terminal.type("question-bravo")
        screens["second"] = terminal.wait_for_text("answer-bravo from the stand-in")
        terminal.wait_for(input_box_ready, "the input box after the second answer")
        terminal.type("/exit")
        exit_code = terminal.wait_for_exit(timeout=90)
    finally:
        terminal.close()
    return Session(
        screens,
        terminal.transcript.decode(errors="replace"),
        exit_code,
        bottle_id,
        placeholder,
        recorded(standin)[before:],
        leftovers(client, bottle_id),
    )


def test_the_input_box_appears_with_no_dialog_before_it(session):
    # Nothing was typed before the input box was ready: a dialog would have held it back.
    screen = session.screens["start"]
    assert "Claude Code v" in screen, screen
    for dialog in ("Select login method", "trust", "theme", "Make auto mode", "Do you want"):
        assert dialog not in screen, screen


def test_a_typed_question_shows_the_streamed_answer(session):
    screen = session.screens["first"]
    assert "question-alpha" in screen and "answer-alpha from the stand-in" in screen, screen
    asked = [r for r in session.requests if r.path.startswith("/v1/messages") and "question-alpha" in r.turn]
    assert asked, [r.path for r in session.requests]
    assert any(r.stream is True for r in asked), "the answer was not asked for as a stream"


def test_a_second_question_in_the_same_session_works(session):
    screen = session.screens["second"]
    # Both turns are on the screen: one conversation, not a restarted client.
    assert "answer-alpha from the stand-in" in screen and "answer-bravo from the stand-in" in screen, screen


def test_exit_removes_the_bottle_and_no_host_was_refused(session):
    assert session.exit_code == 0, session.transcript[-3000:]
    assert session.leftovers == []
    assert SUMMARY not in session.transcript, session.transcript[-3000:]
    # The client used only the hosts it needs (the stand-in answers as more).
    assert {r.host for r in session.requests} == {"api.anthropic.com"}, {r.host for r in session.requests}


def test_every_request_carried_the_real_token_and_none_the_placeholder(session):
    assert session.placeholder.startswith("sk-ant-oat01-") and session.placeholder != TOKEN
    assert len(session.placeholder) == len(TOKEN)
    carried = [r for r in session.requests if r.bearer is not None]
    assert carried, "no request carried the token"
    assert all(r.bearer == TOKEN for r in carried), {r.path for r in carried if r.bearer != TOKEN}
    for r in session.requests:
        assert session.placeholder not in json.dumps(r.headers) + r.body + r.turn + r.path, r.path


@pytest.mark.parametrize(
    ("agent", "runs"),
    [("runner", True), ("asker", False)],
    ids=["prompts-off-runs-the-tool", "control-manual-mode-asks-first"],
)
def test_with_permission_prompts_off_a_tool_runs_without_asking(client, setup, agent, runs):
    terminal = Terminal(setup.start_args(agent), env=setup.env)
    try:
        terminal.wait_for(input_box_ready, "claude's input box", timeout=120)
        bottle_id = _bottle_of(client, agent)
        terminal.type("please make-the-file now")
        if runs:
            screen = terminal.wait_for_text("STANDIN-TOOL-DONE")
            assert "Do you want" not in screen, screen
            assert _exec(bottle_id, "cat /home/claude/work/f") == "hi\n"
        else:
            screen = terminal.wait_for_text("Do you want")
            assert "echo hi > f" in screen, screen
            assert _exec(bottle_id, "test -e /home/claude/work/f && echo exists || echo absent") == "absent\n"
            terminal.child.send("\x1b")  # Esc: no
            terminal.wait_for(input_box_ready, "the input box after declining")
        terminal.type("/exit")
        assert terminal.wait_for_exit(timeout=90) == 0
    finally:
        terminal.close()
    assert leftovers(client, bottle_id) == []


def test_claude_works_in_the_local_workspace_and_its_push_comes_back(client, setup, tmp_path):
    """`cd project && bottle-launch runner --workspace .`: claude starts in its clone of the
    project, and what it commits and pushes arrives in the project under refs/remotes/bottle/
    while the session runs. The user's branch, index and uncommitted edit are untouched."""
    project = tmp_path / "project"
    subprocess.run(["git", "init", "-q", "-b", "feature", str(project)], check=True)
    (project / "app.py").write_text("print('v1')\n")
    host_git(project, "add", "app.py")
    host_git(project, "commit", "-qm", "mine")
    (project / "app.py").write_text("print('v2, not committed')\n")
    before = (
        host_git(project, "rev-parse", "HEAD"),
        host_git(project, "status", "--porcelain"),
        (project / "app.py").read_text(),
    )
    terminal = Terminal(setup.start_args("runner", "--workspace", "."), env=setup.env, cwd=str(project))
    arrived = None
    try:
        screen = terminal.wait_for(input_box_ready, "claude's input box", timeout=120)
        assert "work/project" in screen, screen  # claude's welcome names the folder it works in
        bottle_id = _bottle_of(client, "runner")
        terminal.type("please commit-and-push now")
        terminal.wait_for_text("STANDIN-TOOL-DONE")
        for _ in range(60):  # fetched back as soon as the gate says it took the push
            arrived = host_git(project, "for-each-ref", "--format=%(refname) %(subject)", "refs/remotes/bottle/runner/")
            if arrived:
                break
            terminal.pump(0.5)
        terminal.type("/exit")
        assert terminal.wait_for_exit(timeout=90) == 0
    finally:
        terminal.close()
    assert arrived == "refs/remotes/bottle/runner/feature made by claude in the bottle", terminal.transcript[-3000:]
    assert "from bottle" in terminal.transcript.decode(errors="replace")  # the user was told what arrived
    after = (
        host_git(project, "rev-parse", "HEAD"),
        host_git(project, "status", "--porcelain"),
        (project / "app.py").read_text(),
    )
    assert after == before
    assert leftovers(client, bottle_id) == []


def test_a_host_allowed_while_claude_runs_is_reached_at_its_next_try(client, setup):
    """claude's fetch of a host off the allowlist is refused; the person runs `bottle-launch allow`
    on the host, and claude's next try in the same session gets the page. The end-of-session
    summary still names the refusal."""
    terminal = Terminal(setup.start_args("runner"), env=setup.env)
    try:
        terminal.wait_for(input_box_ready, "claude's input box", timeout=120)
        bottle_id = _bottle_of(client, "runner")
        terminal.type("please fetch-the-page now")
        screen = terminal.wait_for_text("FETCH-REFUSED-42")
        assert "403" in screen and "PAGE-BODY-OK" not in screen, screen
        terminal.wait_for(input_box_ready, "the input box after the refusal")
        allowed = bottle_launch("allow", bottle_id, PAGE_HOST)
        assert allowed.returncode == 0, allowed.stderr
        terminal.type("please fetch-the-page again")
        screen = terminal.wait_for_text(f"PAGE-BODY-OK from {PAGE_HOST}")
        terminal.wait_for(input_box_ready, "the input box after the page")
        terminal.type("/exit")
        assert terminal.wait_for_exit(timeout=90) == 0
    finally:
        terminal.close()
    ended = terminal.transcript.decode(errors="replace").split(SUMMARY, 1)
    assert len(ended) == 2 and PAGE_HOST in ended[1], ended[-1][-2000:]
    assert leftovers(client, bottle_id) == []


def _launch(setup: Setup, *command: str) -> subprocess.CompletedProcess[str]:
    return bottle_launch(*setup.start_args("talker"), "--", *command, env=setup.env, timeout=300)


def test_print_mode_answers_and_exits_zero(setup):
    result = _launch(setup, "claude", "-p", "question-charlie")
    assert result.returncode == 0, result.stderr
    assert "answer-charlie from the stand-in" in result.stdout
    assert SUMMARY not in result.stderr, result.stderr


def test_print_mode_streams_json_events(setup):
    result = _launch(setup, "claude", "-p", "--verbose", "--output-format", "stream-json", "question-delta")
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    final = [e for e in events if e.get("type") == "result"]
    assert final and final[-1].get("result") == "answer-delta from the stand-in", events[-3:]
    assert final[-1].get("is_error") is False
    assert SUMMARY not in result.stderr, result.stderr


@pytest.fixture
def detached(client, setup) -> Iterator[str]:
    result = bottle_launch(*setup.start_args("talker", "--detach"), "--", "sleep", "infinity", env=setup.env)
    assert result.returncode == 0, result.stderr
    bottle_id = result.stdout.strip()
    yield bottle_id
    bottle_launch("stop", bottle_id)


def test_exec_t_in_a_detached_bottle_reaches_the_input_box(detached):
    terminal = Terminal(["exec", "-t", detached, "--", "claude"])
    try:
        terminal.wait_for(input_box_ready, "claude's input box", timeout=120)
        terminal.type("question-echo")
        terminal.wait_for_text("answer-echo from the stand-in")
        terminal.type("/exit")
        assert terminal.wait_for_exit(timeout=60) == 0
    finally:
        terminal.close()


def _size_after_resize(terminal: Terminal) -> tuple[str, str]:
    """The size a shell in the bottle sees, then again after the window is resized. The answers
    are matched as whole lines, so the typed command lines themselves never match."""
    terminal.wait_for(lambda s: re.search(r"\$$", s, re.M) is not None, "a shell prompt", timeout=120)
    terminal.type("echo S1 $(stty size)")
    before = terminal.wait_for(lambda s: re.search(r"^S1 \d+ \d+$", s, re.M) is not None, "the first size")
    terminal.resize(30, 100)
    terminal.pump(0.5)
    terminal.type("echo S2 $(stty size)")
    after = terminal.wait_for(lambda s: re.search(r"^S2 \d+ \d+$", s, re.M) is not None, "the second size")
    terminal.type("exit")
    terminal.wait_for_exit()
    return before, after


def _assert_sized_and_resized(args: list[str], env: dict[str, str] | None = None) -> None:
    terminal = Terminal(args, env=env)
    try:
        before, after = _size_after_resize(terminal)
    finally:
        terminal.close()
    assert re.search(r"^S1 40 120$", before, re.M), before
    assert re.search(r"^S2 30 100$", after, re.M), after


def test_the_terminal_size_and_a_resize_reach_exec(detached):
    _assert_sized_and_resized(["exec", "-t", detached, "--", "bash", "--norc", "-i"])


def test_the_terminal_size_and_a_resize_reach_an_attached_bottle(client, setup):
    _assert_sized_and_resized([*setup.start_args("talker"), "--", "bash", "--norc", "-i"], setup.env)


def test_exec_without_a_terminal_gets_none(detached):
    assert _exec(detached, "test -t 0 && echo tty || echo no-tty") == "no-tty\n"


def test_a_misspelled_claude_setting_is_refused_before_anything_starts(client, tmp_path, setup):
    manifest = tmp_path / "claude-bottle.json"
    agents = {"typo": {"bottle": "main", "claude": {"permision_mode": "bypassPermissions"}}}
    manifest.write_text(json.dumps({"bottles": {"main": {}}, "agents": agents}))
    before = client.containers.list(all=True, filters={"label": f"{AGENT_LABEL}=typo"})
    result = bottle_launch("typo", "--manifest", str(manifest), "--yes", env=setup.env)
    assert result.returncode != 0
    assert "agents.typo.claude.permision_mode" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert client.containers.list(all=True, filters={"label": f"{AGENT_LABEL}=typo"}) == before == []


def test_the_manifest_knows_exactly_the_clients_permission_modes(images):
    # A client upgrade that adds or drops a mode must fail here, not in a user's manifest.
    output = docker.from_env().containers.run(images["agent"], ["--help"], entrypoint=["claude"], remove=True)
    found = re.search(r"--permission-mode <mode>.*?\(choices: ([^)]*)\)", output.decode(), re.S)
    assert found, output.decode()
    choices = set(re.findall(r'"([^"]+)"', found.group(1)))
    assert choices == set(get_args(PermissionMode))


# -- sessions that resume (an agent's "persist") -------------------------------------------------


PLAIN_SECRET = "plain-" + secrets.token_hex(16)
CREDENTIAL = "cred-" + secrets.token_hex(16)
SSH_KEY = KeyPair.generate()


@pytest.fixture(scope="module")
def persist_setup(tmp_path_factory, upstream_network, upstream_subnet, standin_ca_path, standin) -> Iterator[Setup]:
    """Two agents that persist, in a bottle holding an env secret, a credential and an SSH
    identity (its upstream need not answer: the ssh gate is ready once it listens)."""
    folder = tmp_path_factory.mktemp("persist")
    identity = folder / "id_forge"
    identity.write_bytes(SSH_KEY.private)
    identity.chmod(0o600)
    ssh = {
        "Host": "forge",
        "Hostname": "forge.test",
        "User": "git",
        "IdentityFile": str(identity),
        "KnownHostKey": f"forge.test {SSH_KEY.public}",
    }
    bottle = {
        "egress": {"allow_cidrs": [upstream_subnet], "allowlist": ["api.example.com"]},
        "env": {"PLAIN_SECRET": "${KEEP_PLAIN}", "API_KEY": {"value": "${KEEP_CRED}", "hosts": ["api.example.com"]}},
        "ssh": [ssh],
    }
    agents = {"keeper": {"bottle": "keep", "persist": True}, "stranger": {"bottle": "keep", "persist": True}}
    manifest = folder / "claude-bottle.json"
    manifest.write_text(json.dumps({"bottles": {"keep": bottle}, "agents": agents}))
    env = {
        "CLAUDE_BOTTLE_OAUTH_TOKEN": TOKEN,
        "BOTTLE_EGRESS_UPSTREAM_CA": str(standin_ca_path[1]),
        "KEEP_PLAIN": PLAIN_SECRET,
        "KEEP_CRED": CREDENTIAL,
        "XDG_STATE_HOME": str(folder / "state"),
    }
    yield Setup(manifest, upstream_network, env)
    for agent in agents:
        bottle_launch("volumes", "rm", agent, env=env)


def _ask(setup: Setup, agent: str, *claude: str) -> subprocess.CompletedProcess[str]:
    result = bottle_launch(*setup.start_args(agent), "--", "claude", *claude, env=setup.env, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def _request_for(standin, question: str) -> Request:
    requests = recorded(standin)
    found = next((r for r in reversed(requests) if question in r.turn.splitlines()), None)
    assert found is not None, f"no request asked {question!r}; the last turns: {[r.turn for r in requests[-5:]]}"
    return found


def _mentions(request: Request, text: str) -> bool:
    """Whether any user turn of the request's conversation holds `text`."""
    return any(text in turn for turn in request.users)


def _volume_search(client, images, names: list[str], needles: list[str]) -> str:
    """The files in these volumes that hold any of `needles`, searched in a container (the
    needles travel base64-encoded, never as themselves on an argv)."""
    encoded = base64.b64encode("\n".join(needles).encode()).decode()
    script = f"echo {encoded} | base64 -d > /tmp/needles; grep -rlsF -f /tmp/needles /v || true"
    mounts = {name: {"bind": f"/v/{i}", "mode": "ro"} for i, name in enumerate(names)}
    output = client.containers.run(
        images["agent"], ["-c", script], entrypoint="bash", user="0", volumes=mounts, remove=True, network_mode="none"
    )
    return output.decode()


def test_a_session_resumes_in_the_agents_next_bottle_and_nowhere_else(client, images, persist_setup, standin):
    first = _ask(persist_setup, "keeper", "-p", "question-echo")
    assert "answer-echo from the stand-in" in first.stdout
    assert "are kept for its next bottle" in first.stderr, first.stderr
    # A second bottle of the same agent: `--continue` sends the first session's turn along.
    second = _ask(persist_setup, "keeper", "--continue", "-p", "question-foxtrot")
    assert "answer-foxtrot from the stand-in" in second.stdout
    assert _mentions(_request_for(standin, "question-foxtrot"), "question-echo")
    # Another agent in the same bottle and project has a state of its own.
    golf = _ask(persist_setup, "stranger", "--continue", "-p", "question-golf")
    assert "answer-golf from the stand-in" in golf.stdout, golf.stdout + golf.stderr
    assert not _mentions(_request_for(standin, "question-golf"), "question-echo")

    listed = bottle_launch("volumes", "--json", env=persist_setup.env)
    assert listed.returncode == 0, listed.stderr
    keeper = [v for v in json.loads(listed.stdout) if v["agent"] == "keeper"]
    assert sorted(v["role"] for v in keeper) == ["claude", "work"]
    assert all(v["project"] == str(persist_setup.manifest.parent) and v["last_used"] for v in keeper), keeper
    assert all(v["in_use_by"] == [] for v in keeper)

    # No secret is in them; the search does find what is there (the first session's question).
    names = [v["name"] for v in keeper]
    assert _volume_search(client, images, names, ["question-echo"]).strip(), "the session is not in the volumes"
    key_line = SSH_KEY.private.decode().splitlines()[1]  # a line of the private key's body
    assert _volume_search(client, images, names, [TOKEN, PLAIN_SECRET, CREDENTIAL, key_line]) == ""

    removed = bottle_launch("volumes", "rm", "keeper", env=persist_setup.env)
    assert removed.returncode == 0, removed.stderr
    assert not [v for v in client.volumes.list() if v.name in names]
    # Gone: the next bottle starts afresh.
    _ask(persist_setup, "keeper", "--continue", "-p", "question-hotel")
    assert not _mentions(_request_for(standin, "question-hotel"), "question-echo")


def test_two_bottles_of_an_agent_that_persists_are_refused(client, persist_setup):
    started = bottle_launch(
        *persist_setup.start_args("keeper", "--detach"), "--", "sleep", "infinity", env=persist_setup.env
    )
    assert started.returncode == 0, started.stderr
    bottle_id = started.stdout.strip()
    try:
        second = bottle_launch(*persist_setup.start_args("keeper"), "--", "true", env=persist_setup.env)
        assert second.returncode == 1
        assert f"agent keeper already runs in bottle {bottle_id}" in second.stderr, second.stderr
        assert "Traceback" not in second.stderr
        busy = bottle_launch("volumes", "rm", "keeper", env=persist_setup.env)
        assert busy.returncode == 1 and f"in use by bottle {bottle_id}" in busy.stderr, busy.stderr
    finally:
        bottle_launch("stop", bottle_id, env=persist_setup.env)
    assert leftovers(client, bottle_id) == []
    # Removing the bottle left its volumes.
    assert any(v["agent"] == "keeper" for v in json.loads(bottle_launch("volumes", "--json").stdout))
