"""A real TLS upstream for the egress tests: certificates from a test CA, one server answering
for several names, echoing what it received (so a test sees exactly what left the gate)."""

from __future__ import annotations

import datetime
import time
import uuid
from dataclasses import dataclass

import docker
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

NAMES = ("tls.test", "other.test", "passthrough.test")

SERVER = r"""
import hashlib, http.server, json, ssl, sys, time
seen_sni = {}
class H(http.server.BaseHTTPRequestHandler):
    disable_nagle_algorithm = True  # headers then a small event: Nagle would hold the event ~40 ms
    def _read_body(self):
        # Yields the body in pieces, content-length or chunked, so a 100 MB upload is never held.
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline(); return
                left = size
                while left:
                    piece = self.rfile.read(min(left, 1 << 16))
                    if not piece: raise ConnectionError("body cut off")
                    left -= len(piece); yield piece
                self.rfile.readline()
        left = int(self.headers.get("Content-Length", "0"))
        while left:
            piece = self.rfile.read(min(left, 1 << 16))
            if not piece: raise ConnectionError("body cut off")
            left -= len(piece); yield piece
    protocol_version = "HTTP/1.1"
    def _send(self, status, body, ctype="text/plain"):
        self.send_response(status); self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
    def do_GET(self):
        if self.path.startswith("/echo-stream"):
            # The Authorization header back, chunked in 5-byte pieces: a value split across chunks.
            self.send_response(200); self.send_header("Content-Type", "text/plain")
            self.send_header("Transfer-Encoding", "chunked"); self.end_headers()
            text = ("auth=" + self.headers.get("Authorization", "") + "\n").encode()
            for i in range(0, len(text), 5):
                piece = text[i:i + 5]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece)); self.wfile.flush(); time.sleep(0.005)
            self.wfile.write(b"0\r\n\r\n")
            return
        if self.path.startswith("/sse"):
            events = int(self.path.split("n=", 1)[1]) if "n=" in self.path else 4
            self.send_response(200); self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache"); self.end_headers()
            for i in range(events):
                self.wfile.write(f"data: event-{i} {time.time():.3f}\n\n".encode()); self.wfile.flush()
                time.sleep(0.4)
            self.close_connection = True
            return
        self._send(200, f"hello from {self.headers.get('Host')} over tls".encode())
    def do_POST(self):
        if self.path.startswith("/sink"):
            digest, size = hashlib.sha256(), 0
            try:
                for piece in self._read_body():
                    digest.update(piece); size += len(piece)
            except (ConnectionError, ValueError) as exc:
                print(f"sink cut off after {size} bytes: {exc}", flush=True); self.close_connection = True; return
            print(f"sink {self.path} {size} {digest.hexdigest()}", flush=True)
            self._send(200, f"{size} {digest.hexdigest()}".encode()); return
        body = b"".join(self._read_body())
        seen = json.dumps({"path": self.path, "headers": dict(self.headers), "body": body.decode("latin-1")})
        print(seen, flush=True)
        self._send(200, seen.encode(), "application/json")
    def log_message(self, *args):
        pass
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain("/srv/cert.pem", "/srv/key.pem")
context.sni_callback = lambda sock, name, ctx: print(f"sni {name}", flush=True)  # what the gate let through
server = http.server.ThreadingHTTPServer(("0.0.0.0", 443), H)
server.socket = context.wrap_socket(server.socket, server_side=True)
print("listening", flush=True)
server.serve_forever()
"""


@dataclass(frozen=True)
class TestCA:
    cert_pem: bytes
    leaf_cert_pem: bytes
    leaf_key_pem: bytes


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def make_test_ca(names: tuple[str, ...] = NAMES) -> TestCA:
    """A CA, and one leaf certificate for every name in `names`."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("test upstream CA"))
        .issuer_name(_name("test upstream CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(_name(names[0]))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    return TestCA(
        ca.public_bytes(pem),
        leaf.public_bytes(pem),
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
    )


def start_tls_upstream(client: docker.DockerClient, image: str, network: str, ca: TestCA):
    return start_https_server(client, image, network, ca, ["python3", "-c", SERVER], NAMES)


def start_https_server(
    client: docker.DockerClient,
    image: str,
    network: str,
    ca: TestCA,
    entrypoint: list[str],
    aliases: tuple[str, ...],
    files: dict[str, bytes] | None = None,
):
    """A container on `network` answering as every name in `aliases`, with the CA's leaf as
    /srv/cert.pem and /srv/key.pem (and `files`, also under /srv); started once it prints
    "listening"."""
    import io
    import tarfile

    container = client.containers.create(
        image,
        entrypoint=entrypoint,
        name=f"{network}-tls-{uuid.uuid4().hex[:4]}",
        network=network,
        user="0",
    )
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in {"cert.pem": ca.leaf_cert_pem, "key.pem": ca.leaf_key_pem, **(files or {})}.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    container.put_archive("/srv", buffer.getvalue())
    net = client.networks.get(network)
    net.disconnect(container)
    net.connect(container, aliases=list(aliases))
    container.start()
    return wait_listening(container)


def wait_listening(container, timeout: float = 30):
    """`container`, once it has printed "listening" (a test server is up)."""
    deadline = time.monotonic() + timeout
    while b"listening" not in container.logs():
        assert time.monotonic() < deadline, container.logs().decode(errors="replace")
        time.sleep(0.05)
    return container
