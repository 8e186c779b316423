"""Upstreams for the gate tests: real sshd containers on the test's upstream network."""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass
from pathlib import Path

import docker
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


def build_sshd_image(client: docker.DockerClient) -> str:
    """A real OpenSSH server with git (testkit/upstreams/sshd), tagged by a hash of its files.
    Nothing needs BuildKit here, so the SDK's builder does it."""
    folder = Path(__file__).parent / "upstreams" / "sshd"
    digest = hashlib.sha256()
    for path in sorted(folder.iterdir()):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    tag = f"claude-bottle-test/sshd:{digest.hexdigest()[:16]}"
    try:
        client.images.get(tag)
    except docker.errors.ImageNotFound:
        base = os.environ.get("BOTTLE_BASE_IMAGE", "debian:trixie-slim")
        client.images.build(path=str(folder), tag=tag, buildargs={"BASE_IMAGE": base}, rm=True)
    return tag


@dataclass(frozen=True)
class KeyPair:
    private: bytes  # OpenSSH PEM
    public: str  # "ssh-ed25519 AAAA..."

    @classmethod
    def generate(cls) -> KeyPair:
        key = Ed25519PrivateKey.generate()
        private = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
        )
        public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
        return cls(private, public.decode())


@dataclass
class Sshd:
    container: docker.models.containers.Container
    name: str  # DNS name on the upstream network
    ip: str
    host_key: str  # "ssh-ed25519 AAAA..." (no host field)

    def sh(self, script: str, user: str = "git") -> str:
        code, out = self.container.exec_run(["sh", "-c", script], user=user)
        assert code == 0, out.decode(errors="replace")
        return out.decode()

    def accepted_keys(self) -> list[str]:
        """Fingerprints sshd logged as accepted, in order."""
        lines = self.container.logs().decode(errors="replace").splitlines()
        return [line.rsplit(" ", 1)[-1] for line in lines if "Accepted publickey" in line]


def start_sshd(
    client: docker.DockerClient,
    image: str,
    network: str,
    name: str,
    authorized: list[str],
    repos: tuple[str, ...] = (),
) -> Sshd:
    container = client.containers.run(
        image,
        name=f"{network}-{name.replace('.', '-')}",
        detach=True,
        network=network,
        environment={"AUTHORIZED_KEYS": "\n".join(authorized), "REPOS": " ".join(repos)},
        command=[],
    )
    net = client.networks.get(network)
    net.disconnect(container)
    net.connect(container, aliases=[name])
    deadline = time.monotonic() + 30
    while b"Server listening" not in container.logs():
        container.reload()
        assert container.status == "running" and time.monotonic() < deadline, container.logs().decode()
        time.sleep(0.05)
    container.reload()
    ip = container.attrs["NetworkSettings"]["Networks"][network]["IPAddress"]
    code, out = container.exec_run(["cat", "/etc/ssh/ssh_host_ed25519_key.pub"])
    assert code == 0
    key_type, key = out.decode().split()[:2]
    return Sshd(container, name, ip, f"{key_type} {key}")
