"""The egress gate (images/egress): where it listens, who it runs as, what the launcher writes
into /etc/egress-gate before it starts, and what it hands into its tmpfs at launch."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Self

from ._json import ContractError, dump, known_keys, load_object, strings

_CONFIG_KEYS = frozenset(
    {"bottle", "bottle_id", "allowlist", "port", "allow_cidrs", "passthrough", "upstream_ca", "mode", "ports", "rules"}
)
_LIVE_KEYS = frozenset({"allow", "deny", "serial", "by", "pid", "at"})

HOST = "egress-gate"  # the agent's name for it (and the proxy URL's host)
PORT = 8888
UID = 999
CONFIG_DIR = "/etc/egress-gate"
CONFIG_PATH = f"{CONFIG_DIR}/config.json"
UPSTREAM_CA_PATH = f"{CONFIG_DIR}/upstream-ca.pem"  # a private CA the user trusts for upstreams
PIPELOCK_CONFIG_PATH = f"{CONFIG_DIR}/pipelock.yaml"
# tmpfs, also mitmproxy's confdir: the CA key and the known secrets live in memory only.
HANDOVER_DIR = "/run/egress-gate"
KNOWN_FILE = "known.json"  # the bottle's known secrets (KnownSecret), handed over
# The running bottle's allowlist changes (LivePolicy): `bottle-launch allow`/`deny` write it whole
# through an exec as the gate's UID, under a temporary name renamed into place; the gate watches it.
LIVE_FILE = "live.json"
MITMPROXY_CA_FILE = "mitmproxy-ca.pem"  # the bottle's CA key and certificate, as mitmproxy's confdir wants
PIPELOCK_CA_CERT_FILE = "ca-cert.pem"
PIPELOCK_CA_KEY_FILE = "ca-key.pem"
MODES = ("enforce", "report")  # report: let everything through, log what enforce would refuse
SWAP_PLACES = ("headers", "url", "body")  # where a credential's placeholder may be swapped in


@dataclass(frozen=True)
class Rule:
    """A method-and-path rule of an allowlist entry: a request to a host decided by entry `host`
    goes through only if it matches one of that entry's rules. Empty `methods` or `paths`: any.
    Methods are upper-case; paths are patterns ('*' one segment, a final '**' any rest)."""

    host: str
    methods: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, object]:
        # An unrestricted key is left out rather than written empty: `"methods": []` reads as "none".
        entry: dict[str, object] = {"host": self.host}
        if self.methods:
            entry["methods"] = list(self.methods)
        if self.paths:
            entry["paths"] = list(self.paths)
        return entry

    @classmethod
    def from_dict(cls, raw: object) -> Self:
        if not isinstance(raw, dict):
            raise ContractError("each rule must be a JSON object")
        known_keys(raw, frozenset({"host", "methods", "paths"}), "a rule")
        methods = strings(raw.get("methods", []), "a rule's methods")
        paths = strings(raw.get("paths", []), "a rule's paths")
        if ("methods" in raw and not methods) or ("paths" in raw and not paths):
            raise ContractError(f"a rule for {raw.get('host')!r} has an empty list; leave the key out for any")
        if not methods and not paths:
            raise ContractError(f"a rule for {raw.get('host')!r} restricts nothing")
        return cls(str(raw["host"]), tuple(m.upper() for m in methods), paths)


@dataclass(frozen=True)
class EgressConfig:
    """/etc/egress-gate/config.json: the bottle's policy. Public: it holds no secret."""

    bottle: str
    allowlist: tuple[str, ...]
    port: int = PORT
    # The running bottle's id, for the command a 403 names (`bottle-launch allow <id> <host>`);
    # empty where there is no running bottle (`check` against an agent's plan).
    bottle_id: str = ""
    allow_cidrs: tuple[str, ...] = ()
    passthrough: tuple[str, ...] = ()
    upstream_ca: str | None = None  # a path in the gate (UPSTREAM_CA_PATH) when the user gave one
    mode: str = "enforce"
    ports: dict[str, tuple[int, ...]] = field(default_factory=dict)  # host (or *.domain) -> ports beyond 80, 443
    rules: tuple[Rule, ...] = ()  # method-and-path rules; an allowlist entry with none allows any request

    def to_json(self) -> bytes:
        return dump(
            {
                "bottle": self.bottle,
                "bottle_id": self.bottle_id,
                "allowlist": list(self.allowlist),
                "allow_cidrs": list(self.allow_cidrs),
                "passthrough": list(self.passthrough),
                "mode": self.mode,
                "ports": {host: list(ports) for host, ports in self.ports.items()},
                "rules": [rule.to_dict() for rule in self.rules],
                "port": self.port,
                **({"upstream_ca": self.upstream_ca} if self.upstream_ca else {}),
            }
        )

    @classmethod
    def from_json(cls, data: bytes | str) -> Self:
        raw = load_object(data, "the egress gate's config", _CONFIG_KEYS)
        try:
            mode = str(raw.get("mode", "enforce"))
            if mode not in MODES:
                raise ContractError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
            allowlist = strings(raw["allowlist"], "allowlist")
            if not isinstance(raw.get("rules", []), list):
                raise ContractError("rules must be a list of objects")
            rules = tuple(Rule.from_dict(item) for item in raw.get("rules", []))
            # A rule is looked up by its allowlist entry: one for no entry would never be applied.
            stray = list(dict.fromkeys(rule.host for rule in rules if rule.host not in allowlist))
            if stray:
                raise ContractError(f"rules name hosts that are not on the allowlist: {', '.join(stray)}")
            return cls(
                bottle=str(raw["bottle"]),
                bottle_id=str(raw.get("bottle_id", "")),
                allowlist=allowlist,
                port=int(raw.get("port", PORT)),
                allow_cidrs=strings(raw.get("allow_cidrs", []), "allow_cidrs"),
                passthrough=strings(raw.get("passthrough", []), "passthrough"),
                upstream_ca=str(raw["upstream_ca"]) if raw.get("upstream_ca") else None,
                mode=mode,
                ports={str(h): tuple(int(p) for p in ps) for h, ps in (raw.get("ports") or {}).items()},
                rules=rules,
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            if isinstance(exc, ContractError):
                raise
            raise ContractError(f"the egress gate's config: {exc!r}") from None


@dataclass(frozen=True)
class LivePolicy:
    """HANDOVER_DIR/LIVE_FILE: what `bottle-launch allow` and `deny` changed in a running bottle's
    allowlist, as a whole (each write replaces the last), on top of the config it started with.

    `allow`: entries added (names or `*.domain`, normalised as the manifest normalises them);
    `deny`: entries taken off, which refuse every name they match even where another entry (the
    config's, a default, an `allow`) covers it. The launcher keeps the two apart: an allow of an
    entry takes it off `deny`. `serial` counts the changes (the launcher writes serial + 1 only
    over the serial it read); `by`, `pid` and `at` say who made the last one and when. Public: it
    holds no secret."""

    allow: tuple[str, ...] = ()
    deny: tuple[str, ...] = ()
    serial: int = 0
    by: str = ""  # the local user name of whoever ran the launcher
    pid: int = 0  # that launcher's process id
    at: str = ""  # UTC, as events.now() writes it

    def to_json(self) -> bytes:
        return dump(
            {
                "allow": list(self.allow),
                "deny": list(self.deny),
                "serial": self.serial,
                "by": self.by,
                "pid": self.pid,
                "at": self.at,
            }
        )

    @classmethod
    def from_json(cls, data: bytes | str) -> Self:
        raw = load_object(data, "the live policy", _LIVE_KEYS)
        try:
            serial, pid = raw.get("serial", 0), raw.get("pid", 0)
            if isinstance(serial, bool) or not isinstance(serial, int) or serial < 0:
                raise ContractError(f"the live policy's serial must be a whole number, not {serial!r}")
            if isinstance(pid, bool) or not isinstance(pid, int):
                raise ContractError(f"the live policy's pid must be a whole number, not {pid!r}")
            return cls(
                allow=strings(raw.get("allow", []), "the live policy's allow"),
                deny=strings(raw.get("deny", []), "the live policy's deny"),
                serial=serial,
                by=str(raw.get("by", "")),
                pid=pid,
                at=str(raw.get("at", "")),
            )
        except (TypeError, ValueError) as exc:
            if isinstance(exc, ContractError):
                raise
            raise ContractError(f"the live policy: {exc!r}") from None


@dataclass(frozen=True)
class KnownSecret:
    """One entry of KNOWN_FILE. A plain value may go to any allowlisted host ("*"); a credential
    has a placeholder (what the agent holds) and the hosts that may receive the real value."""

    value: str
    hosts: tuple[str, ...]
    name: str = ""  # the env name, for a credential's 403 hint; empty for a built-in credential
    placeholder: str | None = None
    swap_in: tuple[str, ...] = ("headers",)

    def to_dict(self) -> dict[str, object]:
        entry: dict[str, object] = {"value": self.value, "hosts": list(self.hosts)}
        if self.placeholder is not None:
            entry["placeholder"] = self.placeholder
            entry["swap_in"] = list(self.swap_in)
        if self.name:
            entry["name"] = self.name
        return entry


def known_to_json(known: tuple[KnownSecret, ...] | list[KnownSecret]) -> bytes:
    return dump([k.to_dict() for k in known])


def known_from_json(data: bytes | str) -> tuple[KnownSecret, ...]:
    try:
        items = json.loads(data or "[]")
        if not isinstance(items, list):
            raise ContractError("the known secrets must be a JSON list")
        return tuple(
            KnownSecret(
                str(item["value"]),
                strings(item["hosts"], "hosts"),
                str(item.get("name", "")),
                str(item["placeholder"]) if item.get("placeholder") is not None else None,
                strings(item.get("swap_in", ["headers"]), "swap_in"),
            )
            for item in items
        )
    except ContractError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ContractError(f"the known secrets: {exc!r}") from None
