"""A gate cannot be turned against the machine it runs on or its neighbours.

Every gate has a leg on a network that reaches further than the bottle's own. Its own checks (the
egress gate's SSRF check, the manifest's pinned upstreams) decide where it dials; behind them, each
gate's network namespace is fenced: no new connection to an internal address (private, CGNAT,
link-local, the Docker host's gateway) unless the bottle's `allow_cidrs` grants it.

Here, against a listener on the Docker host and a second sshd on the test network:
- from inside a bottle, an ssh entry whose name resolves to a neighbour that `allow_cidrs` does not
  cover (a project manifest from an untrusted repository could declare one) reaches nothing;
- each gate's own namespace (egress, ssh, git) cannot open a connection to the host, as if the
  gate's own checks had been fooled (tried with `docker exec` in the gate: the agent cannot run code
  there, so this stands in for a gate that was tricked into dialling).
Positive control for both: the same bottle with `allow_cidrs` covering the test network reaches
the neighbour and the host.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_helpers import bottle_launch, launch_detached
from upstreams import KeyPair, Sshd, start_sshd

GREETING = b"host-listener\n"
# Run in a gate's own namespace: connect, and print what the other end said or why it could not.
DIAL = (
    "import socket, sys\n"
    "try:\n"
    "    s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)\n"
    "    print('connected', s.recv(64).decode().strip())\n"
    "except OSError as e:\n"
    "    print('refused' if isinstance(e, ConnectionRefusedError) else f'failed {e!r}')\n"
)
PYTHON = {"egress": "/opt/egress-gate/venv/bin/python", "ssh": "python3", "git": "python3"}


@pytest.fixture(scope="module")
def key() -> KeyPair:
    return KeyPair.generate()


@pytest.fixture(scope="module")
def forge(client, sshd_image, upstream_network, key) -> Iterator[Sshd]:
    sshd = start_sshd(client, sshd_image, upstream_network, "forge.test", [key.public], repos=("demo/app",))
    yield sshd
    sshd.container.remove(force=True)


@pytest.fixture(scope="module")
def neighbour(client, sshd_image, upstream_network, key) -> Iterator[Sshd]:
    """Another machine on the gates' network, never granted to the attacking bottle."""
    sshd = start_sshd(client, sshd_image, upstream_network, "neighbour.test", [key.public])
    yield sshd
    sshd.container.remove(force=True)


@pytest.fixture(scope="module")
def host_listener(client, upstream_network) -> Iterator[tuple[str, int]]:
    """A TCP service on the Docker host, at the gateway address of the gates' outer network."""
    gateway = client.networks.get(upstream_network).attrs["IPAM"]["Config"][0]["Gateway"]
    server = socket.create_server(("0.0.0.0", 0))
    server.settimeout(0.5)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except TimeoutError:
                continue
            with connection:
                connection.sendall(GREETING)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield gateway, server.getsockname()[1]
    stop.set()
    thread.join(timeout=5)
    server.close()


def _start(folder: Path, key: KeyPair, forge: Sshd, neighbour: Sshd, allow_cidrs: list[str], network: str) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    identity = folder / "id"
    identity.write_bytes(key.private)
    identity.chmod(0o600)

    def entry(host: str, upstream: Sshd) -> dict:
        return {
            "Host": host,
            "Hostname": upstream.name,
            "User": "git",
            "IdentityFile": str(identity),
            "KnownHostKey": f"{upstream.name} {upstream.host_key}",
        }

    bottle = {
        "ssh": [entry("forge", forge), entry("neighbour", neighbour)],
        "git": [{**entry("forge-git", forge), "Repos": ["demo/app"]}],
        "egress": {"allow_cidrs": allow_cidrs},
    }
    manifest = folder / "claude-bottle.json"
    manifest.write_text(json.dumps({"bottles": {"atk": bottle}, "agents": {"tester": {"bottle": "atk"}}}))
    return launch_detached(manifest, network).stdout.strip()


@pytest.fixture(scope="module")
def fenced(tmp_path_factory, key, forge, neighbour, upstream_network) -> Iterator[str]:
    """allow_cidrs grants the forge's address alone: not the neighbour, not the host."""
    folder = tmp_path_factory.mktemp("fenced")
    bottle_id = _start(folder, key, forge, neighbour, [f"{forge.ip}/32"], upstream_network)
    yield bottle_id
    bottle_launch("stop", bottle_id)


