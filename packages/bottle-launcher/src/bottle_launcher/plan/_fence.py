"""Network fences: the iptables rules a short-lived helper (holding NET_ADMIN, under runc) writes
into a container's network namespace before that container's own process may use it.

Two kinds. The agent may reach its own gates' ports and nothing else. A gate may reach anything
public, and no internal address (private, loopback, link-local, CGNAT, multicast, the Docker host's
gateway) unless the bottle's `allow_cidrs` grants it: a second line behind each gate's own checks,
so a gate that is tricked (rebinding, a redirect, a bug in mitmproxy) still cannot reach the host
or the machine's neighbours.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any

# Addresses that are not the internet. The egress gate's SSRF check, pipelock's and the gates'
# fences all use this one list; `allow_cidrs` cuts holes in it.
INTERNAL_RANGES = (
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.0.0.0/24",
    "192.168.0.0/16",
    "198.18.0.0/15",
    "224.0.0.0/4",
    "240.0.0.0/4",
    "::1/128",
    "::/128",
    "::ffff:0:0/96",
    "fc00::/7",
    "fe80::/10",
    "ff00::/8",
)


def internal_ranges(allow_cidrs: Iterable[str]) -> list[str]:
    """INTERNAL_RANGES with every allow_cidrs range cut out of them."""
    remaining = [ipaddress.ip_network(r) for r in INTERNAL_RANGES]
    for hole in (ipaddress.ip_network(c) for c in allow_cidrs):
        pieces: list[Any] = []
        for network in remaining:
            if network.version != hole.version or not network.overlaps(hole):
                pieces.append(network)
            elif not hole.supernet_of(network):
                pieces.extend(network.address_exclude(hole))
        remaining = pieces
    return [str(n) for n in sorted(remaining, key=lambda n: (n.version, n.network_address, n.prefixlen))]


def _script(ipv4: list[str], ipv6: list[str]) -> str:
    # One iptables-restore per family: each is one transaction, so a failure cannot leave half a
    # fence, and one process instead of one per rule (35 ms of the helper's 205 ms, measured).
    lines = ["set -e", "iptables-restore <<'RULES'", *ipv4, "RULES"]
    lines += ["if [ -e /proc/net/if_inet6 ]; then", "ip6tables-restore <<'RULES'", *ipv6, "RULES", "fi"]
    return "\n".join([*lines, "echo fenced"])


def agent_fence_script(allowed: list[tuple[str, int]]) -> str:
    """The agent's namespace: loopback, replies, and its own gates' ports only."""
    ipv4 = [
        "*filter",
        ":INPUT DROP [0:0]",
        ":FORWARD DROP [0:0]",
        ":OUTPUT DROP [0:0]",
        "-A INPUT -i lo -j ACCEPT",
        "-A OUTPUT -o lo -j ACCEPT",
        "-A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT",
        "-A OUTPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT",
        *(f"-A OUTPUT -d {ipaddress.IPv4Address(ip)}/32 -p tcp --dport {int(port)} -j ACCEPT" for ip, port in allowed),
        "COMMIT",
    ]
    # No IPv6 route is allowed at all; where the namespace has IPv6, close it the same way.
    ipv6 = ["*filter", ":INPUT DROP [0:0]", ":FORWARD DROP [0:0]", ":OUTPUT DROP [0:0]"]
    ipv6 += ["-A INPUT -i lo -j ACCEPT", "-A OUTPUT -o lo -j ACCEPT", "COMMIT"]
    return _script(ipv4, ipv6)


def gate_fence_script(denied: Iterable[str], resolvers: Iterable[str] = ()) -> str:
    """A gate's namespace: no new connection to a `denied` range (see internal_ranges). Loopback
    stays open (Docker's DNS answers on 127.0.0.11), and so do replies to the agents it serves.
    Refused rather than dropped, so a gate's dial fails at once with "connection refused".

    `resolvers`: the DNS servers the engine's DNS forwards to. It forwards from the container's
    own namespace, and they are often internal (a router, a corporate resolver): their port 53
    stays open, or every name a gate resolves waits out a timeout and fails (10 s, measured)."""
    ranges = [ipaddress.ip_network(r) for r in denied]
    rules: dict[int, list[str]] = {4: [], 6: []}
    for resolver in resolvers:
        address = ipaddress.ip_address(resolver)
        for protocol in ("udp", "tcp"):
            rules[address.version].append(f"-A OUTPUT -d {address} -p {protocol} --dport 53 -j ACCEPT")
    for network in ranges:
        rules[network.version].append(f"-A OUTPUT -d {network} -j REJECT")
    head = ["*filter", ":INPUT ACCEPT [0:0]", ":FORWARD DROP [0:0]", ":OUTPUT ACCEPT [0:0]"]
    head += ["-A OUTPUT -o lo -j ACCEPT", "-A OUTPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT"]
    return _script([*head, *rules[4], "COMMIT"], [*head, *rules[6], "COMMIT"])
