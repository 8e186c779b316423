"""What the launcher writes is what each gate reads: every document of bottle_contract goes from
the launcher's plan through the files it would put in the gate's image, into the gate's own
loader. No Docker: these are the two sides' real code, run on one host."""

from __future__ import annotations

import io
import json
import subprocess
import tarfile
from pathlib import Path

import pytest
from bottle_contract import agent, egress, events, git, handover, ssh
from bottle_contract.network import SUBNET_VAR
from bottle_launcher import local_workspace, summary
from bottle_launcher.cli.logs import _decision_line
from bottle_launcher.egress import backend_for
from bottle_launcher.egress_ca import make_ca
from bottle_launcher.egress_secrets import seal
from bottle_launcher.plan import (
    ContainerSpec,
    EgressRule,
    GitRemote,
    LaunchOptions,
    Plan,
    SshRemote,
    WorkspaceRepo,
    build_runtime_plan,
)
from egress_gate._config import GateConfig as EgressGateConfig
from egress_gate._secrets import load_known
from git_gate import _mirrors
from git_gate._config import GateConfig as GitGateConfig
from git_gate._config import ssh_command
from ssh_gate import GateConfig as SshGateConfig

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBciZoELc2LK1yk7EfOI5C31dP5Wa2s+Nq9gA4f/kEiA"


def _plan() -> Plan:
    return Plan(
        agent="dev",
        bottle="work",
        sources=(),
        env=(),
        skills=(),
        prompt=None,
        ssh=(SshRemote("build", "build.example.com", 2222, "ci", f"[build.example.com]:2222 {KEY}"),),
        git=(GitRemote("forge", "git.example.com", 22, "git", ("demo/app", "demo/lib"), f"git.example.com {KEY}"),),
        egress_allowlist=("api.anthropic.com", "api.github.com", "*.pypi.org"),
        egress_allow_cidrs=("10.9.0.0/16",),
        egress_passthrough=("pinned.example.com",),
        egress_mode="report",
        egress_ports=(("db.example.com", (5432,)),),
        egress_rules=(
            EgressRule("api.github.com", ("GET", "HEAD"), ("/repos/acme/*",)),
            EgressRule("*.pypi.org", methods=("GET",)),
        ),
        workspace=WorkspaceRepo("/home/me/app", "app", "refs/heads/dev", with_changes=True),
        bottle_source="/home/me/claude-bottle.json",
    )


@pytest.fixture(scope="module")
def runtime():
    options = LaunchOptions(bottle_id="c0ffee00", egress_upstream_ca=b"-----BEGIN CERTIFICATE-----\n")
    return build_runtime_plan(_plan(), options)


def _gate(runtime, role: str) -> ContainerSpec:
    return next(s for s in runtime.sidecars if s.role == role)


def _written(spec: ContainerSpec, root: Path) -> dict[str, Path]:
    """The gate's files as the backend would put them into its container, under `root`."""
    found = {}
    for f in spec.files:
        path = root / f.directory.lstrip("/") / f.path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(f.content)
        found[f"{f.directory.rstrip('/')}/{f.path}"] = path
    return found


def test_the_egress_gate_reads_the_policy_the_launcher_planned(runtime, tmp_path):
    files = _written(_gate(runtime, "egress"), tmp_path)
    config = EgressGateConfig.load(files[egress.CONFIG_PATH])
    plan = runtime.plan
    assert config.bottle == plan.bottle
    assert config.bottle_id == "c0ffee00"  # a 403 names `bottle-launch allow c0ffee00 <host>`
    assert config.allowlist == plan.egress_allowlist
    assert config.allow_cidrs == plan.egress_allow_cidrs
    assert config.passthrough == plan.egress_passthrough
    assert config.mode == "report"
    assert config.ports == {"db.example.com": (5432,)}
    # Each rule, as the gate's pipeline looks it up: by the allowlist entry it belongs to.
    assert [(r.host, r.methods, r.paths) for r in config.rules] == [
        (r.host, r.methods, r.paths) for r in plan.egress_rules
    ]
    assert all(rule.host in config.allowlist for rule in config.rules)
    assert config.port == egress.PORT and _gate(runtime, "egress").ports == (egress.PORT,)
    # The private CA is written where the config says the gate finds it.
    assert config.upstream_ca == egress.UPSTREAM_CA_PATH and egress.UPSTREAM_CA_PATH in files
    assert _gate(runtime, "egress").handover == egress.HANDOVER_DIR
    assert runtime.agent.environment["HTTPS_PROXY"] == f"http://{egress.HOST}:{egress.PORT}"


