"""The host allowlist. Pure functions, so the same rules can be checked without a proxy."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class Decision:
    allowed: bool
    rule: str  # the allowlist entry that matched, or why nothing did
    hint: str | None = None


def normalize(host: str) -> str:
    return host.strip().rstrip(".").lower()


def match(host: str, allowlist: list[str] | tuple[str, ...]) -> str | None:
    """The entry that allows `host`: an exact name, or `*.x` for any subdomain of x."""
    host = normalize(host)
    for entry in allowlist:
        if entry.startswith("*."):
            if host.endswith(entry[1:]):
                return entry
        elif host == entry:
            return entry
    return None


def decide(host: str, allowlist: list[str] | tuple[str, ...], bottle: str) -> Decision:
    entry = match(host, allowlist)
    if entry is not None:
        return Decision(True, f"allowlist:{entry}")
    name = normalize(host)
    return Decision(False, "not-allowlisted", f'add "{name}" to bottles.{bottle}.egress.allowlist')


# Ranges a name on the allowlist must not resolve into unless allow_cidrs says so (SSRF):
# loopback, RFC 1918 and ULA private, link-local (cloud metadata lives there), CGNAT, and the
# unspecified, reserved and multicast blocks.
_CGNAT = ipaddress.ip_network("100.64.0.0/10")


def is_internal(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_unspecified
        or address.is_reserved
        or address.is_multicast
        or (isinstance(address, ipaddress.IPv4Address) and address in _CGNAT)
    )


def ip_literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def check_destination(host: str, addresses: list[str], allow_cidrs: tuple[str, ...], bottle: str) -> Decision:
    """IP literals need a covering allow_cidrs range; names must not resolve into an internal
    range that no allow_cidrs entry covers."""
    networks = [ipaddress.ip_network(cidr) for cidr in allow_cidrs]
    literal = ip_literal(host)
    if literal is not None:
        covering = next((n for n in networks if literal in n), None)
        if covering is None:
            hint = f'add "{literal}/{literal.max_prefixlen}" to bottles.{bottle}.egress.allow_cidrs'
            return Decision(False, "ip-literal", hint)
        return Decision(True, f"allow_cidrs:{covering}")
    for text in addresses:
        address = ipaddress.ip_address(text)
        if is_internal(address) and not any(address in n for n in networks):
            hint = f"add a range covering {address} to bottles.{bottle}.egress.allow_cidrs if {host} is internal"
            return Decision(False, "internal-address", hint)
    return Decision(True, "public-address")


# Ports a tunnel or plain-HTTP request may name unless the bottle declares more for a host:
# anything else (22 above all) would carry a protocol the gate cannot inspect.
DEFAULT_PORTS = (80, 443)


def check_port(host: str, port: int, ports: dict[str, tuple[int, ...]], bottle: str) -> Decision:
    allowed = set(DEFAULT_PORTS)
    for entry, extra in ports.items():
        if match(host, (entry,)) is not None:
            allowed.update(extra)
    if port in allowed:
        return Decision(True, f"port:{port}")
    name = normalize(host)
    return Decision(False, "port", f'add {port} to bottles.{bottle}.egress.ports["{name}"]')


def split_authority(authority: str) -> tuple[str, int | None]:
    """`host`, `host:port`, `[v6]:port`, with any `userinfo@` dropped: (normalized host, port)."""
    rest = authority.rsplit("@", 1)[-1]
    if rest.startswith("["):
        host, _, tail = rest[1:].partition("]")
        port = tail[1:] if tail.startswith(":") else ""
    elif rest.count(":") == 1:
        host, port = rest.split(":")
    else:
        host, port = rest, ""
    if not port:
        return normalize(host), None
    return normalize(host), (int(port) if port.isdigit() else -1)  # -1: malformed, matches no port


def target_disagreement(
    host: str, port: int, *, sni: str | None, authority: str, host_header: str | None
) -> Decision | None:
    """Every name a request gives for where it goes must be the one it was admitted for (the
    CONNECT host inside a tunnel, the URL's host in plain HTTP): the TLS SNI, an absolute-form
    request target's authority and the Host header. A shared front end routes by any of them,
    so a disagreement would carry a credential to a host the bottle was never granted."""
    if sni and normalize(sni) != host:
        return Decision(False, "sni-mismatch")
    for rule, named in (("authority-mismatch", authority), ("host-mismatch", host_header or "")):
        if not named:
            continue
        named_host, named_port = split_authority(named)
        if named_host != host or (named_port is not None and named_port != port):
            return Decision(False, rule)
    return None
