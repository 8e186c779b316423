"""A second Docker engine for tests, reached over TLS: dockerd in a privileged runc container on a
test network, as a remote engine (DOCKER_HOST=tcp://...:2376 with client certificates) would be."""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import io
import ipaddress
import os
import shutil
import tarfile
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import docker
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

PORT = 2376
# Where the server's certificates land in the container (put_archive, never a bind mount).
CERTS = "/certs"
LABEL = "dev.claude-bottle.test-engine"

# Debian's own engine: docker.io pulls in containerd, runc, iptables and tini. Nothing secret is
# in the image; the certificates arrive when the container starts.
DOCKERFILE = """\
ARG BASE_IMAGE=debian:trixie-slim
FROM ${BASE_IMAGE}
RUN apt-get update \\
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \\
      docker.io docker-cli iptables ca-certificates tini openssh-server \\
 && rm -rf /var/lib/apt/lists/*
ENTRYPOINT ["/usr/bin/tini", "--"]
"""

# What dockerd needs for this job: the unix socket for `docker` beside it (RemoteEngine.sh), TLS
# with client certificates on the network, and overlay2 named so that a volume it cannot use fails
# loudly instead of falling back to vfs (a full copy of every layer).
DOCKERD_FLAGS = (
    "--host=unix:///var/run/docker.sock",
    f"--host=tcp://0.0.0.0:{PORT}",
    "--tlsverify",
    f"--tlscacert={CERTS}/ca.pem",
    f"--tlscert={CERTS}/server-cert.pem",
    f"--tlskey={CERTS}/server-key.pem",
    "--storage-driver=overlay2",
)

# The container's command. The server certificate must name the container's IP, known only once
# it runs, so dockerd waits for the test to hand the certificates over (`ready` is the archive's
# last member). Without --privileged (see _near_privileged) /sys, the cgroups and /proc/sys come
# read-only; dockerd writes all three, so they are remounted (a no-op when privileged). On a
# cgroup v2 host the container's root cgroup must hold no process before dockerd can give its
# containers controllers (what docker:dind's entrypoint does).
START = f"""\
set -e
while [ ! -e {CERTS}/ready ]; do sleep 0.05; done
mount -o remount,rw /sys
for m in /sys/fs/cgroup /sys/fs/cgroup/* /proc/sys; do mount -o remount,bind,rw "$m" 2>/dev/null || :; done
if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
  mkdir -p /sys/fs/cgroup/init
  xargs -rn1 < /sys/fs/cgroup/cgroup.procs > /sys/fs/cgroup/init/cgroup.procs || :
  sed -e 's/ / +/g' -e 's/^/+/' < /sys/fs/cgroup/cgroup.controllers > /sys/fs/cgroup/cgroup.subtree_control
fi
exec dockerd {" ".join(DOCKERD_FLAGS)}
"""


def base_image() -> str:
    return os.environ.get("BOTTLE_BASE_IMAGE", "debian:trixie-slim")


def build_dockerd_image(client: docker.DockerClient) -> str:
    """The engine's image, tagged by a hash of its Dockerfile and base, so a second call reuses it.
    Nothing needs BuildKit or a context here, so the SDK's builder takes the Dockerfile alone."""
    base = base_image()
    digest = hashlib.sha256(DOCKERFILE.encode() + b"\0" + base.encode()).hexdigest()[:16]
    tag = f"claude-bottle-test/dockerd:{digest}"
    try:
        client.images.get(tag)
    except docker.errors.ImageNotFound:
        client.images.build(fileobj=io.BytesIO(DOCKERFILE.encode()), tag=tag, buildargs={"BASE_IMAGE": base}, rm=True)
    return tag


# --- certificates -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Issued:
    cert_pem: bytes
    key_pem: bytes


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


