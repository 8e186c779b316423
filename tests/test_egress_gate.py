"""The egress gate against a real TLS upstream, with the agent image's real clients (Node and
curl): interception with the bottle's own CA, SNI and Host checks, SSRF and IP literals,
secret scanning, passthrough and streamed responses."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import random
import secrets
import string
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_helpers import bottle_launch, launch_detached, search_everywhere

# CONNECT through the proxy, then TLS with the SNI we choose, then one HTTPS request; prints
# "<status> <issuer CN> <body>". Node's own modules only: the agent image's Node, as Claude runs.
NODE = r"""
const http = require('http'), tls = require('tls');
const [host, sni, path, hostHeader] = process.argv.slice(2);
const proxy = new URL(process.env.HTTPS_PROXY);
http.request({host: proxy.hostname, port: proxy.port, method: 'CONNECT', path: `${host}:443`})
  .on('connect', (res, socket) => {
    if (res.statusCode !== 200) { console.log(`${res.statusCode} - tunnel refused`); process.exit(0); }
    const secure = tls.connect({socket, servername: sni}, () => {
      const issuer = secure.getPeerCertificate().issuer.CN;
      const req = require('https').request({createConnection: () => secure, host, path,
        headers: {Host: hostHeader || host}}, (r) => {
        let body = ''; r.on('data', (c) => body += c);
        r.on('end', () => { console.log(`${r.statusCode} ${issuer} ${body.trim()}`); process.exit(0); });
      });
      req.end();
    });
    secure.on('error', (e) => { console.log(`TLS-ERROR ${e.code || e.message}`); process.exit(0); });
  }).end();
