"""Live allow and deny against a real bottle: `bottle-launch allow` lets the next request through
without a restart, while a kept-alive connection to another host stays open across the change;
`deny` closes a tunnel already open; `check <bottle-id>` answers as the running gate does, before
and after; the gate's 403 names the allow command; `logs --refused`; and `allow --save` writes
the host into the $HOME manifest the bottle came from, comments kept, so the next bottle has it.

One bottle for the module, started from a manifest in a $HOME of its own (no project file), so
the tests share its state and run in order: each uses hosts of its own where it can."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from e2e_helpers import bottle_launch
from egress_attacks import sh

# One kept-alive HTTPS connection through the proxy, for as long as the test wants it: a request,
# then, once the file GO exists, a second on the same TLS socket. Prints one JSON line per
# response (with the socket's local port, to show it is the same connection), and {"closed":
# true} if the connection closes first. Node's own modules only: the agent image's Node.
KEEP = r"""
const http = require('http'), tls = require('tls'), fs = require('fs');
const [host, first, second, go] = process.argv.slice(2);
const proxy = new URL(process.env.HTTPS_PROXY);
const say = (o) => console.log(JSON.stringify(o));
http.request({host: proxy.hostname, port: proxy.port, method: 'CONNECT', path: `${host}:443`})
  .on('connect', (res, socket) => {
    if (res.statusCode !== 200) { say({refused: res.statusCode}); process.exit(0); }
    const secure = tls.connect({socket, servername: host});
    let buffer = Buffer.alloc(0), waiter = null;
    const answer = () => {
      const end = buffer.indexOf('\r\n\r\n');
      if (!waiter || end < 0) return;
      const head = buffer.subarray(0, end).toString();
      const length = +((/content-length: *(\d+)/i.exec(head) || [0, 0])[1]);
      if (buffer.length < end + 4 + length) return;
      const body = buffer.subarray(end + 4, end + 4 + length).toString();
      buffer = buffer.subarray(end + 4 + length);
      const done = waiter; waiter = null;
      done({status: +head.split(' ')[1], body, port: secure.localPort});
    };
    secure.on('data', (d) => { buffer = Buffer.concat([buffer, d]); answer(); });
    secure.on('close', () => { say({closed: true}); process.exit(0); });
    secure.on('error', () => {});
    const get = (path) => new Promise((resolve) => {
      waiter = resolve;
      secure.write(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
    });
    secure.on('secureConnect', async () => {
      say(await get(first));
      const deadline = Date.now() + 90000;
      while (!fs.existsSync(go) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      say(await get(second));
      process.exit(0);
    });
  }).end();
"""

# The $HOME manifest: comments and trailing commas, as a person writes one.
MANIFEST = """{
  // my bottles, by hand
  "bottles": {
    "live": {
      "egress": {
        "allowlist": [
          "tls.test",     // the TLS test upstream
          "allowed.test", /* plain HTTP */
        ],
        "allow_cidrs": ["SUBNET",],
      },
    },
  },
  "agents": {"tester": {"bottle": "live",},},
}
"""


@dataclass(frozen=True)
class Bottle:
    id: str
    home: Path
    env: dict[str, str]
    cwd: Path

    def launch(self, *args: str, **kw):
        return bottle_launch(*args, env=self.env, cwd=self.cwd, **kw)


def _start(home: Path, cwd: Path, env: dict[str, str], network: str) -> str:
    result = bottle_launch("tester", "--yes", "--detach", "--egress-network", network, "--", "sleep", "infinity",
                           env=env, cwd=cwd)  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.fixture(scope="module")
def bottle(tmp_path_factory, upstream_network, upstream_subnet, test_ca, tls_upstream) -> Iterator[Bottle]:
    home = tmp_path_factory.mktemp("home")
    (home / "claude-bottle.json").write_text(MANIFEST.replace("SUBNET", upstream_subnet))
    cwd = tmp_path_factory.mktemp("elsewhere")  # no project file: the bottle comes from $HOME's
    env = {"HOME": str(home), "BOTTLE_EGRESS_UPSTREAM_CA": str(test_ca[1])}
    running = Bottle(_start(home, cwd, env, upstream_network), home, env, cwd)
    yield running
    running.launch("stop", running.id)


def curl(bottle: Bottle, url: str) -> str:
    """`<status> <body>` (status 000 when the gate refused the tunnel itself)."""
    script = f"rm -f /tmp/body; curl -sS -o /tmp/body -w '%{{http_code}}' {url} 2>/dev/null; echo -n ' '; cat /tmp/body"
    return sh(bottle.id, script).stdout


def check(bottle: Bottle, url: str) -> dict:
    result = bottle.launch("check", bottle.id, url, "--json", "--no-resolve")
    assert result.returncode in (0, 1), result.stderr
    return json.loads(result.stdout)


def keep_open(bottle: Bottle, name: str, host: str) -> str:
    """Start KEEP in the bottle in the background; wait for its first answer. Its output file."""
    encoded = base64.b64encode(KEEP.encode()).decode()
    out = f"/tmp/{name}.out"
    run = f"nohup node /tmp/{name}.js {host} /first /second /tmp/{name}.go > {out} 2>&1 &"
    started = sh(bottle.id, f"echo {encoded} | base64 -d > /tmp/{name}.js && ({run})")
    assert started.returncode == 0, started.stderr
    lines = wait_lines(bottle, out, 1)
    assert lines[0]["status"] == 200, lines
    return out


def wait_lines(bottle: Bottle, out: str, count: int, timeout: float = 30) -> list[dict]:
    deadline = time.monotonic() + timeout
    while True:
        text = sh(bottle.id, f"cat {out} 2>/dev/null || true").stdout
        lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
        if len(lines) >= count or time.monotonic() > deadline:
            return lines
        time.sleep(0.3)


def test_the_403_names_the_command_that_allows_the_host_now(bottle):
    out = curl(bottle, "http://blocked.test/")
    assert out.startswith("403 "), out
    assert "(rule: not-allowlisted)" in out and 'add "blocked.test" to bottles.live.egress.allowlist' in out
    assert f"To allow it now, a person can run on the host: bottle-launch allow {bottle.id} blocked.test" in out


def test_allow_lets_the_next_request_through_and_an_open_connection_survives(bottle):
    kept = keep_open(bottle, "kept", "tls.test")  # a connection to another host, open across the change
    assert curl(bottle, "https://other.test/").startswith("000 "), "refused before the allow"
    before = check(bottle, "https://other.test/")
    assert (before["decision"], before["rule"]) == ("block", "not-allowlisted")
    assert before["allow_now"] == f"bottle-launch allow {bottle.id} other.test"
    allowed = bottle.launch("allow", bottle.id, "other.test")
    assert allowed.returncode == 0, allowed.stderr
    assert f"bottle {bottle.id}: allowed other.test" in allowed.stdout
    assert curl(bottle, "https://other.test/") == "200 hello from other.test over tls"
    after = check(bottle, "https://other.test/")
    assert after["decision"] == "allow" and "`bottle-launch allow` added" in after["steps"][0]["detail"]
    sh(bottle.id, "touch /tmp/kept.go")
    first, second = wait_lines(bottle, kept, 2)
    assert second["status"] == 200 and second["port"] == first["port"], (first, second)  # the same connection
    shown = bottle.launch("logs", bottle.id, "--egress").stdout
    assert "+other.test" in shown and "policy" in shown


def test_deny_closes_a_tunnel_already_open_and_refuses_new_requests(bottle):
    assert bottle.launch("allow", bottle.id, "passthrough.test").returncode == 0
    out = keep_open(bottle, "denied", "passthrough.test")
    denied = bottle.launch("deny", bottle.id, "passthrough.test")
    assert denied.returncode == 0, denied.stderr
    assert f"bottle {bottle.id}: took off passthrough.test; closed 1 open tunnel" in denied.stdout
    lines = wait_lines(bottle, out, 2, timeout=10)
    assert lines[-1] == {"closed": True}, lines
    assert curl(bottle, "https://passthrough.test/").startswith("000 ")
    answer = check(bottle, "https://passthrough.test/")
    assert (answer["decision"], answer["rule"]) == ("block", "not-allowlisted")


def test_deny_refuses_a_host_the_manifest_allows_and_changes_nothing(bottle):
    refused = bottle.launch("deny", bottle.id, "tls.test")
    assert refused.returncode == 1
    assert "'tls.test' in bottles.live.egress.allowlist" in refused.stderr
    assert curl(bottle, "https://tls.test/") == "200 hello from tls.test over tls"


def test_logs_refused_shows_only_refusals(bottle):
    shown = bottle.launch("logs", bottle.id, "--refused").stdout.splitlines()
    assert shown and all(" block " in line or " would-block " in line for line in shown), shown
    assert any(
        "blocked.test" in line and f"now: bottle-launch allow {bottle.id} blocked.test" in line for line in shown
    )
    raw = bottle.launch("logs", bottle.id, "--refused", "--json").stdout.splitlines()
    assert raw and all(json.loads(line)["decision"] in ("block", "would-block") for line in raw)


def test_allow_save_writes_the_home_manifest_keeping_its_comments_and_the_next_bottle_has_it(bottle, upstream_network):
    saved = bottle.launch("allow", bottle.id, "blocked.test", "--save")
    assert saved.returncode == 0, saved.stderr
    manifest = bottle.home / "claude-bottle.json"
    assert f"{manifest}: added blocked.test in bottles.live.egress.allowlist" in saved.stdout
    text = manifest.read_text()
    assert "// my bottles, by hand" in text and "// the TLS test upstream" in text and "/* plain HTTP */" in text
    assert '"blocked.test",\n' in text
    assert bottle.launch("validate").returncode == 0
    assert curl(bottle, "http://blocked.test/") == "200 hello from upstream blocked.test"
    second = Bottle(_start(bottle.home, bottle.cwd, bottle.env, upstream_network), bottle.home, bottle.env, bottle.cwd)
    try:
        assert curl(second, "http://blocked.test/") == "200 hello from upstream blocked.test"
        assert curl(second, "https://other.test/").startswith("000 ")  # allowed live in the first bottle only
    finally:
        second.launch("stop", second.id)