class EngineCA:
    """A CA that lives as long as one engine: it signs the engine's server certificate and the
    test's client certificate, and dockerd trusts no other client."""

    def __init__(self, common: str = "remote engine test CA") -> None:
        self._key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.UTC)
        self._cert = (
            x509.CertificateBuilder()
            .subject_name(_name(common))
            .issuer_name(_name(common))
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
            )  # keyCertSign, cRLSign
            .sign(self._key, hashes.SHA256())
        )
        self.cert_pem = self._cert.public_bytes(serialization.Encoding.PEM)

    def _issue(self, common: str, usage: x509.ObjectIdentifier, names: list[x509.GeneralName]) -> Issued:
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.UTC)
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(common))
            .issuer_name(self._cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        )
        if names:
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        cert = builder.sign(self._key, hashes.SHA256())
        return Issued(cert.public_bytes(serialization.Encoding.PEM), _pem_key(key))

    def server(self, dns: list[str], ips: list[str]) -> Issued:
        """What dockerd presents: clients check the name or IP they dialled against these SANs."""
        names: list[x509.GeneralName] = [x509.DNSName(n) for n in dns]
        names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ips]
        return self._issue(dns[0], ExtendedKeyUsageOID.SERVER_AUTH, names)

    def client(self, common: str = "test client") -> Issued:
        """What --tlsverify asks of every client; without it dockerd ends the handshake."""
        return self._issue(common, ExtendedKeyUsageOID.CLIENT_AUTH, [])


def write_client_certs(ca: EngineCA, client: Issued, folder: Path) -> None:
    """The names DOCKER_CERT_PATH means to the Docker CLI and docker-py (docker.from_env)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "ca.pem").write_bytes(ca.cert_pem)
    (folder / "cert.pem").write_bytes(client.cert_pem)
    (folder / "key.pem").write_bytes(client.key_pem)
    (folder / "key.pem").chmod(0o600)


def _certs_archive(ca: EngineCA, server: Issued) -> bytes:
    """The server's files as a tar for put_archive at /, `ready` last: the start script waits for
    it, and a tar is unpacked in order."""
    members = {
        "ca.pem": ca.cert_pem,
        "server-cert.pem": server.cert_pem,
        "server-key.pem": server.key_pem,
        "ready": b"",
    }
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        folder = tarfile.TarInfo(CERTS.lstrip("/"))
        folder.type, folder.mode = tarfile.DIRTYPE, 0o700
        tar.addfile(folder)
        for name, data in members.items():
            info = tarfile.TarInfo(f"{folder.name}/{name}")
            info.size, info.mode = len(data), 0o600
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


# --- the engine ---------------------------------------------------------------------------------


# The engine's API version (Debian trixie's dockerd 26.1), named so that no request is made before
# the client is set up (docker-py asks it as the client is made otherwise).
API_VERSION = "1.45"


def tls_client(url: str, tls: docker.tls.TLSConfig, timeout: int = 120) -> docker.DockerClient:
    """A docker-py client that checks the engine against `tls`'s CA. requests lets
    REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE (set where a TLS-intercepting proxy is, as on CI here)
    replace a session's CA file (psf/requests#3829), so docker-py's own `verify` is lost and the
    engine is checked against the system bundle; this client does not read the environment."""
    client = docker.DockerClient(base_url=url, tls=tls, timeout=timeout, version=API_VERSION)
    client.api.trust_env = False
    return client


@dataclass
class RemoteEngine:
    container: docker.models.containers.Container
    volume: docker.models.volumes.Volume  # the inner /var/lib/docker
    url: str  # tcp://<container IP>:2376, reachable from the host
    alias: str  # its name on the network, for containers there (also in the certificate)
    cert_path: Path  # ca.pem, cert.pem, key.pem
    env: dict[str, str]  # DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH

    def tls(self, client_cert: bool = True) -> docker.tls.TLSConfig:
        cert = (str(self.cert_path / "cert.pem"), str(self.cert_path / "key.pem")) if client_cert else None
        return docker.tls.TLSConfig(client_cert=cert, ca_cert=str(self.cert_path / "ca.pem"), verify=True)

    def client(self, timeout: int = 120, client_cert: bool = True) -> docker.DockerClient:
        return tls_client(self.url, self.tls(client_cert), timeout)

    def sh(self, script: str) -> str:
        """A shell command beside dockerd (`docker` there uses the unix socket, no certificate)."""
        code, out = self.container.exec_run(["sh", "-c", script])
        assert code == 0, out.decode(errors="replace")
        return out.decode(errors="replace")

    def serve_ssh(self, public_key: str) -> str:
        """sshd beside dockerd, letting `public_key` in as root: the engine as DOCKER_HOST=ssh://
        reaches it (docker-py runs `docker system dial-stdio` there). Its host key, to pin."""
        script = (
            "set -e; mkdir -p /run/sshd /root/.ssh; ssh-keygen -A -q; "
            'printf "%s\\n" "$KEY" > /root/.ssh/authorized_keys; chmod 600 /root/.ssh/authorized_keys; '
            # As the launcher's hint says: a bottle's start holds more streams than the default 10.
            "echo 'MaxSessions 64' >> /etc/ssh/sshd_config; "
            "/usr/sbin/sshd; cut -d' ' -f1,2 /etc/ssh/ssh_host_ed25519_key.pub"
        )
        code, out = self.container.exec_run(["sh", "-c", script], environment={"KEY": public_key})
        if code != 0:
            raise RuntimeError(f"sshd did not start beside the engine: {out.decode(errors='replace')}")
        return out.decode().strip()

    def stop(self) -> None:
        """The container (and with it every inner container), the volume and the certificates."""
        with contextlib.suppress(docker.errors.NotFound):
            self.container.remove(force=True, v=True)
        with contextlib.suppress(docker.errors.NotFound):
            self.volume.remove(force=True)
        shutil.rmtree(self.cert_path, ignore_errors=True)


# Linux capabilities by number, for the bounding set in /proc/self/status. They stop at AUDIT_READ:
# Docker 20.10 knows no later one, and refuses to drop a capability it does not know.
CAPABILITIES = (
    "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID", "SETPCAP",
    "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW", "IPC_LOCK", "IPC_OWNER",
    "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT", "SYS_ADMIN", "SYS_BOOT", "SYS_NICE",
    "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD", "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP",
    "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG", "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ",
)  # fmt: skip


def _missing_capabilities() -> list[str]:
    """Capabilities outside this machine's bounding set (some VMs lack SYS_RESOURCE), taken as the
    outer engine's: the tests run beside it."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("CapBnd:"):
            bounding = int(line.split()[1], 16)
            return [name for bit, name in enumerate(CAPABILITIES) if not bounding >> bit & 1]
    return []


