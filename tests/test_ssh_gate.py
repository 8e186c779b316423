"""The ssh gate against a real sshd: declared upstreams work through it, pinned to their host
key, with exactly the granted identity; nothing else is reachable."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import paramiko
import pytest
from e2e_helpers import bottle_launch, launch_detached, search_everywhere
from upstreams import KeyPair, Sshd, start_sshd

GATE_PORT = 2201  # the first entry's port on the gate


@pytest.fixture(scope="module")
def keys() -> dict[str, KeyPair]:
    return {"granted": KeyPair.generate(), "other": KeyPair.generate()}


@pytest.fixture(scope="module")
def forge(client, images, sshd_image, upstream_network, keys) -> Iterator[Sshd]:
    """forge.test accepts both keys; only one is granted to the bottle."""
    authorized = [keys["granted"].public, keys["other"].public]
    sshd = start_sshd(client, sshd_image, upstream_network, "forge.test", authorized, repos=("demo/app",))
    yield sshd
    sshd.container.remove(force=True)


@pytest.fixture(scope="module")
def stranger(client, sshd_image, upstream_network, keys) -> Iterator[Sshd]:
    """An sshd the manifest does not declare, on the same network, accepting the granted key."""
    sshd = start_sshd(client, sshd_image, upstream_network, "stranger.test", [keys["granted"].public])
    yield sshd
    sshd.container.remove(force=True)


def write_manifest(tmp_path: Path, keys: dict[str, KeyPair], known_host_key: str, subnet: str, port: int = 22) -> Path:
    identity = tmp_path / "id_forge"
    identity.write_bytes(keys["granted"].private)
    identity.chmod(0o600)
    (tmp_path / "id_other").write_bytes(keys["other"].private)  # on the host, never granted
    entry = {
        "Host": "forge",
        "Hostname": "forge.test",
        "Port": port,
        "User": "git",
        "IdentityFile": str(identity),
        "KnownHostKey": known_host_key,
    }
    manifest = tmp_path / "claude-bottle.json"
    # forge.test has a private address: the gate may dial it only where allow_cidrs says so.
    bottle = {"ssh": [entry], "egress": {"allow_cidrs": [subnet]}}
    manifest.write_text(json.dumps({"bottles": {"ssh": bottle}, "agents": {"tester": {"bottle": "ssh"}}}))
    return manifest


def start(manifest: Path, upstream_network: str) -> str:
    return launch_detached(manifest, upstream_network).stdout.strip()


def in_bottle(bottle_id: str, script: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return bottle_launch("exec", bottle_id, "--", "sh", "-c", script, timeout=timeout)


@pytest.fixture
def bottle(tmp_path, keys, forge, upstream_network, upstream_subnet) -> Iterator[str]:
    bottle_id = start(write_manifest(tmp_path, keys, f"forge.test {forge.host_key}", upstream_subnet), upstream_network)
    yield bottle_id
    bottle_launch("stop", bottle_id)


def fingerprint(public: str) -> str:
    blob = base64.b64decode(public.split()[1])
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


def test_alias_and_hostname_reach_the_upstream_with_the_granted_key(bottle, forge, keys):
    before = len(forge.accepted_keys())
    by_alias = in_bottle(bottle, "ssh forge echo via-alias")
    assert by_alias.stdout == "via-alias\n", by_alias.stderr
    by_name = in_bottle(bottle, "ssh forge.test echo via-hostname")
    assert by_name.stdout == "via-hostname\n", by_name.stderr
    # sshd saw exactly the granted identity, both times.
    assert forge.accepted_keys()[before:] == [fingerprint(keys["granted"].public)] * 2


@pytest.mark.parametrize(
    ("form", "port"),
    [("forge", 22), ("forge.test", 22), ("[forge.test]:2222", 2222), ("", 2222)],
    ids=["alias", "hostname", "bracketed-host-port", "no-host-field"],
)
def test_every_form_of_the_pinned_key_verifies(tmp_path, keys, forge, upstream_network, upstream_subnet, form, port):
    line = f"{form} {forge.host_key}".strip()
    bottle_id = start(write_manifest(tmp_path, keys, line, upstream_subnet, port), upstream_network)
    try:
        result = in_bottle(bottle_id, "ssh forge echo pinned-ok")
        assert result.stdout == "pinned-ok\n", result.stderr
    finally:
        bottle_launch("stop", bottle_id)


def test_a_wrong_pinned_key_is_refused(tmp_path, keys, forge, upstream_network, upstream_subnet):
    impostor = KeyPair.generate().public
    bottle_id = start(write_manifest(tmp_path, keys, f"forge.test {impostor}", upstream_subnet), upstream_network)
    try:
        result = in_bottle(bottle_id, "ssh forge echo should-not-run")
        assert result.returncode == 255
        assert "REMOTE HOST IDENTIFICATION HAS CHANGED" in result.stderr
        assert "Host key verification failed" in result.stderr
        assert "should-not-run" not in result.stdout
    finally:
        bottle_launch("stop", bottle_id)


def test_an_undeclared_host_is_unreachable(bottle, stranger):
    # Control: the stranger is up and accepts the granted key from its own network.
    assert stranger.sh("echo up") == "up\n"
    by_name = in_bottle(bottle, "ssh -o ConnectTimeout=5 -o StrictHostKeyChecking=no git@stranger.test true")
    assert by_name.returncode == 255
    assert "stranger.test" in by_name.stderr
    by_ip = in_bottle(bottle, f"timeout 5 bash -c '</dev/tcp/{stranger.ip}/22' && echo open || echo closed")
    assert by_ip.stdout.strip().endswith("closed")
    # The gate forwards its declared ports only.
    on_gate = in_bottle(bottle, "timeout 5 bash -c '</dev/tcp/ssh-gate/22' && echo open || echo closed")
    assert on_gate.stdout.strip().endswith("closed")


def test_the_agent_holds_only_the_granted_identity(bottle, keys):
    listing = in_bottle(bottle, "ls /run/bottle/ssh; ls ~/.ssh")
    assert listing.stdout.split() == ["forge", "config", "known_hosts.pinned"], listing.stderr
    mode = in_bottle(bottle, "find /run/bottle/ssh/forge -printf '%m %u\\n'")
    assert mode.stdout == "600 claude\n"
    derived = in_bottle(bottle, "ssh-keygen -y -f /run/bottle/ssh/forge")
    assert derived.stdout.split()[:2] == keys["granted"].public.split()[:2]
    # The other key on the host is nowhere in the bottle.
    other_line = keys["other"].private.decode().splitlines()[2]
    assert in_bottle(bottle, search_everywhere(other_line)).stdout == ""


def test_identity_is_not_in_docker_config_or_on_disk(bottle, client, keys):
    body = keys["granted"].private.decode().splitlines()[2]
    for container in client.containers.list(filters={"label": f"dev.claude-bottle.id={bottle}"}):
        inspected = subprocess.run(["docker", "inspect", container.id], capture_output=True, text=True).stdout
        assert body not in inspected
    grep = subprocess.run(["grep", "-rlsF", body, "/var/lib/docker"], capture_output=True, text=True)
    assert grep.stdout == ""


def test_git_clone_and_push_over_ssh_through_the_gate(bottle, forge):
    script = (
        "set -e; cd /tmp; git clone -q forge:/srv/git/demo/app.git && cd app"
        " && git -c user.name=agent -c user.email=a@b commit -q --allow-empty -m from-the-bottle"
        " && git push -q origin main && git log --format=%s -1"
    )
    result = in_bottle(bottle, script)
    assert result.returncode == 0, result.stderr
    assert forge.sh("git -C /srv/git/demo/app.git log --format=%s -1 main") == "from-the-bottle\n"


def test_a_50_mb_transfer_arrives_intact(bottle):
    script = "head -c 52428800 /dev/urandom > /tmp/blob; sha256sum < /tmp/blob; ssh forge sha256sum < /tmp/blob"
    result = in_bottle(bottle, script, timeout=300)
    local, remote = result.stdout.splitlines()
    assert local == remote, result.stderr
    assert len(local.split()[0]) == 64


PARAMIKO = """
import base64, io, os, sys, paramiko
gate, port, host_key, private = sys.argv[1], int(sys.argv[2]), sys.argv[3], os.environ["TEST_KEY"]
client = paramiko.SSHClient()
client.set_missing_host_key_policy(paramiko.RejectPolicy())
# paramiko has no HostKeyAlias: for a non-22 port it looks the key up as [host]:port.
kind, blob = host_key.split()
client.get_host_keys().add(f"[{gate}]:{port}", kind, paramiko.PKey.from_type_string(kind, base64.b64decode(blob)))
try:
    client.connect(gate, port, username="git", pkey=paramiko.Ed25519Key.from_private_key(io.StringIO(private)),
                   look_for_keys=False, allow_agent=False, timeout=10)
