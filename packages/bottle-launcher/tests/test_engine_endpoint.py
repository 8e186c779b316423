"""Which engine the launcher talks to: found as the docker CLI finds it (DOCKER_HOST, then
DOCKER_CONTEXT, then the CLI's current context, then the local socket), and said to be local or
remote. No engine is contacted here; the remote engine itself is tests/test_remote_engine.py."""

from __future__ import annotations

import json

import pytest
from bottle_launcher.errors import LaunchError
from bottle_launcher.runtime.docker import Endpoint, find_endpoint
from docker.context import ContextAPI


@pytest.fixture()
def config(tmp_path, monkeypatch):
    """An empty docker CLI config folder of the test's own (docker-py finds contexts only beside
    a config.json)."""
    (tmp_path / "config.json").write_text("{}")
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    monkeypatch.delenv("DOCKER_CONTEXT", raising=False)
    return tmp_path


@pytest.mark.parametrize(
    ("url", "remote"),
    [
        ("unix:///var/run/docker.sock", False),
        ("tcp://127.0.0.1:2375", False),
        ("tcp://localhost:2376", False),
        ("tcp://[::1]:2376", False),
        ("tcp://10.1.2.3:2376", True),
        ("tcp://build-box.example:2376", True),
        ("ssh://me@build-box.example", True),
        ("ssh://me@localhost", True),  # another user's engine, or a VM's: not ours to assume
    ],
)
def test_an_engine_is_remote_unless_it_is_a_local_socket_or_loopback(url, remote):
    assert Endpoint(url, "DOCKER_HOST").remote is remote


def test_docker_host_wins_and_is_named_with_where_it_came_from(config):
    endpoint = find_endpoint({"DOCKER_HOST": "tcp://10.1.2.3:2376", "DOCKER_CONTEXT": "other"})
    assert (endpoint.url, endpoint.source) == ("tcp://10.1.2.3:2376", "DOCKER_HOST")
    line = endpoint.describe({"Name": "box", "ServerVersion": "27.5.1"})
    assert line == "box (Docker 27.5.1) at tcp://10.1.2.3:2376 (remote, from DOCKER_HOST)"


def test_without_a_host_or_context_it_is_the_local_socket(config):
    endpoint = find_endpoint({})
    assert not endpoint.remote and endpoint.source == "the local socket"


def test_a_context_is_read_from_docker_context_or_the_clis_current_one(config):
    ContextAPI.create_context("far", host="tcp://10.9.8.7:2376")
    named = find_endpoint({"DOCKER_CONTEXT": "far"})
    assert named.url.endswith("://10.9.8.7:2376")  # docker-py spells a context's tcp as http(s)
    assert (named.source, named.context, named.remote) == ("context far", "far", True)
    (config / "config.json").write_text(json.dumps({"currentContext": "far"}))
    assert find_endpoint({}) == named


def test_a_missing_context_is_a_clear_error(config):
    with pytest.raises(LaunchError, match="Docker context 'nowhere' does not exist"):
        find_endpoint({"DOCKER_CONTEXT": "nowhere"})


def test_an_ssh_transport_failure_is_an_error_with_a_hint_not_a_traceback(monkeypatch):
    """docker-py's ssh transport raises paramiko's own errors from any call; the one a stock sshd
    gives a bottle's start (more sessions at once than MaxSessions) is named with its fix."""
    import paramiko
    from bottle_launcher.cli import cli, lifecycle
    from click.testing import CliRunner

    def refuse() -> None:
        raise paramiko.ChannelException(2, "Connect failed")

    monkeypatch.setattr(lifecycle, "open_backend", refuse)
    result = CliRunner().invoke(cli, ["ps"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    said = "error: the ssh connection to the Docker engine failed: ChannelException(2, 'Connect failed')"
    assert said in result.output
    assert "MaxSessions 64" in result.output
