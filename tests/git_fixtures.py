"""A bottle with a git gate in front of a real sshd+git upstream, shared by the git gate's test
modules (`pytest_plugins = ["git_fixtures"]`): each module gets its own upstream and bottle."""

from __future__ import annotations

import base64
import json
import secrets
import string
import subprocess
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
from e2e_helpers import LABEL, bottle_launch, launch_detached
from upstreams import KeyPair, Sshd, start_sshd

REPO = "demo/app"
GIT = "git -c user.name=agent -c user.email=agent@test"
COMMIT = f"{GIT} commit -q"
GATE_CONFIG = "/etc/git-gate/config.json"


def github_token() -> str:
    """A token in GitHub's format (gitleaks rule github-pat); random, so never a real one."""
    return "ghp_" + "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(36))


@pytest.fixture(scope="module")
def key() -> KeyPair:
    return KeyPair.generate()


@pytest.fixture(scope="module")
def forge(client, images, sshd_image, upstream_network, key) -> Iterator[Sshd]:
    # The forced command lets a test make upstream move just before a push arrives.
    authorized = [f'command="/usr/local/bin/git-wrap" {key.public}']
    sshd = start_sshd(client, sshd_image, upstream_network, "forge.test", authorized, repos=(REPO,))
    yield sshd
    sshd.container.remove(force=True)


def git_bottle(folder: Path, key: KeyPair, forge: Sshd, subnet: str) -> dict:
    """A bottle with one git entry for the forge's REPO, its identity written into `folder`."""
    identity = folder / "id_forge"
    identity.write_bytes(key.private)
    entry = {
        "Host": "forge",
        "Hostname": "forge.test",
        "User": "git",
        "IdentityFile": str(identity),
        "KnownHostKey": f"forge.test {forge.host_key}",
        "Repos": [REPO],
    }
    # forge.test has a private address: the gate may dial it only where allow_cidrs says so.
    return {"git": [entry], "egress": {"allow_cidrs": [subnet]}}


@pytest.fixture(scope="module")
def bottle(tmp_path_factory, key, forge, upstream_network, upstream_subnet) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("git")
    manifest = folder / "claude-bottle.json"
    bottle = git_bottle(folder, key, forge, upstream_subnet)
    manifest.write_text(json.dumps({"bottles": {"git": bottle}, "agents": {"tester": {"bottle": "git"}}}))
    result = launch_detached(manifest, upstream_network)
    assert f"{REPO} -> forge.test:22" in result.stderr  # the preflight names repo and host
    bottle_id = result.stdout.strip()
    yield bottle_id
    bottle_launch("stop", bottle_id)


def sh(bottle_id: str, script: str) -> subprocess.CompletedProcess[str]:
    return bottle_launch("exec", bottle_id, "--", "bash", "-c", script, timeout=300)


def upstream_ref(forge: Sshd, ref: str = "refs/heads/main") -> str:
    return forge.sh(f"git -C /srv/git/{REPO}.git rev-parse -q --verify {ref} || echo none").strip()


def upstream_refs(forge: Sshd) -> str:
    return forge.sh(f"git -C /srv/git/{REPO}.git for-each-ref --format='%(objectname) %(refname)'")


def upstream_has(forge: Sshd, oid: str) -> bool:
    return forge.sh(f"git -C /srv/git/{REPO}.git cat-file -e {oid} && echo yes || echo no").strip() == "yes"


@pytest.fixture
def work(bottle) -> str:
    """A fresh clone in the bottle, through the usual scp-like URL."""
    name = "w" + secrets.token_hex(4)
    result = sh(bottle, f"cd /tmp && git clone -q git@forge.test:{REPO}.git {name}")
    assert result.returncode == 0, result.stderr
    return f"/tmp/{name}"


def gate(client: docker.DockerClient, bottle_id: str) -> docker.models.containers.Container:
    (container,) = client.containers.list(filters={"label": [f"{LABEL}={bottle_id}", "dev.claude-bottle.role=git"]})
    return container


def set_gate_config(container: docker.models.containers.Container, config: dict[str, object]) -> None:
    """Rewrite the gate's config in place (as root: the launcher's file is root's). Every hook
    reads it afresh, so the next push sees it."""
    encoded = base64.b64encode(json.dumps(config).encode()).decode()
    write = f"import base64; open({GATE_CONFIG!r}, 'wb').write(base64.b64decode({encoded!r}))"
    code, out = container.exec_run(["python3", "-c", write], user="0")
    assert code == 0, out.decode(errors="replace")


@pytest.fixture
def gate_config(client, bottle) -> Iterator[dict[str, object]]:
    """The gate's config as the launcher wrote it; a test changes it with set_gate_config, and it
    is put back afterwards."""
    container = gate(client, bottle)
    code, out = container.exec_run(["cat", GATE_CONFIG])
    assert code == 0, out.decode(errors="replace")
    original = json.loads(out)
    yield original
    set_gate_config(container, original)