"""


OAUTH_TOKEN = "sk-ant-oat01-" + secrets.token_urlsafe(70)


def start(tmp_path: Path, upstream_network: str, ca_path: Path, egress: dict, env: dict | None = None) -> str:
    manifest = tmp_path / "claude-bottle.json"
    bottle = {"egress": egress, "env": env or {}}
    manifest.write_text(json.dumps({"bottles": {"eg": bottle}, "agents": {"tester": {"bottle": "eg"}}}))
    env = {"BOTTLE_EGRESS_UPSTREAM_CA": str(ca_path), "CLAUDE_BOTTLE_OAUTH_TOKEN": OAUTH_TOKEN}
    return launch_detached(manifest, upstream_network, env=env).stdout.strip()


@pytest.fixture(scope="module")
def secret() -> str:
    return "s3cr3t-" + base64.b32encode(__import__("os").urandom(10)).decode()


@pytest.fixture(scope="module")
def credential() -> str:
    return "cred-" + secrets.token_hex(16)


@pytest.fixture(scope="module")
def bottle(
    tmp_path_factory, upstream_network, upstream_subnet, test_ca, tls_upstream, secret, credential
) -> Iterator[str]:
    egress = {
        "allowlist": ["tls.test", "other.test", "passthrough.test"],
        "allow_cidrs": [upstream_subnet],
        "passthrough": ["passthrough.test"],
    }
    # API_TOKEN opts into every place a placeholder can be swapped (the default is headers only).
    api_token = {"value": credential, "hosts": ["tls.test"], "swap_in": ["headers", "url", "body"]}
    env = {"MY_TOKEN": secret, "API_TOKEN": api_token}
    bottle_id = start(tmp_path_factory.mktemp("eg"), upstream_network, test_ca[1], egress, env)
    yield bottle_id
    bottle_launch("stop", bottle_id)


def sh(bottle_id: str, script: str) -> subprocess.CompletedProcess[str]:
    return bottle_launch("exec", bottle_id, "--", "bash", "-c", script, timeout=120)


def node(bottle_id: str, host: str, sni: str, path: str = "/", host_header: str = "") -> str:
    encoded = base64.b64encode(NODE.encode()).decode()
    script = f"echo {encoded} | base64 -d > /tmp/c.js && node /tmp/c.js {host} {sni} {path} {host_header}"
    return sh(bottle_id, script).stdout.strip()


def test_https_is_intercepted_with_the_bottles_own_ca(bottle):
    out = node(bottle, "tls.test", "tls.test")
    assert out.startswith(f"200 claude-bottle eg {bottle} egress CA hello from tls.test over tls"), out
    curl = sh(bottle, "curl -sS https://tls.test/")  # curl trusts the bundle through CURL_CA_BUNDLE
    assert curl.stdout == "hello from tls.test over tls", curl.stderr


def test_an_sni_that_is_not_the_connect_host_is_refused(bottle, tls_upstream):
    before = len(tls_upstream.logs())  # the upstream is shared: only what this test caused counts
    out = node(bottle, "tls.test", "other.test")
    assert out.startswith("403 "), out
    assert "rule: sni-mismatch" in out
    # The gate opens upstream connections early, but never with a name it refuses.
    assert "sni other.test" not in tls_upstream.logs()[before:].decode()


def test_a_host_header_that_is_not_the_connect_host_is_refused(bottle):
    out = node(bottle, "tls.test", "tls.test", "/", "other.test")
    assert out.startswith("403 ") and "rule: host-mismatch" in out, out


def test_an_off_list_host_is_refused_at_connect(bottle):
    out = node(bottle, "blocked.test", "blocked.test")
    assert out == "403 - tunnel refused"


def test_a_secret_in_a_gzip_body_is_blocked_and_never_arrives(bottle, tls_upstream):
    aws = "AKIA" + "Q3EGZ7XK2LPN4RTV"
    body = base64.b64encode(gzip.compress(f'{{"note": "key {aws}"}}'.encode())).decode()
    script = (
        f"echo {body} | base64 -d > /tmp/body.gz && curl -sS -w ' %{{http_code}}' -X POST"
        " -H 'Content-Encoding: gzip' -H 'Content-Type: application/json' --data-binary @/tmp/body.gz"
        " https://tls.test/upload"
    )
    out = sh(bottle, script).stdout
    assert out.endswith(" 403"), out
    assert "rule: dlp:aws-access-key-id" in out and "in the body" in out
    assert aws not in out
    assert "/upload" not in tls_upstream.logs().decode()  # the upstream never saw the request


@pytest.mark.parametrize(
    ("where", "curl_args"),
    [
        ("url", "'https://tls.test/search?q=ghp_{tok}'"),
        ("header", "-H 'X-Note: ghp_{tok}' https://tls.test/"),
    ],
)
def test_a_token_in_the_url_or_a_header_is_blocked(bottle, where, curl_args):
    token = "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
    out = sh(bottle, f"curl -sS -w ' %{{http_code}}' {curl_args.format(tok=token)}").stdout
    assert out.endswith(" 403"), out
    assert "rule: dlp:github-token" in out and token not in out


def test_the_bottles_own_secret_may_go_to_an_allowlisted_host(bottle, secret, tls_upstream):
    out = sh(bottle, 'curl -sS -X POST --data "token=$MY_TOKEN" https://tls.test/own').stdout
    assert json.loads(out)["body"] == f"token={secret}"


def test_a_credential_never_enters_the_agent(bottle, credential):
    placeholder = sh(bottle, 'printf %s "$API_TOKEN"').stdout
    assert len(placeholder) == len(credential) and placeholder != credential
    assert sh(bottle, search_everywhere(credential)).stdout == ""


def test_claudes_token_is_a_placeholder_that_only_anthropic_hosts_would_get_swapped(bottle):
    placeholder = sh(bottle, 'printf %s "$CLAUDE_CODE_OAUTH_TOKEN"').stdout
    assert placeholder.startswith("sk-ant-oat01-") and len(placeholder) == len(OAUTH_TOKEN)
    assert placeholder != OAUTH_TOKEN
    assert sh(bottle, search_everywhere(OAUTH_TOKEN)).stdout == ""
    out = sh(bottle, 'curl -sS -H "Authorization: Bearer $CLAUDE_CODE_OAUTH_TOKEN" https://tls.test/').stdout
    assert "rule: dlp:credential" in out and "may go only to api.anthropic.com, platform.claude.com" in out, out
    assert "To allow it" not in out  # not something the manifest can change


def test_a_credential_is_swapped_in_only_for_its_own_host(bottle, credential, tls_upstream):
    request = (
        'curl -sS -w " %{{http_code}}" -X POST -H "Authorization: Bearer $API_TOKEN" --data "token=$API_TOKEN"'
        ' "https://{host}/{path}?t=$API_TOKEN"'
    )
    placeholder = sh(bottle, 'printf %s "$API_TOKEN"').stdout
    echoed = sh(bottle, request.format(host="tls.test", path="cred-own")).stdout
    # What the upstream received (its log), not its echo: the echo comes back masked.
    seen = next(json.loads(line) for line in tls_upstream.logs().decode().splitlines() if "/cred-own" in line)
    assert credential not in echoed and placeholder in echoed, echoed
    assert seen["path"] == f"/cred-own?t={credential}"
    headers = {name.lower(): value for name, value in seen["headers"].items()}  # curl speaks HTTP/2 to the gate
    assert headers["authorization"] == f"Bearer {credential}"
    assert seen["body"] == f"token={credential}"
    refused = sh(bottle, request.format(host="other.test", path="cred-other")).stdout
    assert refused.endswith(" 403") and "rule: dlp:credential" in refused, refused
    assert "credential API_TOKEN may go only to tls.test" in refused
    assert 'add "other.test" to bottles.eg.env.API_TOKEN.hosts' in refused
    upstream_saw = tls_upstream.logs().decode()
    assert "/cred-other" not in upstream_saw and placeholder not in upstream_saw


# A body over the gate's 4 MiB buffer limit streams through the scanner. Hex is used for filler:
# lowercase hex cannot form any token format, so only what a test plants can match.
FILLER = "node -e \"process.stdout.write('{text}'.repeat({n}))\""


def test_a_large_upload_streams_through_intact(bottle):
    script = (
        "node -e \"process.stdout.write(require('crypto').randomBytes(12e6).toString('hex'))\" > /tmp/big"
        " && sha256sum /tmp/big | cut -d' ' -f1 && stat -c %s /tmp/big"
        " && curl -sS --data-binary @/tmp/big https://tls.test/sink-length && echo"
        " && curl -sS -H 'Transfer-Encoding: chunked' --data-binary @/tmp/big https://tls.test/sink-chunked"
    )
    digest, size, by_length, chunked = sh(bottle, script).stdout.split("\n")
    assert by_length == chunked == f"{size} {digest}"


def test_a_secret_deep_in_a_large_upload_stops_it_before_it_completes(bottle, client, tls_upstream):
    aws = "AKIA" + "Q3EGZ7XK2LPN4RTV"
    filler = FILLER.format(text="0123456789abcdef", n=500_000)  # 8 MB either side
    script = (
        f"{{ {filler}; printf ' {aws} '; {filler}; }} > /tmp/leak"
        " && curl -sS -w ' %{http_code}' --data-binary @/tmp/leak https://tls.test/sink-leak"
    )
    out = sh(bottle, script)
    assert aws not in out.stdout + out.stderr
    assert not out.stdout.endswith(" 200"), out.stdout[-300:]
    upstream_saw = tls_upstream.logs().decode()
    assert "sink /sink-leak " not in upstream_saw  # the upstream never got a whole request
    gate_log = client.containers.get(f"bottle-tester-{bottle}-egress").logs().decode()
    assert '"rule":"dlp:aws-access-key-id"' in gate_log and '"path":"/sink-leak"' in gate_log


def test_a_placeholder_in_a_large_upload_is_swapped_as_it_streams(bottle, credential):
    placeholder = sh(bottle, 'printf %s "$API_TOKEN"').stdout
    filler = FILLER.format(text="0123456789abcdef", n=300_000)
    script = (
        f'{{ {filler}; printf %s "$API_TOKEN"; {filler}; }} > /tmp/swap'
        " && curl -sS --data-binary @/tmp/swap https://tls.test/sink-swap"
    )
    expected = ("0123456789abcdef" * 300_000 + credential + "0123456789abcdef" * 300_000).encode()
    assert sh(bottle, script).stdout == f"{len(expected)} {hashlib.sha256(expected).hexdigest()}"
    assert len(placeholder) == len(credential)


def test_a_high_entropy_query_value_is_blocked(bottle):
    # 40 distinct characters: log2(40) = 5.3 bits each, always above the 4.5 limit. Random base64
    # of that length fell below it in about 3% of draws, which made this test flaky.
    value = "".join(random.sample(string.ascii_letters + string.digits, 40))
    out = sh(bottle, f"curl -sS -w ' %{{http_code}}' 'https://tls.test/x?v={value}'").stdout
    assert out.endswith(" 403") and "rule: dlp:high-entropy-url" in out, out


def test_passthrough_is_not_intercepted(bottle, test_ca):
    out = node(bottle, "passthrough.test", "passthrough.test")
    # Not our CA: the agent does not trust the upstream's private CA, so the handshake fails ...
    assert out.startswith("TLS-ERROR"), out
    # ... and with that CA given explicitly, the upstream's own certificate is what arrives.
    pem = base64.b64encode(test_ca[0].cert_pem).decode()
    curl = sh(
        bottle, f"echo {pem} | base64 -d > /tmp/up.pem && curl -sS --cacert /tmp/up.pem https://passthrough.test/"
    )
    assert curl.stdout == "hello from passthrough.test over tls", curl.stderr


def test_server_sent_events_arrive_one_by_one(bottle):
    script = (
        'curl -sS -N https://tls.test/sse | while read -r line; do [ -n "$line" ] && echo "$(date +%s.%N) $line"; done'
    )
    lines = sh(bottle, script).stdout.splitlines()
    assert len(lines) == 4, lines
    arrived = [float(line.split()[0]) for line in lines]
    # Sent 0.4 s apart; buffered, they would all arrive together at the end.
    assert arrived[-1] - arrived[0] > 0.9, lines


def test_internal_addresses_need_allow_cidrs(tmp_path, upstream_network, test_ca, tls_upstream, client):
    bottle_id = start(tmp_path, upstream_network, test_ca[1], {"allowlist": ["tls.test"]})
    try:
        out = node(bottle_id, "tls.test", "tls.test")
        assert out == "403 - tunnel refused", out
        ip = client.containers.get(tls_upstream.id).attrs["NetworkSettings"]["Networks"][upstream_network]["IPAddress"]
        literal = sh(bottle_id, f"curl -sS -o /dev/null https://{ip}/")
        assert "CONNECT tunnel failed, response 403" in literal.stderr, literal.stderr
        gate_log = client.containers.get(f"bottle-tester-{bottle_id}-egress").logs().decode()
        assert '"rule":"internal-address"' in gate_log and '"rule":"ip-literal"' in gate_log
    finally:
        bottle_launch("stop", bottle_id)


def test_report_mode_lets_through_and_logs_what_enforce_would_block(tmp_path, upstream_network, upstream_subnet,
                                                                    test_ca, tls_upstream, client):  # fmt: skip
    egress = {"allowlist": ["tls.test"], "allow_cidrs": [upstream_subnet], "mode": "report"}
    manifest = tmp_path / "claude-bottle.json"
    manifest.write_text(json.dumps({"bottles": {"eg": {"egress": egress}}, "agents": {"tester": {"bottle": "eg"}}}))
    preview = bottle_launch("plan", "tester", "--manifest", str(manifest), "--json")
    assert json.loads(preview.stdout)["egress"]["mode"] == "report"
    bottle_id = start(tmp_path, upstream_network, test_ca[1], egress)
    try:
        out = node(bottle_id, "other.test", "other.test")  # not on the allowlist
        assert out.startswith("200 ") and "hello from other.test" in out, out
        gate_log = client.containers.get(f"bottle-tester-{bottle_id}-egress").logs().decode()
        assert '"host":"other.test"' in gate_log and '"decision":"would-block"' in gate_log
    finally:
        bottle_launch("stop", bottle_id)


def test_the_preflight_shows_report_mode_loudly(tmp_path, upstream_network, upstream_subnet):
    manifest = tmp_path / "claude-bottle.json"
    egress = {"mode": "report"}
    manifest.write_text(json.dumps({"bottles": {"eg": {"egress": egress}}, "agents": {"tester": {"bottle": "eg"}}}))
    # No terminal and no --yes: the preflight is shown, then the launch is refused.
    result = bottle_launch("tester", "--manifest", str(manifest), "--", "true", stdin=subprocess.DEVNULL)
    assert "EGRESS REPORT MODE: nothing is blocked." in result.stderr
    assert result.returncode == 1
