"""The ssh gate's part of the plan: pure data, checked without Docker."""

from __future__ import annotations

from dataclasses import replace
from ipaddress import ip_address, ip_network

from bottle_launcher.plan import LaunchOptions, Plan, SshRemote, build_runtime_plan, gate_fence_script
from bottle_launcher.plan._ssh import forwards, key_alias, known_hosts_line, ssh_config

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBciZoELc2LK1yk7EfOI5C31dP5Wa2s+Nq9gA4f/kEiA"


def remote(host: str = "gitea", port: int = 22, key_host: str | None = "gitea.example.com") -> SshRemote:
    line = f"{key_host} {KEY}" if key_host else KEY
    return SshRemote(host, "gitea.example.com", port, "git", line, "~/.ssh/id", (("gitea.example.com", "10.0.0.5"),))


def plan(*remotes: SshRemote) -> Plan:
    return Plan("a", "b", (), (), (), None, tuple(remotes), (), ("api.anthropic.com",))


def test_the_pinned_name_is_the_manifest_host_field_verbatim():
    assert key_alias(remote(key_host="gitea")) == "gitea"
    assert key_alias(remote(key_host="gitea.example.com")) == "gitea.example.com"
    assert key_alias(remote(port=30009, key_host="[gitea.example.com]:30009")) == "[gitea.example.com]:30009"
    assert key_alias(remote(key_host="a.example,b.example")) == "a.example"


def test_a_key_without_a_host_field_is_pinned_under_the_upstream_address():
    assert known_hosts_line(remote(key_host=None)) == f"gitea.example.com {KEY}"
    assert known_hosts_line(remote(port=30009, key_host=None)) == f"[gitea.example.com]:30009 {KEY}"


def test_ssh_config_points_each_alias_at_its_own_gate_port():
    config = ssh_config(plan(remote(), remote("other", key_host="other")), "/run/bottle")
    first, second, catch_all = config.split("\n\n")
    assert first.splitlines() == [
        "Host gitea gitea.example.com",
        "  HostName ssh-gate",
        "  Port 2201",
        "  User git",
        "  HostKeyAlias gitea.example.com",
        "  StrictHostKeyChecking yes",
        "  UserKnownHostsFile /home/claude/.ssh/known_hosts.pinned",
        "  GlobalKnownHostsFile /dev/null",
        "  IdentityFile /run/bottle/ssh/gitea",
        "  IdentitiesOnly yes",
    ]
    assert "  Port 2202" in second.splitlines()
    assert "  IdentityFile /run/bottle/ssh/other" in second.splitlines()
    assert catch_all.startswith("Host *\n")


def test_the_gate_exists_only_for_bottles_with_ssh_and_the_fence_opens_its_ports_only():
    without = build_runtime_plan(plan(), LaunchOptions(bottle_id="x"))
    assert [s.role for s in without.sidecars] == ["egress"]
    with_ssh = build_runtime_plan(plan(remote(), remote("other", key_host="other")), LaunchOptions(bottle_id="x"))
    gate = next(s for s in with_ssh.sidecars if s.role == "ssh")
    assert gate.ports == (2201, 2202)
    assert gate.extra_hosts == {"gitea.example.com": "10.0.0.5"}
    assert [f.listen for f in forwards(with_ssh.plan)] == [2201, 2202]
    agent_files = {f.path: f for f in with_ssh.agent.files}
    assert agent_files[".ssh/config"].mode == 0o600
    # No private key is ever part of the plan: identities travel only at handover.
    assert all(b"PRIVATE KEY" not in f.content for f in with_ssh.agent.files)


def test_every_gate_is_fenced_from_internal_addresses_but_those_allow_cidrs_grant():
    granted = replace(plan(remote()), egress_allow_cidrs=("10.0.0.5/32",))
    runtime = build_runtime_plan(granted, LaunchOptions(bottle_id="x"))
    assert runtime.agent.denied == ()  # the agent has a fence of its own: its gates' ports only
    for gate in runtime.sidecars:
        assert "172.16.0.0/12" in gate.denied and "169.254.0.0/16" in gate.denied and "fc00::/7" in gate.denied
        assert "10.0.0.0/8" not in gate.denied and "10.0.0.4/32" in gate.denied  # the hole, and around it
        assert not any(ip_address("10.0.0.5") in ip_network(r) for r in gate.denied)
    script = gate_fence_script(runtime.sidecars[0].denied)
    v4, v6 = script.split("ip6tables-restore")
    assert "-A OUTPUT -d 172.16.0.0/12 -j REJECT" in v4 and "fc00::/7" not in v4
    assert "-A OUTPUT -d fc00::/7 -j REJECT" in v6 and "172.16.0.0/12" not in v6
    # Loopback (Docker's DNS) and replies to the agent come before any refusal.
    assert v4.index("-o lo -j ACCEPT") < v4.index("REJECT") and v4.index("ESTABLISHED") < v4.index("REJECT")
