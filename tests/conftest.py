"""End-to-end fixtures: a real Docker engine, the real images, upstreams as containers."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
from tls_upstream import make_test_ca, start_tls_upstream
from upstreams import build_sshd_image


@pytest.fixture(scope="session")
def client() -> docker.DockerClient:
    try:
        client = docker.from_env()
        client.ping()
    except docker.errors.DockerException as exc:
        pytest.fail(f"these tests need a Docker engine (scripts/test starts one): {exc}")
    return client


@pytest.fixture(scope="session")
def images(client) -> dict[str, str]:
    """Build (or find) the bottle images once, outside any timed step."""
    from bottle_launcher.images import IMAGE_NAMES
    from bottle_launcher.runtime.docker import DockerBackend

    backend = DockerBackend(client)
    return {key: backend.image(key, lambda line: None) for key in IMAGE_NAMES}


@pytest.fixture(scope="session")
def sshd_image(client) -> str:
    return build_sshd_image(client)


@pytest.fixture(scope="session")
def upstream_network(client, images) -> Iterator[str]:
    """A network standing in for the internet, with an HTTP server named allowed.test and
    blocked.test (both the same server: only the gate's policy tells them apart)."""
    name = f"bottle-test-upstream-{uuid.uuid4().hex[:6]}"
    network = client.networks.create(name, driver="bridge")
    server = client.containers.run(
        images["egress"],
        entrypoint=["python3", "-c", SERVER],
        name=f"{name}-server",
        detach=True,
        network=name,
        user="0",
    )
    network.disconnect(server)
    network.connect(server, aliases=["allowed.test", "blocked.test"])
    deadline = time.monotonic() + 30
    while b"listening" not in server.logs():
        assert time.monotonic() < deadline, server.logs().decode(errors="replace")
        time.sleep(0.05)
    try:
        yield name
    finally:
        server.remove(force=True)
        network.remove()


SERVER = """
import http.server
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"hello from upstream " + self.headers.get("Host", "").encode()
        self.send_response(200); self.send_header("Content-Length", str(len(body))); self.end_headers()
        self.wfile.write(body)
server = http.server.ThreadingHTTPServer(("0.0.0.0", 80), H)
print("listening", flush=True)
server.serve_forever()
"""


@pytest.fixture(scope="session")
def test_ca(tmp_path_factory) -> tuple[object, Path]:
    """A private CA for the test upstreams (the gate trusts it through BOTTLE_EGRESS_UPSTREAM_CA),
    and the path of its certificate."""
    ca = make_test_ca()
    path = tmp_path_factory.mktemp("ca") / "upstream-ca.pem"
    path.write_bytes(ca.cert_pem)
    return ca, path


@pytest.fixture(scope="session")
def tls_upstream(client, images, upstream_network, test_ca) -> Iterator[object]:
    """tls.test, other.test and passthrough.test: one HTTPS server that echoes what it got."""
    container = start_tls_upstream(client, images["egress"], upstream_network, test_ca[0])
    yield container
    container.remove(force=True)


@pytest.fixture(scope="session")
def upstream_subnet(client, upstream_network) -> str:
    """The test 'internet' is a private Docker network: bottles must list it in allow_cidrs."""
    return client.networks.get(upstream_network).attrs["IPAM"]["Config"][0]["Subnet"]


@pytest.fixture
def manifest(tmp_path: Path, upstream_subnet: str) -> Path:
    path = tmp_path / "claude-bottle.json"
    path.write_text(
        json.dumps(
            {
                "bottles": {
                    "e2e": {
                        "env": {"BOTTLE_SECRET": "${E2E_SECRET}", "PLAIN": "visible"},
                        "egress": {"allowlist": ["allowed.test"], "allow_cidrs": [upstream_subnet]},
                    }
                },
                "agents": {"tester": {"bottle": "e2e"}},
            }
        )
    )
    return path
