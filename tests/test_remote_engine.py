"""A bottle with all three gates on a second Docker engine, reached over TLS as a remote engine
would be (DOCKER_HOST=tcp://...:2376, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH; testkit/remote_engine.py).

Everything of the bottle goes through that one connection: the launcher builds the ssh gate's
image there (the test copies the others, which take minutes to build), hands over the CA,
credentials and identities through the API, attaches, execs and tears down there. The upstreams
run on the remote engine too: an HTTPS server and an sshd with a git repository. Afterwards
nothing of the bottle is left on either engine."""

from __future__ import annotations

import json
import secrets
import socket
import subprocess
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_helpers import bottle_launch, launch_detached, leftovers
from git_fixtures import github_token
from remote_engine import RemoteEngine, base_image, copy_images, start_remote_engine
from tls_upstream import start_tls_upstream
from upstreams import KeyPair, Sshd, start_sshd

REPO = "demo/app"
GIT = "git -c user.name=agent -c user.email=agent@test"
HANG = 30  # s: a handover takes under 1 s; one that waits on a half-close waits 120 s
OAUTH_TOKEN = "sk-ant-oat01-" + "r" * 40  # never a real one: the swap to Anthropic is not used here


@pytest.fixture(scope="module")
def remote(client, images, sshd_image) -> Iterator[RemoteEngine]:
    """The second engine, with our images but the ssh gate's (the launcher builds that one there)."""
    network = client.networks.create(f"bottle-test-remote-{uuid.uuid4().hex[:6]}", driver="bridge")
    engine = start_remote_engine(client, network.name)
    try:
        copied = [base_image(), images["agent"], images["egress"], images["git-gate"], sshd_image]
        copy_images(client, engine.client(), copied)
        yield engine
    finally:
        engine.stop()
        network.remove()


@pytest.fixture(scope="module")
def upstreams(remote, images, sshd_image, test_ca) -> Iterator[tuple[str, str, object, Sshd, KeyPair]]:
    """On the remote engine: a network standing in for the internet, with tls.test (HTTPS, the
    test's private CA) and forge.test (sshd with a git repository)."""
    engine = remote.client()
    name = f"bottle-test-remote-up-{uuid.uuid4().hex[:6]}"
    network = engine.networks.create(name, driver="bridge")
    key = KeyPair.generate()
    https = start_tls_upstream(engine, images["egress"], name, test_ca[0])
    forge = start_sshd(engine, sshd_image, name, "forge.test", [key.public], repos=(REPO,))
    subnet = engine.networks.get(network.id).attrs["IPAM"]["Config"][0]["Subnet"]
    try:
        yield name, subnet, https, forge, key
    finally:
        for container in (https, forge.container):
            container.remove(force=True)
        network.remove()


@pytest.fixture(scope="module")
def credential() -> str:
    return "cred-" + secrets.token_hex(16)


@pytest.fixture(scope="module")
def started(tmp_path_factory, remote, upstreams, test_ca, credential) -> Iterator[tuple[str, str]]:
    network, subnet, _, forge, key = upstreams
    folder = tmp_path_factory.mktemp("remote")
    identity = folder / "id_forge"
    identity.write_bytes(key.private)  # read here, on this machine, and handed over through the API
    ssh = {"Host": "forge", "Hostname": "forge.test", "User": "git", "IdentityFile": str(identity),
           "KnownHostKey": f"forge.test {forge.host_key}"}  # fmt: skip
    bottle = {
        "ssh": [ssh],
        "git": [{**ssh, "Host": "forge-git", "Repos": [REPO]}],
        "egress": {"allowlist": ["tls.test"], "allow_cidrs": [subnet]},
        "env": {"API_TOKEN": {"value": credential, "hosts": ["tls.test"]}},
    }
    manifest = folder / "claude-bottle.json"
    manifest.write_text(json.dumps({"bottles": {"far": bottle}, "agents": {"tester": {"bottle": "far"}}}))
    env = {**remote.env, "BOTTLE_EGRESS_UPSTREAM_CA": str(test_ca[1]), "CLAUDE_BOTTLE_OAUTH_TOKEN": OAUTH_TOKEN}
    result = launch_detached(manifest, network, env=env)
    bottle_id = result.stdout.strip()
    try:
        yield bottle_id, result.stderr
    finally:
        bottle_launch("stop", bottle_id, env=remote.env)


