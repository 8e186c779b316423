"""The second engine the remote-engine tests run bottles on (testkit/remote_engine.py): it answers
over TLS only to the test's client certificate, runs containers from images copied to it, and
leaves nothing behind on the local engine."""

from __future__ import annotations

import contextlib
import os
import subprocess
import uuid
from collections.abc import Iterator

import docker
import pytest
import requests
from remote_engine import LABEL, base_image, copy_images, start_remote_engine


@pytest.fixture
def network(client) -> Iterator[str]:
    """A fresh network for the engine (non-internal: the host reaches the engine by its IP)."""
    name = f"bottle-test-remote-{uuid.uuid4().hex[:6]}"
    client.networks.create(name, driver="bridge")
    yield name
    # The test removes it itself, to see that nothing holds on to it; this is for a failed test.
    with contextlib.suppress(docker.errors.NotFound):
        client.networks.get(name).remove()


def test_remote_engine_over_tls(client, network):
    engine = start_remote_engine(client, network)
    try:
        remote = engine.client()
        assert remote.version()["Version"]
        # The Docker CLI with the engine's environment: DOCKER_CERT_PATH's file names are right.
        cli = subprocess.run(
            ["docker", "version", "--format", "{{.Server.Version}}"],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, **engine.env},
        )
        assert cli.returncode == 0 and cli.stdout.strip() == remote.version()["Version"], cli.stderr

        # Negative control: the same CA, no client certificate; dockerd ends the handshake.
        with pytest.raises(requests.exceptions.ConnectionError):
            engine.client(timeout=10, client_cert=False).version()
        assert b"didn't provide a certificate" in engine.container.logs()

        copy_images(client, remote, [base_image()])
        assert remote.containers.run(base_image(), ["echo", "hi"], remove=True) == b"hi\n"
    finally:
        engine.stop()

    mine = {"label": f"{LABEL}={engine.container.name}"}
    assert client.containers.list(all=True, filters=mine) == []
    assert client.volumes.list(filters=mine) == []
    assert not engine.cert_path.exists()
    client.networks.get(network).remove()
    assert client.networks.list(names=[network]) == []