except Exception as exc:
    print("refused:", type(exc).__name__, exc); sys.exit(3)
_, out, _ = client.exec_command("echo paramiko-through-gate")
print(out.read().decode().strip())
"""


def paramiko_in(client, sshd_image, network: str, gate_ip: str, host_key: str, private: bytes) -> tuple[int, str]:
    """Run paramiko in a helper container on `network` (the only place the gate serves).
    The key is a throwaway test key, so the helper may take it in its environment."""
    helper = client.containers.create(
        sshd_image,
        entrypoint=["python3", "-c", PARAMIKO, gate_ip, str(GATE_PORT), host_key],
        network=network,
        environment={"TEST_KEY": private.decode()},
        name=f"bottle-test-paramiko-{uuid.uuid4().hex[:6]}",
    )
    try:
        helper.start()
        code = helper.wait(timeout=60)["StatusCode"]
        return code, helper.logs().decode()
    finally:
        helper.remove(force=True)


def test_paramiko_with_reject_policy_and_the_pinned_key(bottle, client, sshd_image, forge, keys):
    internal = f"bottle-tester-{bottle}-internal"
    gate = client.containers.get(f"bottle-tester-{bottle}-ssh")
    gate_ip = gate.attrs["NetworkSettings"]["Networks"][internal]["IPAddress"]
    code, out = paramiko_in(client, sshd_image, internal, gate_ip, forge.host_key, keys["granted"].private)
    assert (code, out.strip()) == (0, "paramiko-through-gate")
    wrong = KeyPair.generate().public
    code, out = paramiko_in(client, sshd_image, internal, gate_ip, wrong, keys["granted"].private)
    assert code == 3 and "BadHostKeyException" in out, out


def test_the_gate_serves_nobody_outside_its_bottle(bottle, client, forge, keys, upstream_network):
    gate = client.containers.get(f"bottle-tester-{bottle}-ssh")
    outside_ip = gate.attrs["NetworkSettings"]["Networks"][upstream_network]["IPAddress"]
    ssh = paramiko.SSHClient()
    ssh.set_missing_host_key_policy(paramiko.AutoAddPolicy())  # trust is not what is tested here
    with pytest.raises((paramiko.SSHException, OSError, EOFError)):
        ssh.connect(outside_ip, GATE_PORT, username="git", timeout=10, banner_timeout=10, look_for_keys=False)
    ssh.close()