def _near_privileged() -> dict[str, object]:
    """What --privileged gives dockerd, asked for piece by piece. Docker 20.10 grants a privileged
    container every capability it knows, whether the host has it or not, and runc then fails with
    "unable to apply caps"; here every capability the host has, no seccomp or AppArmor profile and
    every device allowed in the devices cgroup. The START script remounts /sys, the cgroups and
    /proc/sys read-write (docker-py cannot send the CLI's systempaths=unconfined)."""
    return {
        "cap_add": ["ALL"],
        "cap_drop": _missing_capabilities(),
        "security_opt": ["seccomp=unconfined", "apparmor=unconfined"],
        "device_cgroup_rules": ["a *:* rwm"],
    }


def _create(
    client: docker.DockerClient, image: str, name: str, network: str, alias: str, volume: str, privilege: dict
) -> docker.models.containers.Container:
    container = client.containers.create(
        image,
        command=["sh", "-c", START],
        name=name,
        hostname=alias,
        labels={LABEL: name},
        # runc, explicitly: gVisor (which the outer engine may have registered) cannot run dockerd.
        runtime="runc",
        cgroupns="private",
        network=network,
        # The inner /var/lib/docker on a volume: overlay2 cannot stack on the container's own overlay.
        mounts=[docker.types.Mount("/var/lib/docker", volume, type="volume")],
        **privilege,
    )
    net = client.networks.get(network)
    net.disconnect(container)
    net.connect(container, aliases=[alias])
    return container


