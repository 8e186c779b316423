"""Validate one parsed file and translate pydantic's errors into the library's Issues."""

from __future__ import annotations

import difflib
import ipaddress
import types
from collections.abc import Sequence
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from ._egress_checks import egress_issues
from ._errors import Issue, json_path
from ._models import Bottle, Credential, ManifestFile
from ._sizes import format_size

_TYPE_WORDS = {
    "int_type": "a whole number",
    "float_type": "a number",
    "string_type": "a string",
    "dict_type": "an object",
    "list_type": "a list",
    "bool_type": "true or false",
    "model_type": "an object",
    "model_attributes_type": "an object",
}


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _unwrap(annotation: Any) -> Any:
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            others = [arg for arg in get_args(annotation) if arg is not type(None)]
            # An env entry is a string or a Credential: only the model has keys to suggest.
            models = [arg for arg in others if isinstance(_unwrap(arg), type) and issubclass(_unwrap(arg), BaseModel)]
            annotation = (models or others)[0]
        else:
            return annotation


def _model_at(loc: Sequence[str | int]) -> type[BaseModel] | None:
    """The model whose object sits at `loc`, found by walking the annotations."""
    current: Any = ManifestFile
    for part in loc:
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = next(
                (f for name, f in current.model_fields.items() if (f.alias or name) == part),
                None,
            )
            if field is None:
                return None
            current = field.annotation
        elif get_origin(current) in (dict, list):
            current = get_args(current)[-1]
        else:
            return None
    current = _unwrap(current)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _allowed_keys(model: type[BaseModel]) -> list[str]:
    return [field.alias or name for name, field in model.model_fields.items()]


def _message(error: ErrorDetails) -> str:
    kind = error["type"]
    loc = error["loc"]
    if kind == "extra_forbidden":
        key = str(loc[-1])
        model = _model_at(loc[:-1])
        allowed = _allowed_keys(model) if model else []
        close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
        if not close:
            close = [k for k in allowed if k.lower() == key.lower()]
        hint = f"; did you mean {close[0]!r}?" if close else ""
        known = f" (allowed: {', '.join(allowed)})" if allowed and not close else ""
        return f"unknown key {key!r}{hint}{known}"
    if kind == "missing":
        return "this key is required"
    if kind in _TYPE_WORDS:
        return f"expected {_TYPE_WORDS[kind]}, got {_json_kind(error['input'])}"
    if kind == "value_error":
        return str(error["ctx"]["error"]) if "ctx" in error else error["msg"]
    if kind in ("less_than_equal", "greater_than_equal"):
        return f"{error['input']!r} is out of range; {error['msg'][0].lower()}{error['msg'][1:]}"
    if kind == "too_short" and isinstance(error.get("input"), list):
        return "the list must not be empty"
    return error["msg"]


_ENV_TAGS = ("string", "credential")  # the env entry's union tags, see _models.EnvEntry
_ALLOW_TAGS = ("host", "rule")  # the allowlist entry's, see _models.AllowEntry


def _env_tag(loc: tuple[str | int, ...]) -> str | None:
    """The union tag pydantic puts after an env key: ("bottles", b, "env", KEY, tag, ...)."""
    if len(loc) > 4 and loc[0] == "bottles" and loc[2] == "env" and loc[4] in _ENV_TAGS:
        return str(loc[4])
    return None


def _allow_tag(loc: tuple[str | int, ...]) -> str | None:
    """The union tag after an allowlist index: ("bottles", b, "egress", "allowlist", i, tag, ...)."""
    if len(loc) > 5 and loc[0] == "bottles" and loc[2:4] == ("egress", "allowlist") and loc[5] in _ALLOW_TAGS:
        return str(loc[5])
    return None


def _path(loc: tuple[str | int, ...]) -> tuple[str | int, ...]:
    if _env_tag(loc):
        loc = loc[:4] + loc[5:]
    elif _allow_tag(loc):
        loc = loc[:5] + loc[6:]
    # pydantic marks an invalid dict key by appending "[key]" after the key itself.
    return loc[:-1] if loc and loc[-1] == "[key]" else loc


def _dedupe(errors: list[ErrorDetails]) -> list[ErrorDetails]:
    # A bad "[key]" is reported once; pydantic may also report the value under it.
    bad_keys = {e["loc"][:-1] for e in errors if e["loc"] and e["loc"][-1] == "[key]"}
    return [e for e in errors if e["loc"][-1:] == ("[key]",) or e["loc"] not in bad_keys]


