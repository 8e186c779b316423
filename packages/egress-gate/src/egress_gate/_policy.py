"""Where a request may go: the allowlist, ports, SSRF destinations and one target per request.
Pure functions, each answering with a `Step`, so the gate and `bottle-launch check` say the same
words: a refused step's `detail` is the sentence in the gate's 403."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class Step:
    """One check of a request and its answer."""

    check: str  # which check: "allowlist", "port", "destination", "tls", "target", "url", "headers", "body", ...
    allowed: bool
    rule: str  # the allowlist entry that matched, or why nothing did; logged and named in a 403
    detail: str = ""  # what a person is told; for a refusal, the gate's 403 says exactly this
    hint: str | None = None  # the manifest change that would allow it, when the manifest can


def normalize(host: str) -> str:
    return host.strip().rstrip(".").lower()


def match(host: str, allowlist: list[str] | tuple[str, ...]) -> str | None:
    """The entry that allows `host`: the name itself, else the longest `*.x` over it (any
    subdomain of x). The most specific one, as an entry may carry method-and-path rules
    (`_routes.py`): `api.github.com` decides for itself even beside `*.github.com`."""
    host = normalize(host)
    found = None
    for entry in allowlist:
        if entry == host:
            return entry
        if entry.startswith("*.") and host.endswith(entry[1:]) and (found is None or len(entry) > len(found)):
            found = entry
    return found


DENIED = "denied"  # the rule of a refusal by a live `bottle-launch deny`


def decide(
    host: str, allowlist: list[str] | tuple[str, ...], bottle: str, denied: list[str] | tuple[str, ...] = ()
) -> Step:
    """The allowlist step. A live deny comes first: it takes a name off even where an entry (a
    wider `*.domain`, a default) would still match it. Its refusal names no manifest change: the
    manifest cannot undo a deny in a running bottle (`bottle-launch allow` can)."""
    name = normalize(host)
    taken_off = match(host, denied)
    if taken_off is not None:
        detail = f"{name} was taken off the allowlist of bottle {bottle!r} (bottle-launch deny {taken_off})"
        return Step("allowlist", False, DENIED, detail)
    entry = match(host, allowlist)
    if entry is not None:
        return Step("allowlist", True, f"allowlist:{entry}", f"matches {entry!r} on the allowlist")
    hint = f'add "{name}" to bottles.{bottle}.egress.allowlist'
    return Step("allowlist", False, "not-allowlisted", f"{name} is not on the allowlist of bottle {bottle!r}", hint)


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


def check_destination(host: str, addresses: list[str], allow_cidrs: tuple[str, ...], bottle: str) -> Step:
    """IP literals need a covering allow_cidrs range; names must not resolve into an internal
    range that no allow_cidrs entry covers."""
    networks = [ipaddress.ip_network(cidr) for cidr in allow_cidrs]
    literal = ip_literal(host)
    if literal is not None:
        covering = next((n for n in networks if literal in n), None)
        if covering is None:
            hint = f'add "{literal}/{literal.max_prefixlen}" to bottles.{bottle}.egress.allow_cidrs'
            return Step("destination", False, "ip-literal", f"{host} is an IP address outside the bottle's allow_cidrs",
                        hint)  # fmt: skip
        return Step("destination", True, f"allow_cidrs:{covering}", f"an IP address inside allow_cidrs ({covering})")
    for text in addresses:
        address = ipaddress.ip_address(text)
        if is_internal(address) and not any(address in n for n in networks):
            hint = f"add a range covering {address} to bottles.{bottle}.egress.allow_cidrs if {host} is internal"
            return Step("destination", False, "internal-address", f"{host} resolves to an internal address", hint)
    return Step("destination", True, "public-address", f"resolves to {', '.join(addresses)}")


def unresolvable(host: str) -> Step:
    """A name with no address: refused, as there is no address to check (or to connect to)."""
    return Step("destination", False, "unresolvable", f"{host} does not resolve")


# Ports a tunnel or plain-HTTP request may name unless the bottle declares more for a host:
# anything else (22 above all) would carry a protocol the gate cannot inspect.
DEFAULT_PORTS = (80, 443)


def check_port(host: str, port: int, ports: dict[str, tuple[int, ...]], bottle: str) -> Step:
    allowed = set(DEFAULT_PORTS)
    for entry, extra in ports.items():
        if match(host, (entry,)) is not None:
            allowed.update(extra)
    name = normalize(host)
    if port in allowed:
        return Step("port", True, f"port:{port}", f"port {port} is open for {name}")
    hint = f'add {port} to bottles.{bottle}.egress.ports["{name}"]'
    return Step("port", False, "port", f"port {port} is not open for {name}", hint)


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


_MISMATCHES = {
    "sni-mismatch": "the TLS name is not the tunnel's host",
    "authority-mismatch": "the request names another host than its tunnel's",
    "host-mismatch": "the Host header names another host than the request's target",
}


def target_disagreement(
    host: str, port: int, *, sni: str | None, authority: str, host_header: str | None
) -> Step | None:
    """Every name a request gives for where it goes must be the one it was admitted for (the
    CONNECT host inside a tunnel, the URL's host in plain HTTP): the TLS SNI, an absolute-form
    request target's authority and the Host header. A shared front end routes by any of them,
    so a disagreement would carry a credential to a host the bottle was never granted."""
    found = None
    if sni and normalize(sni) != host:
        found = "sni-mismatch"
    for rule, named in (("authority-mismatch", authority), ("host-mismatch", host_header or "")):
        if found or not named:
            continue
        named_host, named_port = split_authority(named)
        if named_host != host or (named_port is not None and named_port != port):
            found = rule
    return None if found is None else Step("target", False, found, f"{_MISMATCHES[found]} ({host!r})")


def check_target(host: str, port: int, *, sni: str | None, authority: str, host_header: str | None) -> Step:
    found = target_disagreement(host, port, sni=sni, authority=authority, host_header=host_header)
    return found or Step("target", True, "one-target", f"every name the request gives is {host}")
