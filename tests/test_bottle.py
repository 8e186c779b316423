"""A real bottle on a real engine: what the agent can and cannot reach, where its secrets are,
and that nothing is left when it ends."""

from __future__ import annotations

import http.server
import json
import secrets
import subprocess
import threading
from collections.abc import Iterator

import pytest
from e2e_helpers import bottle_launch, launch_detached, launch_yes, leftovers


def start_detached(manifest, upstream_network, secret: str) -> str:
    return launch_detached(manifest, upstream_network, env={"E2E_SECRET": secret}).stdout.strip()


def in_bottle(bottle_id: str, script: str) -> subprocess.CompletedProcess[str]:
    return bottle_launch("exec", bottle_id, "--", "sh", "-c", script, timeout=60)


@pytest.fixture
def bottle(client, images, manifest, upstream_network) -> Iterator[tuple[str, str]]:
    secret = "e2e-" + secrets.token_hex(16)
    bottle_id = start_detached(manifest, upstream_network, secret)
    try:
        yield bottle_id, secret
    finally:
        bottle_launch("stop", bottle_id)


@pytest.fixture(scope="module")
def host_server() -> Iterator[int]:
    """A server on the host's 0.0.0.0: a bottle must not reach it."""
    server = http.server.ThreadingHTTPServer(("0.0.0.0", 0), http.server.SimpleHTTPRequestHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()


def curl(url: str, *flags: str) -> str:
    return f"curl -sS -m 5 -o /dev/null -w '%{{http_code}}' {' '.join(flags)} {url}"


def test_allowlisted_upstream_answers_through_the_proxy(bottle):
    bottle_id, _ = bottle
    result = in_bottle(bottle_id, "curl -sS -m 10 http://allowed.test/")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "hello from upstream allowed.test"


def test_host_off_the_allowlist_gets_403_naming_the_fix(bottle):
    bottle_id, _ = bottle
    plain = in_bottle(bottle_id, "curl -sS -m 10 -w ' %{http_code}' http://blocked.test/")
    assert plain.stdout.endswith(" 403")
    assert "blocked.test is not on the allowlist of bottle 'e2e'" in plain.stdout
    assert 'add "blocked.test" to bottles.e2e.egress.allowlist' in plain.stdout
    tunnel = in_bottle(bottle_id, curl("https://blocked.test/"))
    assert "CONNECT tunnel failed, response 403" in tunnel.stderr


def test_direct_connections_fail(bottle, client, upstream_network):
    bottle_id, _ = bottle
    server = client.containers.get(f"{upstream_network}-server")
    upstream_ip = server.attrs["NetworkSettings"]["Networks"][upstream_network]["IPAddress"]
    for url in (f"http://{upstream_ip}/", "http://1.1.1.1/", "http://allowed.test/"):
        result = in_bottle(bottle_id, curl(url, "--noproxy '*'"))
        assert result.returncode != 0, (url, result.stdout)
        assert result.stdout == "000"


def test_host_is_unreachable_through_gateway_and_docker0(bottle, client, host_server, images):
    bottle_id, _ = bottle
    network = client.networks.get(f"bottle-tester-{bottle_id}-internal")
    gateway = network.attrs["IPAM"]["Config"][0]["Gateway"]
    # Control: without the fence, an internal network does reach the host (measured here).
    control = client.networks.create(f"bottle-test-control-{bottle_id}", internal=True)
    try:
        control_gateway = client.networks.get(control.id).attrs["IPAM"]["Config"][0]["Gateway"]
        probe = client.containers.run(
            images["agent"],
            entrypoint=[
                "curl",
                "-sS",
                "-m",
                "5",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                f"http://{control_gateway}:{host_server}/",
            ],
            network=control.name,
            detach=True,
        )
        probe.wait(timeout=30)
        out = probe.logs(stderr=False)
        probe.remove(force=True)
        assert out == b"200", "control container could not reach the host server; the test below proves nothing"
    finally:
        control.remove()
    for address in (gateway, "172.17.0.1"):
        result = in_bottle(bottle_id, curl(f"http://{address}:{host_server}/", "--noproxy '*'"))
        assert result.stdout == "000", (address, result.stdout)
        assert result.returncode != 0


def test_secret_is_inside_but_not_in_docker_config_or_disk(bottle, client):
    bottle_id, secret = bottle
    result = in_bottle(bottle_id, 'printf %s "$BOTTLE_SECRET"; test -z "$(ls -A /run/bottle)" && echo " handover-gone"')
    assert result.stdout == f"{secret} handover-gone\n"
    for container in client.containers.list(filters={"label": f"dev.claude-bottle.id={bottle_id}"}):
        inspected = subprocess.run(["docker", "inspect", container.id], capture_output=True, text=True).stdout
        assert secret not in inspected
        assert "visible" not in inspected  # even literal values are handed over, not configured
    grep = subprocess.run(
        ["grep", "-r", "-l", "-s", "--binary-files=text", secret, "/var/lib/docker"], capture_output=True, text=True
    )
    assert grep.stdout == "", f"secret found on disk: {grep.stdout}"
    # and never on any process's argv, inside the bottle
    argv = in_bottle(bottle_id, "cat /proc/[0-9]*/cmdline | tr '\\0' ' '")
    assert secret not in argv.stdout


def test_agent_holds_no_capabilities(bottle):
    bottle_id, _ = bottle
    result = in_bottle(bottle_id, "grep -E '^Cap(Eff|Prm|Bnd)' /proc/self/status; id -u")
    assert result.stdout.split() == [
        "CapPrm:",
        "0000000000000000",
        "CapEff:",
        "0000000000000000",
        "CapBnd:",
        "0000000000000000",
        "1000",
    ]


def test_exec_passes_the_exit_code_through(bottle):
    bottle_id, _ = bottle
    assert in_bottle(bottle_id, "exit 7").returncode == 7


def test_ps_lists_and_stop_removes_everything(client, images, manifest, upstream_network):
    bottle_id = start_detached(manifest, upstream_network, "x")
    listed = bottle_launch("ps", "--json")
    import json

    rows = {row["id"]: row for row in json.loads(listed.stdout)}
    assert rows[bottle_id]["agent"] == "tester"
    assert rows[bottle_id]["state"] == "running"
    assert {c["role"] for c in rows[bottle_id]["containers"]} == {"agent", "egress"}
    assert leftovers(client, bottle_id)
    stopped = bottle_launch("stop", bottle_id)
    assert stopped.returncode == 0
    assert leftovers(client, bottle_id) == []
    # the upstream network given with --egress-network is the user's, and stays
    assert client.networks.get(upstream_network)


def test_two_bottles_cannot_reach_each_other(client, images, manifest, upstream_network):
    first = start_detached(manifest, upstream_network, "a")
    second = start_detached(manifest, upstream_network, "b")
    try:
        assert first != second
        other = client.containers.get(f"bottle-tester-{second}-egress")
        other_agent = client.containers.get(f"bottle-tester-{second}-agent")
        for container in (other, other_agent):
            for address in container.attrs["NetworkSettings"]["Networks"].values():
                if address["IPAddress"]:
                    result = in_bottle(first, curl(f"http://{address['IPAddress']}:8888/", "--noproxy '*'"))
                    assert result.stdout == "000", address["IPAddress"]
    finally:
        bottle_launch("stop", first)
        bottle_launch("stop", second)


def test_granted_skills_are_copied_and_others_are_not(client, images, tmp_path, upstream_network):
    project = tmp_path / "project"
    home = tmp_path / "home"
    (project / ".claude/skills/review/scripts").mkdir(parents=True)
    (project / ".claude/skills/review/SKILL.md").write_text("---\nname: review\n---\nproject copy\n")
    (project / ".claude/skills/review/scripts/run.sh").write_text("echo run\n")
    (home / ".claude/skills/notes").mkdir(parents=True)
    (home / ".claude/skills/notes/SKILL.md").write_text("home copy\n")
    (home / ".claude/skills/secret-skill").mkdir(parents=True)
    (home / ".claude/skills/secret-skill/SKILL.md").write_text("not granted\n")
    manifest = project / "claude-bottle.json"
    manifest.write_text(
        '{"bottles": {"e2e": {}}, "agents": {"tester": {"bottle": "e2e", "skills": ["review", "notes"]}}}'
    )
    result = bottle_launch(
        "tester",
        "--yes",
        "--detach",
        "--egress-network",
        upstream_network,
        "--",
        "sleep",
        "infinity",
        cwd=project,
        env={"HOME": str(home)},
    )
    assert result.returncode == 0, result.stderr
    bottle_id = result.stdout.strip()
    try:
        listing = in_bottle(bottle_id, "cd ~/.claude/skills && find . -type f | sort && cat */SKILL.md")
        assert listing.stdout.splitlines() == [
            "./notes/SKILL.md",
            "./review/SKILL.md",
            "./review/scripts/run.sh",
            "home copy",
            "---",
            "name: review",
            "---",
            "project copy",
        ]
        # `stat` fails under gVisor (no statx); find's -printf does not use it.
        owners = in_bottle(bottle_id, "find ~/.claude -printf '%u\\n' | sort -u")
        assert owners.stdout == "claude\n", owners.stderr
    finally:
        bottle_launch("stop", bottle_id)


def test_bottles_run_under_gvisor_when_it_is_registered(client, bottle):
    runtimes = client.info().get("Runtimes") or {}
    if "runsc" not in runtimes:
        pytest.skip("gVisor (runsc) is not registered with this engine; scripts/ensure-docker registers it")
    bottle_id, _ = bottle
    for container in client.containers.list(filters={"label": f"dev.claude-bottle.id={bottle_id}"}):
        assert container.attrs["HostConfig"]["Runtime"] == "runsc", container.name
    # The kernel the agent sees is gVisor's, not the host's.
    assert "gVisor" in in_bottle(bottle_id, "dmesg").stdout


def test_when_a_bottle_ends_it_lists_the_hosts_its_gate_refused(images, manifest, upstream_network):
    script = "curl -s -o /dev/null http://blocked.test/; curl -s -o /dev/null http://allowed.test/"
    result = launch_yes(manifest, upstream_network, ("sh", "-c", script), env={"E2E_SECRET": "s"})
    assert result.returncode == 0, result.stderr
    assert "egress refused during this session:" in result.stderr
    expected = 'blocked.test  [not-allowlisted]  to allow: add "blocked.test" to bottles.e2e.egress.allowlist'
    assert expected in result.stderr
    assert "allowed.test" not in result.stderr.split("egress refused during this session:")[1]


def test_logs_show_the_gates_decisions(bottle):
    bottle_id, _ = bottle
    in_bottle(
        bottle_id, "curl -s -o /dev/null http://blocked.test/x?token=abc; curl -s -o /dev/null http://allowed.test/"
    )
    text = bottle_launch("logs", bottle_id, "--egress")
    assert text.returncode == 0, text.stderr
    assert 'block       GET     blocked.test/x  [not-allowlisted]  to allow: add "blocked.test"' in text.stdout
    assert "allow       GET     allowed.test/  [allowed]" in text.stdout
    assert "token=abc" not in text.stdout  # queries are where tokens travel: never logged
    records = [json.loads(line) for line in bottle_launch("logs", bottle_id, "--egress", "--json").stdout.splitlines()]
    decisions = [r for r in records if r["event"] == "decision"]
    assert {"time", "bottle", "method", "host", "path", "decision", "rule", "hint"} <= set(decisions[0])
    assert bottle_launch("logs", "no-such-bottle").returncode == 1