def sh(remote: RemoteEngine, bottle_id: str, script: str) -> subprocess.CompletedProcess[str]:
    result = bottle_launch("exec", bottle_id, "--", "bash", "-c", script, env=remote.env, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def test_the_preflight_names_the_remote_engine(started, remote):
    _, preflight = started
    flat = " ".join(preflight.split())
    assert f"{remote.url} (remote, from DOCKER_HOST)" in flat, preflight
    doctor = bottle_launch("doctor", env=remote.env)
    assert f"{remote.url} (remote, from DOCKER_HOST)" in doctor.stdout, doctor.stdout


def test_the_bottle_runs_on_the_remote_engine_only(started, remote, client):
    bottle_id, _ = started
    far = remote.client()
    running = far.containers.list(filters={"label": f"dev.claude-bottle.id={bottle_id}"})
    assert {c.labels["dev.claude-bottle.role"] for c in running} >= {"agent", "egress", "ssh", "git"}
    assert leftovers(client, bottle_id) == []  # nothing of it on the local engine
    # The ssh gate's image was built there, by the launcher, on the remote engine's own builder.
    assert any(tag.startswith("claude-bottle/ssh-gate:") for image in far.images.list() for tag in image.tags)
    listed = bottle_launch("ps", "--json", env=remote.env)
    assert bottle_id in listed.stdout, listed.stdout + listed.stderr


def test_a_credential_is_swapped_in_on_the_way_out(started, remote, upstreams, credential):
    bottle_id, _ = started
    https = upstreams[2]
    placeholder = sh(remote, bottle_id, 'printf %s "$API_TOKEN"').stdout
    assert placeholder != credential and len(placeholder) == len(credential)
    post = 'curl -sS -X POST -H "Authorization: Bearer $API_TOKEN" --data x https://tls.test/remote-cred'
    echoed = sh(remote, bottle_id, post).stdout  # the upstream logs what a POST brought
    assert credential not in echoed
    seen = next(json.loads(line) for line in https.logs().decode().splitlines() if "/remote-cred" in line)
    headers = {name.lower(): value for name, value in seen["headers"].items()}
    assert headers["authorization"] == f"Bearer {credential}"


def test_a_host_allowed_live_is_reachable_at_once(started, remote):
    bottle_id, _ = started
    probe = "curl -s -o /dev/null -w '%{http_connect}' https://other.test/"
    refused = bottle_launch("exec", bottle_id, "--", "bash", "-c", probe, env=remote.env)
    assert refused.returncode != 0 and refused.stdout == "403", refused  # the gate refused the CONNECT
    allowed = bottle_launch("allow", bottle_id, "other.test", env=remote.env)
    assert allowed.returncode == 0, allowed.stderr
    assert "over tls" in sh(remote, bottle_id, "curl -sS https://other.test/").stdout


def test_an_ssh_round_trip_through_the_ssh_gate(started, remote):
    bottle_id, _ = started
    assert sh(remote, bottle_id, "ssh forge echo far-away").stdout.strip() == "far-away"


def test_a_clean_push_lands_and_a_push_with_a_token_is_refused(started, remote, upstreams):
    bottle_id, _ = started
    forge: Sshd = upstreams[3]
    clone = f"cd /tmp && rm -rf app && git clone -q forge-git:{REPO} app && cd app"
    sh(
        remote,
        bottle_id,
        f"{clone} && echo ok > ok.txt && git add . && {GIT} commit -qm ok && git push -q origin HEAD:main",
    )
    pushed = sh(remote, bottle_id, "cd /tmp/app && git rev-parse HEAD").stdout.strip()
    assert forge.sh(f"git -C /srv/git/{REPO}.git rev-parse main").strip() == pushed

    leak = f"echo 'token = \"{github_token()}\"' > config.py && git add . && {GIT} commit -qm leak"
    refused = bottle_launch(
        "exec", bottle_id, "--", "bash", "-c", f"cd /tmp/app && {leak} && git push origin HEAD:main",
        env=remote.env, timeout=300,
    )  # fmt: skip
    assert refused.returncode != 0 and "github-pat" in refused.stdout + refused.stderr, refused.stderr
    assert forge.sh(f"git -C /srv/git/{REPO}.git rev-parse main").strip() == pushed  # nothing arrived


def test_a_docker_context_reaches_the_same_engine(started, remote, tmp_path, monkeypatch):
    """`docker context use far` (here DOCKER_CONTEXT, with a CLI config of the test's own) and no
    DOCKER_HOST: the launcher finds the engine through the context's host and TLS files."""
    import docker
    from docker.context import ContextAPI

    bottle_id, _ = started
    config = tmp_path / "docker-config"
    config.mkdir()
    (config / "config.json").write_text("{}")  # docker-py finds contexts only beside one
    monkeypatch.setenv("DOCKER_CONFIG", str(config))
    certs = Path(remote.env["DOCKER_CERT_PATH"])
    tls = docker.tls.TLSConfig(
        client_cert=(str(certs / "cert.pem"), str(certs / "key.pem")), ca_cert=str(certs / "ca.pem"), verify=True
    )
    ContextAPI.create_context("far", host=remote.url, tls_cfg=tls)
    env = {"DOCKER_CONFIG": str(config), "DOCKER_CONTEXT": "far", "DOCKER_HOST": ""}
    doctor = bottle_launch("doctor", env=env)
    assert "(remote, from context far)" in doctor.stdout, doctor.stdout + doctor.stderr
    listed = bottle_launch("ps", "--json", env=env)
    assert listed.returncode == 0 and bottle_id in listed.stdout, listed.stdout + listed.stderr


def test_an_ssh_engine_url_reaches_it_too(started, remote, tmp_path):
    """DOCKER_HOST=ssh://root@<engine>: the launcher's client goes over ssh (paramiko, the user's
    ~/.ssh key and known_hosts) to `docker system dial-stdio` there. A bottle starts, hands over,
    attaches and is removed that way, and the running one is listed and exec'd into."""
    bottle_id, _ = started
    key = KeyPair.generate()
    host_key = remote.serve_ssh(key.public)
    address = remote.url.removeprefix("tcp://").rsplit(":", 1)[0]
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_ed25519").write_bytes(key.private)
    (home / ".ssh" / "id_ed25519").chmod(0o600)
    (home / ".ssh" / "known_hosts").write_text(f"{address} {host_key}\n")
    env = {"HOME": str(home), "DOCKER_HOST": f"ssh://root@{address}", "DOCKER_TLS_VERIFY": "", "DOCKER_CERT_PATH": ""}
    doctor = bottle_launch("doctor", env=env)
    assert f"ssh://root@{address} (remote, from DOCKER_HOST)" in doctor.stdout, doctor.stdout + doctor.stderr
    listed = bottle_launch("ps", "--json", env=env)
    assert listed.returncode == 0 and bottle_id in listed.stdout, listed.stdout + listed.stderr
    echoed = bottle_launch("exec", bottle_id, "--", "echo", "over-ssh", env=env)
    assert echoed.stdout.strip() == "over-ssh", echoed.stdout + echoed.stderr
    manifest = tmp_path / "claude-bottle.json"
    manifest.write_text(json.dumps({"bottles": {"b": {}}, "agents": {"tester": {"bottle": "b"}}}))
    ran = bottle_launch(
        "tester", "--manifest", str(manifest), "--yes", "--", "sh", "-c", "echo in-a-bottle-over-ssh", env=env
    )
    assert ran.returncode == 0 and "in-a-bottle-over-ssh" in ran.stdout, ran.stdout + ran.stderr
    assert [c for c in remote.client().containers.list(all=True) if c.labels.get("dev.claude-bottle.agent") == "tester"
            and c.labels.get("dev.claude-bottle.id") != bottle_id] == []  # fmt: skip


def test_a_local_workspace_reaches_the_remote_engine(remote, tmp_path):
    """The workspace's mirror and clone are made here and cross the same connection: the clone
    streams into a helper's tar, which must end by itself, since TLS cannot half-close."""
    project = tmp_path / "project"
    subprocess.run(["git", "init", "-q", "-b", "main", str(project)], check=True)
    (project / "app.py").write_text("print('here')\n")
    subprocess.run([*GIT.split(), "-C", str(project), "add", "app.py"], check=True)
    subprocess.run([*GIT.split(), "-C", str(project), "commit", "-q", "-m", "made on this machine"], check=True)
    manifest = tmp_path / "claude-bottle.json"
    manifest.write_text(json.dumps({"bottles": {"b": {}}, "agents": {"tester": {"bottle": "b"}}}))
    script = "cd ~/work/project && git --no-pager log --format=%s && git status --porcelain | wc -l && cat app.py"
    ran = bottle_launch(
        "tester", "--manifest", str(manifest), "--yes", "--workspace", str(project), "--", "sh", "-c", script,
        env=remote.env, timeout=300,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert ran.stdout.split() == ["made", "on", "this", "machine", "0", "print('here')"], ran.stdout


def test_stop_rescues_the_work_over_the_same_connection_and_leaves_nothing(started, remote, client, tmp_path):
    bottle_id, _ = started
    work = (
        f"cd ~/work && git clone -q forge-git:{REPO} app && cd app && {GIT} commit -q --allow-empty -m 'far work'"
        " && echo draft > notes.md"
    )
    sh(remote, bottle_id, work)
    data_home = tmp_path / "data"
    stopped = bottle_launch("stop", bottle_id, env={**remote.env, "XDG_DATA_HOME": str(data_home)})
    assert stopped.returncode == 0, stopped.stderr
    assert "app: 1 commit not pushed, 1 untracked file" in stopped.stderr, stopped.stderr
    (folder,) = (data_home / "claude-bottle" / "rescued" / "tester").iterdir()
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(folder / "app" / "commits.bundle"), str(clone)], check=True)
    log = subprocess.run(["git", "-C", str(clone), "log", "--format=%s"], capture_output=True, text=True).stdout
    assert "far work" in log, log
    assert "draft" in (folder / "app" / "changes.patch").read_text()
    assert leftovers(remote.client(), bottle_id) == []
    assert leftovers(client, bottle_id) == []