def test_the_live_policy_the_launcher_writes_is_the_one_the_gate_applies(runtime, tmp_path):
    from bottle_launcher.egress_check import running_policy
    from bottle_launcher.live_change import allow
    from egress_gate._live import live_policy
    from egress_gate._livefile import LiveFile

    files = _written(_gate(runtime, "egress"), tmp_path)
    config = EgressGateConfig.load(files[egress.CONFIG_PATH])
    change = allow(config, egress.LivePolicy(), ["new.example.com"], by="alice", pid=7, at=events.now())
    live = tmp_path / egress.HANDOVER_DIR.lstrip("/") / egress.LIVE_FILE
    live.parent.mkdir(parents=True)
    live.write_bytes(change.document.to_json())
    read = LiveFile(live).changed()
    assert read == change.document
    applied = live_policy(config, (), read)
    assert "new.example.com" in applied.config.allowlist
    # `check <bottle-id>` reads the same two documents and applies them with the same function.
    checked = running_policy(files[egress.CONFIG_PATH].read_bytes(), live.read_bytes())
    assert (checked.config.allowlist, checked.denied, checked.live) == (
        applied.config.allowlist, applied.denied, applied.live,
    )  # fmt: skip


def test_a_running_bottle_says_where_it_came_from_in_its_labels(runtime):
    from bottle_launcher.plan import EGRESS_ENGINE_LABEL, MANIFEST_LABEL

    for spec in (*runtime.sidecars, runtime.agent):
        assert spec.labels[MANIFEST_LABEL] == runtime.plan.bottle_source == "/home/me/claude-bottle.json"
        assert spec.labels[EGRESS_ENGINE_LABEL] == runtime.plan.egress_backend == "mitmproxy"
        assert spec.labels["dev.claude-bottle.bottle"] == runtime.plan.bottle


def test_the_egress_gate_gets_the_ca_file_it_waits_for_and_the_secrets_it_loads(tmp_path):
    handed = backend_for("mitmproxy").handover_files(make_ca("work", "c0ffee00"), b"[]")
    assert egress.MITMPROXY_CA_FILE in handed  # egress_gate.__main__ waits for exactly this name
    sealed = seal(
        {"PLAIN": "plain-value-123", "GH_TOKEN": "ghp_0123456789abcdefghij"},
        {"GH_TOKEN": ("api.github.com",)},
        places={"GH_TOKEN": ("headers", "url")},
    )
    (tmp_path / egress.KNOWN_FILE).write_bytes(sealed.known)
    known = {k.value: k for k in load_known(tmp_path / egress.KNOWN_FILE)}
    assert known["plain-value-123"].hosts == ("*",) and known["plain-value-123"].placeholder is None
    token = known["ghp_0123456789abcdefghij"]
    assert token.placeholder == sealed.agent_env["GH_TOKEN"] != token.value
    assert (token.name, token.hosts, token.swap_in) == ("GH_TOKEN", ("api.github.com",), ("headers", "url"))


def test_the_git_gate_reads_its_remotes_workspace_and_keys(runtime, tmp_path):
    spec = _gate(runtime, "git")
    files = _written(spec, tmp_path)
    config = GitGateConfig.load(files[git.CONFIG_PATH])
    (remote,) = config.remotes
    assert (remote.host, remote.hostname, remote.port, remote.user) == ("forge", "git.example.com", 22, "git")
    assert remote.repos == ("demo/app", "demo/lib")
    assert config.push_refs == git.PUSH_REFS and config.port == git.PORT == spec.ports[0]
    # The pinned key is filed under the alias ssh looks it up by.
    known_hosts = files[git.KNOWN_HOSTS_PATH].read_text()
    assert known_hosts.startswith(f"{remote.key_alias} ssh-ed25519 ")
    assert f"UserKnownHostsFile={git.KNOWN_HOSTS_PATH}" in ssh_command(remote)
    # The workspace's mirror is planned where the config says it is.
    assert config.workspace is not None
    assert config.workspace == git.Workspace(
        "workspace/app", f"{git.IMPORT_DIR}/{git.WORKSPACE_MIRROR}", "refs/heads/dev"
    )
    assert config.workspace.archive in files
    assert spec.handover == git.HANDOVER_DIR and spec.user == str(git.UID)


