"""The gate's config and forwarder commands. The forwarding itself is tested end to end (tests/)."""

from __future__ import annotations

import json

import pytest
from ssh_gate import GateConfig, socat_argv
from ssh_gate._config import ConfigError

DATA = {"bottle": "b", "forwards": [{"alias": "gitea", "listen": 2201, "host": "gitea.example.com", "port": 30009}]}


def test_config_reads_forwards_and_the_subnet(tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps(DATA))
    config = GateConfig.load(path, {"BOTTLE_AGENT_SUBNET": "172.20.0.0/16"})
    assert config.allow_from == "172.20.0.0/16"
    assert [(f.alias, f.listen, f.host, f.port) for f in config.forwards] == [
        ("gitea", 2201, "gitea.example.com", 30009)
    ]


@pytest.mark.parametrize("subnet", ["", "not-a-net", "172.20.0.1/16"])
def test_without_a_valid_subnet_the_gate_refuses_to_serve(subnet):
    with pytest.raises(ConfigError, match="BOTTLE_AGENT_SUBNET"):
        GateConfig.from_data(DATA, {"BOTTLE_AGENT_SUBNET": subnet})


def test_repeated_listen_ports_are_refused():
    data = {"forwards": DATA["forwards"] * 2}
    with pytest.raises(ConfigError, match="repeat"):
        GateConfig.from_data(data, {"BOTTLE_AGENT_SUBNET": "10.0.0.0/8"})


def test_socat_serves_the_subnet_only_and_never_times_out_idle_sessions():
    config = GateConfig.from_data(DATA, {"BOTTLE_AGENT_SUBNET": "172.20.0.0/16"})
    argv = socat_argv(config.forwards[0], config.allow_from)
    assert argv[0] == "socat" and "-T" not in argv
    assert "range=172.20.0.0/16" in argv[-2].split(",")
    assert argv[-1] == "TCP:gitea.example.com:30009,connect-timeout=10"
