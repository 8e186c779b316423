"""The pipelock engine end to end. pipelock is not packaged anywhere this machine can reach, so
this runs only where BOTTLE_PIPELOCK_IMAGE names an image the engine has (a user's machine, or
CI with a registry); otherwise it is skipped and says why. Its generated config is checked
without the image in packages/bottle-launcher/tests/test_pipelock_config.py."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator

import docker.errors
import pytest
from e2e_helpers import bottle_launch, launch_detached
from tls_upstream import make_test_ca, start_tls_upstream

IMAGE = os.environ.get("BOTTLE_PIPELOCK_IMAGE", "")


@pytest.fixture(scope="module", autouse=True)
def pipelock_image(client) -> str:
    if not IMAGE:
        pytest.skip("BOTTLE_PIPELOCK_IMAGE is not set: no pipelock image to run")
    try:
        client.images.get(IMAGE)
    except docker.errors.ImageNotFound:
        pytest.skip(f"BOTTLE_PIPELOCK_IMAGE={IMAGE} is not present in the engine")
    return IMAGE


@pytest.fixture(scope="module")
def bottle(tmp_path_factory, client, images, upstream_network, upstream_subnet) -> Iterator[str]:
    ca = make_test_ca()
    ca_path = tmp_path_factory.mktemp("ca") / "upstream-ca.pem"
    ca_path.write_bytes(ca.cert_pem)
    upstream = start_tls_upstream(client, images["egress"], upstream_network, ca)
    egress = {"backend": "pipelock", "allowlist": ["tls.test"], "allow_cidrs": [upstream_subnet]}
    manifest = tmp_path_factory.mktemp("pl") / "claude-bottle.json"
    manifest.write_text(json.dumps({"bottles": {"pl": {"egress": egress}}, "agents": {"tester": {"bottle": "pl"}}}))
    env = {"BOTTLE_EGRESS_UPSTREAM_CA": str(ca_path)}
    bottle_id = launch_detached(manifest, upstream_network, env=env).stdout.strip()
    yield bottle_id
    bottle_launch("stop", bottle_id)
    upstream.remove(force=True)


def sh(bottle_id: str, script: str) -> subprocess.CompletedProcess[str]:
    return bottle_launch("exec", bottle_id, "--", "bash", "-c", script, timeout=120)


def test_pipelock_lets_an_allowlisted_host_through_with_the_bottles_ca(bottle):
    out = sh(bottle, "curl -sS https://tls.test/")
    assert out.stdout == "hello from tls.test over tls", out.stderr


def test_pipelock_refuses_an_off_list_host_and_logs_our_decision_line(bottle, client):
    out = sh(bottle, "curl -sS -o /dev/null -w '%{http_code}' https://other.test/")
    assert out.stdout != "200"
    log = bottle_launch("logs", bottle, "--egress", "--json").stdout
    assert any(json.loads(line).get("host") == "other.test" for line in log.splitlines() if line.startswith("{"))


def test_pipelock_blocks_a_token_in_a_body(bottle):
    token = "ghp_" + "A1b2C3d4" * 5
    out = sh(bottle, f"curl -sS -o /dev/null -w '%{{http_code}}' -X POST --data 'k={token}' https://tls.test/x")
    assert out.stdout == "403", out.stdout


def test_the_generated_config_is_what_pipelock_reads(bottle, client):
    gate = client.containers.get(f"bottle-tester-{bottle}-egress")
    config = gate.exec_run(["cat", "/etc/egress-gate/pipelock.yaml"]).output.decode()
    assert 'mode: "strict"' in config and '"tls.test"' in config  # the gate came up with it (launch waits)