@pytest.fixture(scope="module")
def granted(tmp_path_factory, key, forge, neighbour, upstream_network, upstream_subnet) -> Iterator[str]:
    """The control: allow_cidrs grants the whole test network, the host's gateway included."""
    folder = tmp_path_factory.mktemp("granted")
    bottle_id = _start(folder, key, forge, neighbour, [upstream_subnet], upstream_network)
    yield bottle_id
    bottle_launch("stop", bottle_id)


def ssh_from_bottle(bottle_id: str, alias: str) -> str:
    command = ["ssh", "-o", "ConnectTimeout=10", alias, "echo", "in-$((6*7))"]
    result = bottle_launch("exec", "-T", bottle_id, "--", *command)
    return result.stdout + result.stderr


def test_an_ssh_entry_naming_an_ungranted_neighbour_reaches_nothing(fenced, granted):
    assert "in-42" in ssh_from_bottle(granted, "neighbour")  # control: granted, the same entry works
    assert "in-42" in ssh_from_bottle(fenced, "forge")  # the granted upstream still works
    output = ssh_from_bottle(fenced, "neighbour")
    assert "in-42" not in output, output
    assert "Connection closed" in output or "Connection reset" in output, output


@pytest.mark.parametrize("role", ["egress", "ssh", "git"])
def test_no_gate_can_open_a_connection_to_the_host(client, fenced, granted, host_listener, role):
    gateway, port = host_listener

    def dial(bottle_id: str) -> str:
        gate = client.containers.get(f"bottle-tester-{bottle_id}-{role}")
        code, output = gate.exec_run([PYTHON[role], "-c", DIAL, gateway, str(port)])
        assert code == 0, output.decode()
        return output.decode().strip()

    assert dial(granted) == f"connected {GREETING.decode().strip()}"  # control: the host answers
    assert dial(fenced) == "refused"


# Run in a gate: resolve a name only the engine's upstream DNS can answer for (it does not exist).
RESOLVE = (
    "import socket\n"
    "try:\n"
    "    socket.getaddrinfo('no-such-name.invalid', 443)\n"
    "    print('resolved')\n"
    "except socket.gaierror as e:\n"
    "    print({socket.EAI_NONAME: 'no-such-name', socket.EAI_AGAIN: 'no-answer'}.get(e.errno, repr(e)))\n"
)


def _resolve_in(client, bottle_id: str, role: str) -> str:
    gate = client.containers.get(f"bottle-tester-{bottle_id}-{role}")
    code, output = gate.exec_run([PYTHON[role], "-c", RESOLVE])
    assert code == 0, output.decode()
    return output.decode().strip()


def _fence_rules(client, bottle_id: str, role: str, change: str) -> str:
    """Run iptables in a gate's namespace, as the fence helper does (runc, NET_ADMIN only, the
    egress image: it has iptables)."""
    gate = client.containers.get(f"bottle-tester-{bottle_id}-{role}")
    egress = client.containers.get(f"bottle-tester-{bottle_id}-egress")
    out = client.containers.run(
        egress.image.id, entrypoint=["sh", "-c", change], user="0", network_mode=f"container:{gate.id}",
        cap_drop=["ALL"], cap_add=["NET_ADMIN", "NET_RAW"], runtime="runc", remove=True,
    )  # fmt: skip
    return out.decode()


@pytest.mark.parametrize("role", ["egress", "ssh", "git"])
def test_a_fenced_gate_still_gets_answers_from_the_engines_dns(client, fenced, role):
    # The engine's DNS forwards from the gate's own namespace, to resolvers that are often
    # internal addresses (this machine's is): the fence keeps their port 53 open, so a name gets
    # an answer ("no such name") instead of a timeout.
    assert _resolve_in(client, fenced, role) == "no-such-name"


def test_control_without_the_resolvers_hole_names_time_out(client, fenced):
    holes = [
        line for line in _fence_rules(client, fenced, "git", "iptables -S OUTPUT").splitlines() if "--dport 53" in line
    ]
    assert holes, "the fence opened no resolver"
    closing = "; ".join(f"iptables {line.replace('-A OUTPUT', '-D OUTPUT', 1)}" for line in holes)
    _fence_rules(client, fenced, "git", closing)
    try:
        assert _resolve_in(client, fenced, "git") == "no-answer"
    finally:
        _fence_rules(client, fenced, "git", "; ".join(f"iptables {line}" for line in holes))