def test_the_git_gate_finds_each_identity_where_the_launcher_hands_it_over(runtime, tmp_path):
    from bottle_launcher.identities import git_identities, ssh_identities

    key = tmp_path / "id"
    key.write_text("-----BEGIN OPENSSH PRIVATE KEY-----\n")
    plan = runtime.plan
    with_keys = Plan(**{**plan.__dict__, "git": (GitRemote(**{**plan.git[0].__dict__, "identity_file": str(key)}),)})
    handed = git_identities(with_keys, tmp_path)
    files = _written(_gate(build_runtime_plan(with_keys, LaunchOptions(bottle_id="x")), "git"), tmp_path)
    (remote,) = GitGateConfig.load(files[git.CONFIG_PATH]).remotes
    assert [f"{git.HANDOVER_DIR}/{name}" for name in handed] == [remote.identity()]
    # The agent's own keys: its ssh config names the files the handover writes.
    ssh_plan = Plan(**{**plan.__dict__, "ssh": (SshRemote(**{**plan.ssh[0].__dict__, "identity_file": str(key)}),)})
    agent_files = {f.path: f.content.decode() for f in build_runtime_plan(ssh_plan, LaunchOptions()).agent.files}
    names = list(ssh_identities(ssh_plan, tmp_path))
    assert names and all(f"IdentityFile {agent.HANDOVER_DIR}/{n}\n" in agent_files[".ssh/config"] for n in names)


def test_the_ssh_gate_reads_the_forwards_the_agent_is_pointed_at(runtime, tmp_path):
    spec = _gate(runtime, "ssh")
    files = _written(spec, tmp_path)
    config = SshGateConfig.load(files[ssh.CONFIG_PATH], {SUBNET_VAR: "172.30.0.0/24"})
    assert config.forwards == (ssh.Forward("build", ssh.FIRST_PORT, "build.example.com", 2222),)
    assert spec.ports == (ssh.FIRST_PORT,) and config.allow_from == "172.30.0.0/24"
    agent_config = next(f for f in runtime.agent.files if f.path == ".ssh/config").content.decode()
    assert f"HostName {ssh.HOST}\n  Port {ssh.FIRST_PORT}\n" in agent_config


def test_the_agent_waits_for_the_marker_the_launcher_writes(runtime):
    assert runtime.agent.handover == agent.HANDOVER_DIR
    assert runtime.agent.environment[agent.HANDOVER_FILE_VAR] == str(handover.marker(agent.HANDOVER_DIR))
    assert runtime.agent.user == str(agent.UID)


def test_a_gates_event_lines_are_what_the_launcher_reads(capsys):
    from egress_gate._audit import emit

    emit(events.DECISION, bottle="work", method="GET", host="evil.example", path="/x", decision="block",
         rule="allowlist", hint='add "evil.example" to bottles.work.egress.allowlist')  # fmt: skip
    emit(events.READY, bottle="work", port=egress.PORT)
    lines = [line.encode() for line in capsys.readouterr().out.splitlines()]
    assert summary.blocked(lines) == {
        "evil.example": ("allowlist", 'add "evil.example" to bottles.work.egress.allowlist')
    }
    shown = _decision_line(lines[0])
    assert shown is not None and "block" in shown and "evil.example/x" in shown and "[allowlist]" in shown
    ready = events.parse(lines[1])
    assert ready is not None and (ready.gate, ready.event) == ("egress", events.READY)