def validate_file(data: Any, file: str) -> tuple[ManifestFile | None, list[Issue]]:
    if not isinstance(data, dict):
        return None, [Issue(file, "$", f"the manifest must be a JSON object, got {_json_kind(data)}")]
    try:
        manifest = ManifestFile.model_validate(data)
    except ValidationError as exc:
        issues = []
        for error in _dedupe(exc.errors(include_url=False)):
            message = _message({**error, "loc": _path(error["loc"])})
            if _env_tag(error["loc"]) == "string" and error["type"] == "string_type":
                message = f"expected a string or an object with 'value' and 'hosts', got {_json_kind(error['input'])}"
            if _allow_tag(error["loc"]) == "host" and error["type"] == "string_type":
                message = (
                    "expected a host name or an object with 'host' and 'methods' or 'paths', "
                    f"got {_json_kind(error['input'])}"
                )
            if error["loc"] and error["loc"][-1] == "[key]":
                message = f"invalid key: {message}"
            issues.append(Issue(file, json_path(_path(error["loc"])), message))
        return None, issues
    return manifest, _cross_checks(manifest, file)


def _cross_checks(manifest: ManifestFile, file: str) -> list[Issue]:
    issues: list[Issue] = []
    for name, bottle in manifest.bottles.items():
        seen: dict[str, str] = {}
        for section, entries in (("ssh", bottle.ssh), ("git", bottle.git)):
            for index, entry in enumerate(entries):
                where = f"{section}[{index}]"
                if entry.host in seen:
                    issues.append(
                        Issue(
                            file,
                            json_path(("bottles", name, section, index, "Host")),
                            f"Host alias {entry.host!r} is already used by {seen[entry.host]}; "
                            "aliases must be unique within a bottle",
                        )
                    )
                else:
                    seen[entry.host] = where
        issues += _internal_upstreams(name, bottle, file)
        issues += egress_issues(name, bottle, file)
        limits = bottle.resources
        if limits.tmp is not None and limits.memory is not None and limits.tmp >= limits.memory:
            issues.append(
                Issue(
                    file,
                    json_path(("bottles", name, "resources", "tmp")),
                    f"/tmp is held in memory, so {format_size(limits.tmp)} does not fit in resources.memory "
                    f"({format_size(limits.memory)}); write a smaller tmp or a larger memory",
                )
            )
        if bottle.egress.backend == "pipelock":
            for key, entry in bottle.env.items():
                if isinstance(entry, Credential):
                    issues.append(
                        Issue(
                            file,
                            json_path(("bottles", name, "env", key)),
                            "a credential needs the mitmproxy egress backend: pipelock cannot swap it in, so the "
                            "agent would hold the real value; give it as a string or drop egress.backend",
                        )
                    )
    return issues


_CGNAT = ipaddress.ip_network("100.64.0.0/10")


def _internal(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Not the internet: what a gate's fence refuses unless allow_cidrs grants it."""
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


def _internal_upstreams(name: str, bottle: Bottle, file: str) -> list[Issue]:
    """An ssh or git upstream pinned to an internal address (an IP Hostname, or ExtraHosts) that
    allow_cidrs does not cover: its gate could never reach it, so say so before anything starts.
    A name resolved by DNS is checked by the gate's fence when it dials."""
    granted = [ipaddress.ip_network(cidr) for cidr in bottle.egress.allow_cidrs]
    issues: list[Issue] = []
    for section, entries in (("ssh", bottle.ssh), ("git", bottle.git)):
        for index, entry in enumerate(entries):
            pinned: list[tuple[tuple[str | int, ...], str]] = [
                (("ExtraHosts", host), address) for host, address in entry.extra_hosts.items()
            ]
            try:
                ipaddress.ip_address(entry.hostname)
                pinned.append((("Hostname",), entry.hostname))
            except ValueError:
                pass
            for where, text in pinned:
                address = ipaddress.ip_address(text)
                if _internal(address) and not any(address in network for network in granted):
                    issues.append(
                        Issue(
                            file,
                            json_path(("bottles", name, section, index, *where)),
                            f"{address} is an internal address: the {section} gate may dial it only if "
                            f"bottles.{name}.egress.allow_cidrs has a range covering it (for example "
                            f'"{address}/{address.max_prefixlen}")',
                        )
                    )
    return issues