def _start_container(
    client: docker.DockerClient, image: str, name: str, network: str, alias: str, volume: str
) -> docker.models.containers.Container:
    """The engine's container, started (it then waits for its certificates): privileged, as
    docker:dind is, or the same by parts where the outer engine cannot grant that."""
    container = _create(client, image, name, network, alias, volume, {"privileged": True})
    try:
        container.start()
        return container
    except docker.errors.APIError as exc:
        container.remove(force=True)
        if "apply caps" not in str(exc):
            raise
    container = _create(client, image, name, network, alias, volume, _near_privileged())
    container.start()
    return container


def start_remote_engine(
    client: docker.DockerClient, network: str, alias: str = "remote-engine", timeout: float = 60
) -> RemoteEngine:
    """dockerd in a runc container on `network` (as `alias`), listening on TLS with client
    certificates required; returned once it answers over TLS."""
    image = build_dockerd_image(client)
    name = f"{network}-{alias}-{uuid.uuid4().hex[:4]}"
    ca = EngineCA()
    cert_path = Path(tempfile.mkdtemp(prefix="bottle-remote-engine-"))
    write_client_certs(ca, ca.client(), cert_path)
    volume = client.volumes.create(name=f"{name}-var-lib-docker", labels={LABEL: name})
    try:
        container = _start_container(client, image, name, network, alias, volume.name)
        container.reload()
        ip = container.attrs["NetworkSettings"]["Networks"][network]["IPAddress"]
        # localhost too: a client inside the container may dial the TCP port.
        server = ca.server([alias, "localhost"], [ip, "127.0.0.1"])
        container.put_archive("/", _certs_archive(ca, server))
        url = f"tcp://{ip}:{PORT}"
        env = {"DOCKER_HOST": url, "DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": str(cert_path)}
        engine = RemoteEngine(container, volume, url, alias, cert_path, env)
        _wait_answering(engine, timeout)
        return engine
    except BaseException:
        for leftover in client.containers.list(all=True, filters={"label": f"{LABEL}={name}"}):
            leftover.remove(force=True)
        volume.remove(force=True)
        shutil.rmtree(cert_path, ignore_errors=True)
        raise


def _log_tail(container: docker.models.containers.Container, lines: int = 30) -> str:
    return container.logs(tail=lines).decode(errors="replace")


def _wait_answering(engine: RemoteEngine, timeout: float) -> None:
    """Until a TLS client with the client certificate gets an answer. dockerd dying (a missing
    kernel feature, iptables, cgroups) is told at once, with what it logged last."""
    deadline = time.monotonic() + timeout
    remote = engine.client(timeout=2)
    try:
        while True:
            engine.container.reload()
            if engine.container.status != "running":
                raise RuntimeError(f"the remote engine exited:\n{_log_tail(engine.container)}")
            try:
                remote.ping()
                return
            except (requests.exceptions.RequestException, docker.errors.APIError):
                pass
            if time.monotonic() > deadline:
                tail = _log_tail(engine.container)
                raise RuntimeError(f"the remote engine did not answer in {timeout:.0f} s:\n{tail}")
            time.sleep(0.1)
    finally:
        remote.close()


# --- images -------------------------------------------------------------------------------------


def copy_images(source: docker.DockerClient, target: docker.DockerClient, tags: list[str]) -> None:
    """`docker save | docker load` from one engine to the other, streamed: the agent image is
    1.45 GB and never sits whole in memory or on disk. An image the target already has (same ID)
    is not sent again."""
    for tag in tags:
        image = source.images.get(tag)
        try:
            if target.images.get(tag).id == image.id:
                continue
        except docker.errors.ImageNotFound:
            pass
        stream: Iterator[bytes] = source.api.get_image(tag, chunk_size=1 << 20)
        target.images.load(stream)
        loaded = target.images.get(tag)
        if loaded.id != image.id:
            raise RuntimeError(f"{tag} arrived as {loaded.id}, not {image.id}")