def test_the_gates_policy_line_is_what_allow_waits_for_and_logs_shows(capsys):
    from bottle_launcher.cli.logs import _policy_line
    from egress_gate._audit import emit

    emit(events.POLICY, bottle="work", serial=3, by="alice", pid=7, at=events.now(), added=["a.example"],
         removed=["b.example"], allow=["a.example"], deny=[], closed=2)  # fmt: skip
    raw = capsys.readouterr().out.splitlines()[0].encode()
    event = events.parse(raw)
    assert event is not None and event.event == events.POLICY and event.get("serial") == 3
    shown = _policy_line(raw)
    assert shown is not None and "+a.example -b.example" in shown and "closed 2 tunnels" in shown


def test_the_git_gates_pushed_line_is_what_the_workspace_sync_follows(monkeypatch, tmp_path):
    from git_gate import post_receive

    config = GitGateConfig(bottle="b", remotes=(), workspace=git.Workspace("workspace/app"))
    log = tmp_path / "log"
    monkeypatch.setattr(post_receive, "GATE_LOG", str(log))
    monkeypatch.setattr(post_receive.GateConfig, "load", classmethod(lambda cls: config))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(GitGateConfig, "is_workspace", lambda self, path: True)
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{'0' * 40} {'1' * 40} refs/heads/main\n"))
    assert post_receive.main() == 0
    event = events.parse(log.read_bytes().splitlines()[0])
    assert event is not None and event.event == events.PUSHED and event.get("refs") == ["refs/heads/main"]
    assert json.loads(log.read_text())["gate"] == "git"


def test_the_git_gate_serves_the_workspace_mirror_the_launcher_made(tmp_path):
    def run_git(repo: Path, *args: str) -> str:
        command = ["git", "-c", "user.name=me", "-c", "user.email=me@test", "-C", str(repo), *args]
        return subprocess.run(command, check=True, capture_output=True, text=True).stdout

    user = tmp_path / "project"
    subprocess.run(["git", "init", "-q", "-b", "main", str(user)], check=True)
    (user / "a.txt").write_text("a\n")
    run_git(user, "add", ".")
    run_git(user, "commit", "-qm", "first")
    run_git(user, "tag", "v1")
    run_git(user, "checkout", "-qb", "dev")
    (user / "a.txt").write_text("uncommitted\n")
    workspace = local_workspace.inspect(user, with_changes=True)
    bundle = local_workspace.make_bundle(workspace)
    prepared = local_workspace.prepare(workspace, bundle, "git://git-gate/workspace/project", agent.UID, clone=False)
    assert prepared.clone is None
    archive = tmp_path / git.WORKSPACE_MIRROR
    archive.write_bytes(prepared.mirror)
    mirror = tmp_path / "srv" / "workspace" / "project.git"
    _mirrors._import(mirror, git.Workspace("workspace/project", str(archive), workspace.head), str(tmp_path / "hooks"))
    refs = run_git(mirror, "for-each-ref", "--format=%(refname)").split()
    assert refs == ["refs/heads/dev", "refs/heads/main", "refs/tags/v1"]
    assert run_git(mirror, "symbolic-ref", "HEAD").strip() == "refs/heads/dev"
    assert run_git(mirror, "show", "dev:a.txt") == "uncommitted\n"  # the changes are the branch's tip
    assert run_git(mirror, "config", "core.hooksPath").strip() == str(tmp_path / "hooks")  # the gate's own config
    # Only a mirror's parts are unpacked: a config or a hook in the archive never lands.
    with_config = io.BytesIO()
    with (
        tarfile.open(fileobj=io.BytesIO(prepared.mirror)) as source,
        tarfile.open(fileobj=with_config, mode="w") as out,
    ):
        for member in source.getmembers():
            out.addfile(member, source.extractfile(member) if member.isfile() else None)
        evil = tarfile.TarInfo("config")
        evil.size = len(b"[core]\n\tfsmonitor = touch /tmp/pwned\n")
        out.addfile(evil, io.BytesIO(b"[core]\n\tfsmonitor = touch /tmp/pwned\n"))
    archive.write_bytes(with_config.getvalue())
    again = tmp_path / "srv" / "again.git"
    _mirrors._import(again, git.Workspace("workspace/again", str(archive), workspace.head), str(tmp_path / "hooks"))
    assert "fsmonitor" not in (again / "config").read_text()