def test_an_unreachable_or_untrusted_engine_is_a_clear_error(remote, tmp_path):
    manifest = tmp_path / "claude-bottle.json"
    manifest.write_text(json.dumps({"bottles": {"b": {}}, "agents": {"tester": {"bottle": "b"}}}))
    # The engine's own CA missing: its certificate is not trusted, and nothing starts.
    untrusted = tmp_path / "certs"
    untrusted.mkdir()
    for name in ("cert.pem", "key.pem"):
        (untrusted / name).write_bytes((Path(remote.env["DOCKER_CERT_PATH"]) / name).read_bytes())
    (untrusted / "ca.pem").write_bytes(Path(remote.env["DOCKER_CERT_PATH"], "cert.pem").read_bytes())
    result = bottle_launch("ps", env={**remote.env, "DOCKER_CERT_PATH": str(untrusted)})
    assert result.returncode != 0 and "Traceback" not in result.stderr, result.stderr
    assert f"cannot reach the Docker engine at {remote.url} (from DOCKER_HOST)" in result.stderr, result.stderr


@pytest.mark.parametrize("half_close", [False, True], ids=["as-sent", "control-half-closed"])
def test_a_handover_over_tls_ends_without_a_half_close(remote, images, monkeypatch, half_close):
    """TLS cannot half-close: the handover's tar ends itself, and the exec's answer comes back at
    once. The control shuts the write side as over a unix socket: the answer can no longer be
    read, and the handover hangs (until the connection's own timeout, 120 s here)."""
    from bottle_launcher.runtime.docker import Handover, _handover

    if half_close:
        monkeypatch.setattr(_handover, "end_of_input", lambda sock: sock.shutdown(socket.SHUT_WR))
    far = remote.client()
    container = far.containers.run(images["egress"], entrypoint=["sleep", "300"], user="0", detach=True)
    try:
        handover = Handover(far.api, container.id, "/run/handover-test", "0")
        sending = threading.Thread(target=handover.send, args=({"identity": b"key"}, b"A=1\0"), daemon=True)
        sending.start()
        sending.join(HANG)
        assert sending.is_alive() is half_close
        code, out = container.exec_run(["sh", "-c", "cat /run/handover-test/identity; ls /run/handover-test"])
        assert code == 0 and out.decode().startswith("key") and "env" in out.decode(), out
    finally:
        container.remove(force=True)  # ends the exec, and with it a hung handover
