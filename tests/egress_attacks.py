"""Tools for attacking the egress gate from inside a bottle: a raw client the agent runs (Node,
as Claude Code runs), and upstreams that record exactly what reached them."""

from __future__ import annotations

import base64
import json
import subprocess
import uuid

import docker
from e2e_helpers import bottle_launch
from tls_upstream import wait_listening

# CONNECT (or not), optionally TLS with a chosen SNI, then raw bytes; prints one JSON line:
# {"connect": <status or null>, "data": <what came back, latin-1>, "closed": <peer closed>}.
# `node raw.js tunnel HOST:PORT SNI|- B64 [WAIT_MS]` or `node raw.js plain B64 [WAIT_MS]`.
RAW_CLIENT = r"""
const net = require('net'), tls = require('tls');
const [mode, ...rest] = process.argv.slice(2);
const proxy = new URL(process.env.HTTPS_PROXY);
let out = {connect: null, data: '', closed: false};
let done = false;
const finish = () => { if (done) return; done = true; console.log(JSON.stringify(out)); process.exit(0); };
function talk(sock, payload, wait) {
  sock.on('data', (d) => { out.data += d.toString('latin1'); });
  sock.on('end', () => { out.closed = true; });
  sock.on('close', () => { out.closed = true; setTimeout(finish, 50); });
  sock.on('error', (e) => { out.error = e.code || e.message; });
  if (payload.length) sock.write(payload);
  setTimeout(finish, wait);
}
if (mode === 'plain') {
  const [b64, wait] = rest;
  const sock = net.connect(proxy.port, proxy.hostname, () => talk(sock, Buffer.from(b64, 'base64'), +(wait || 3000)));
} else {
  const [target, sni, b64, wait] = rest;
  const sock = net.connect(proxy.port, proxy.hostname, () => {
    sock.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`);
  });
  let head = '';
  const onHead = (d) => {
    head += d.toString('latin1');
    if (!head.includes('\r\n\r\n')) return;
    sock.removeListener('data', onHead);
    out.connect = +head.split(' ')[1];
    if (out.connect !== 200) { out.data = head; return talk(sock, Buffer.alloc(0), 1000); }
    const payload = Buffer.from(b64, 'base64');
    if (sni === '-') return talk(sock, payload, +(wait || 3000));
    const secure = tls.connect({socket: sock, servername: sni, rejectUnauthorized: false}, () => {
      talk(secure, payload, +(wait || 3000));
    });
    secure.on('error', (e) => { out.error = e.code || e.message; finish(); });
  };
  sock.on('data', onHead);
  sock.on('error', (e) => { out.error = e.code || e.message; finish(); });
}
"""

# Answers on three ports and logs every byte it receives: 443 and 2222 stay silent (a raw sink),
# 80 speaks first with an SSH banner, as an SSH server on an allowed host would.
RAW_SERVER = r"""
import socket, threading
def serve(port, banner):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port)); s.listen(16)
    while True:
        conn, _ = s.accept()
        def handle(conn=conn):
            if banner:
                conn.sendall(banner)
            conn.settimeout(5)
            try:
                while True:
                    data = conn.recv(65536)
                    if not data:
                        break
                    print(f"got {port} {data.hex()}", flush=True)
            except OSError:
                pass
            conn.close()
        threading.Thread(target=handle, daemon=True).start()
for port, banner in ((443, b""), (2222, b""), (80, b"SSH-2.0-OpenSSH_9.2\r\n")):
    threading.Thread(target=serve, args=(port, banner), daemon=True).start()
print("listening", flush=True)
threading.Event().wait()
"""


def sh(bottle_id: str, script: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return bottle_launch("exec", "-T", bottle_id, "--", "bash", "-c", script, timeout=timeout)


def raw(bottle_id: str, *args: str) -> dict:
    """Run the raw client in the bottle with `args`; its JSON verdict."""
    encoded = base64.b64encode(RAW_CLIENT.encode()).decode()
    quoted = " ".join(f"'{a}'" for a in args)
    result = sh(bottle_id, f"echo {encoded} | base64 -d > /tmp/raw.js && node /tmp/raw.js {quoted}")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def b64(text: str | bytes) -> str:
    return base64.b64encode(text.encode() if isinstance(text, str) else text).decode()


def start_raw_server(client: docker.DockerClient, image: str, network: str, aliases: list[str]):
    name = f"{network}-raw-{uuid.uuid4().hex[:4]}"
    container = client.containers.create(
        image, entrypoint=["python3", "-c", RAW_SERVER], name=name, user="0", network=network
    )
    net = client.networks.get(network)
    net.disconnect(container)
    net.connect(container, aliases=aliases)
    container.start()
    return wait_listening(container)


def received(container) -> list[tuple[int, bytes]]:
    """(port, bytes) for everything the raw server was sent."""
    out = []
    for line in container.logs().decode().splitlines():
        if line.startswith("got "):
            _, port, data = line.split()
            out.append((int(port), bytes.fromhex(data)))
    return out


def gate_decisions(client: docker.DockerClient, bottle_id: str) -> list[dict]:
    gate = client.containers.list(
        filters={"label": [f"dev.claude-bottle.id={bottle_id}", "dev.claude-bottle.role=egress"]}
    )
    lines = gate[0].logs().decode().splitlines()
    return [json.loads(line) for line in lines if line.startswith("{") and '"decision"' in line]
