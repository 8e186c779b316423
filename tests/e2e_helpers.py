"""Helpers the end-to-end tests import. Fixtures live in conftest.py; this module has a name of its
own so that one pytest run over every test folder imports the right one (each folder is put on
sys.path, and several have a conftest.py)."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

LABEL = "dev.claude-bottle.id"
HOST_GIT = ["git", "-c", "user.name=me", "-c", "user.email=me@test"]  # the person's git, on this machine


def host_git(repo: Path, *args: str) -> str:
    """git in a repository on this machine, as its owner; its output, stripped."""
    return subprocess.run(
        [*HOST_GIT, "-C", str(repo), *args], check=True, capture_output=True, text=True
    ).stdout.strip()


def launcher_command(*args: str, env: dict[str, str] | None = None) -> tuple[list[str], dict[str, str]]:
    """The argv and environment of `bottle-launch ARGS`, for every way a test runs it (to the end,
    in the background, at a pseudo-terminal): this interpreter's launcher, so the workspace's
    code, in the test process's environment with `env` over it."""
    return [sys.executable, "-m", "bottle_launcher", *args], {**os.environ, **(env or {})}


def bottle_launch(
    *args: str, env: dict[str, str] | None = None, timeout: float = 600, **kw
) -> subprocess.CompletedProcess[str]:
    """`bottle-launch ARGS` to its end, its output captured as text."""
    argv, full_env = launcher_command(*args, env=env)
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=full_env, **kw)


def launch_yes(
    manifest: Path, network: str, command: Sequence[str], *extra: str, env: dict[str, str] | None = None, **kw
) -> subprocess.CompletedProcess[str]:
    """`bottle-launch tester --manifest M --yes --egress-network N [extra] -- command`."""
    return bottle_launch(
        "tester", "--manifest", str(manifest), "--yes", "--egress-network", network, *extra, "--", *command,
        env=env, **kw,
    )  # fmt: skip


def launch_detached(
    manifest: Path, network: str, *extra: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`bottle-launch tester --yes --detach` running `sleep infinity`; asserts it started and
    printed a bottle id (stdout). The preflight is in stderr."""
    result = launch_yes(manifest, network, ("sleep", "infinity"), "--detach", *extra, env=env)
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.strip()) == 8, result.stdout
    return result


def leftovers(client, bottle_id: str) -> list[str]:
    containers = client.containers.list(all=True, filters={"label": f"{LABEL}={bottle_id}"})
    networks = client.networks.list(filters={"label": f"{LABEL}={bottle_id}"})
    volumes = client.volumes.list(filters={"label": f"{LABEL}={bottle_id}"})
    return [c.name for c in containers] + [n.name for n in networks] + [v.name for v in volumes]


def search_everywhere(text: str) -> str:
    """A script listing files that contain `text`. The text travels base64-encoded, so no
    process's argv (readable in /proc) holds it."""
    encoded = base64.b64encode(text.encode()).decode()
    return f"echo {encoded} | base64 -d > /tmp/pattern; grep -rlsF -f /tmp/pattern / | grep -v '^/tmp/pattern$'"
