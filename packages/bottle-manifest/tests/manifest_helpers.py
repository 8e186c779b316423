"""Helpers the manifest tests import. Fixtures live in conftest.py; this module has a name of its
own so that one pytest run over every test folder imports the right one (each folder is put on
sys.path, and several have a conftest.py)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import bottle_manifest as bm
import pytest

ED25519 = "AAAAC3NzaC1lZDI1NTE5AAAAIBciZoELc2LK1yk7EfOI5C31dP5Wa2s+Nq9gA4f/kEiA"
KNOWN_HOST_KEY = f"gitea.example.com ssh-ed25519 {ED25519}"


def ssh_entry(**overrides: Any) -> dict[str, Any]:
    entry = {
        "Host": "gitea",
        "Hostname": "gitea.example.com",
        "User": "git",
        "Port": 30009,
        "IdentityFile": "/keys/id_gitea",
        "KnownHostKey": KNOWN_HOST_KEY,
    }
    entry.update(overrides)
    return entry


def manifest(**bottle: Any) -> dict[str, Any]:
    return {"bottles": {"dev": bottle}, "agents": {"helper": {"bottle": "dev"}}}


def issues_of(write, home, data) -> list[tuple[str, str]]:
    path = write(data)
    with pytest.raises(bm.ManifestError) as info:
        bm.load(path, home=home)
    assert all(issue.file == str(path) for issue in info.value.issues)
    return [(issue.path, issue.message) for issue in info.value.issues]


# -- the published JSON Schema, checked without a validator library ---------------------------
# bm.json_schema() uses few keywords; these are all of them (an annotation checks nothing). A
# keyword not listed here fails the check, so a schema that grows one is never half-checked.
ANNOTATIONS = frozenset({"$schema", "$id", "$defs", "title", "description", "default", "examples"})
JSON_TYPES: dict[str, Callable[[Any], bool]] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    # JSON Schema counts 2.0 as an integer
    "integer": lambda v: not isinstance(v, bool) and (isinstance(v, int) or (isinstance(v, float) and v.is_integer())),
}


def schema_errors(document: Any) -> list[str]:
    """Where `document` breaks the manifest's JSON Schema (bm.json_schema()), as "path: reason";
    empty when it conforms."""
    schema = bm.json_schema()
    return _errors(document, schema, schema, "$")


def _errors(value: Any, schema: dict[str, Any], root: dict[str, Any], where: str) -> list[str]:
    unknown = set(schema) - ANNOTATIONS - set(_KEYWORDS)
    assert not unknown, f"the schema uses keywords schema_errors does not check: {sorted(unknown)} at {where}"
    return [error for key, check in _KEYWORDS.items() if key in schema for error in check(value, schema, root, where)]


def _ref(value: Any, schema: dict[str, Any], root: dict[str, Any], where: str) -> list[str]:
    ref = schema["$ref"]
    assert ref.startswith("#/$defs/"), ref
    return _errors(value, root["$defs"][ref.removeprefix("#/$defs/")], root, where)


def _type(value: Any, schema: dict[str, Any], root: dict[str, Any], where: str) -> list[str]:
    kinds = [schema["type"]] if isinstance(schema["type"], str) else schema["type"]
    return [] if any(JSON_TYPES[kind](value) for kind in kinds) else [f"{where}: not of type {schema['type']}"]


def _enum(value: Any, schema: dict[str, Any], root: dict[str, Any], where: str) -> list[str]:
    ok = any(value == option and type(value) is type(option) for option in schema["enum"])
    return [] if ok else [f"{where}: {value!r} is not one of {schema['enum']}"]


def _properties(value: Any, schema: dict[str, Any], root: dict[str, Any], where: str) -> list[str]:
    if not isinstance(value, dict):
        return []
    known = schema.get("properties", {})
    errors = [e for key, sub in known.items() if key in value for e in _errors(value[key], sub, root, f"{where}.{key}")]
    extra = schema.get("additionalProperties", True)
    for key in (key for key in value if key not in known):
        if extra is False:
            errors.append(f"{where}.{key}: not allowed")
        elif extra is not True:
            errors += _errors(value[key], extra, root, f"{where}.{key}")
    return errors


def _required(value: Any, schema: dict[str, Any], root: dict[str, Any], where: str) -> list[str]:
    missing = [key for key in schema["required"] if isinstance(value, dict) and key not in value]
    return [f"{where}.{key}: required" for key in missing]


def _items(value: Any, schema: dict[str, Any], root: dict[str, Any], where: str) -> list[str]:
    if not isinstance(value, list):
        return []
    return [e for i, item in enumerate(value) for e in _errors(item, schema["items"], root, f"{where}[{i}]")]


def _any_of(value: Any, schema: dict[str, Any], root: dict[str, Any], where: str) -> list[str]:
    if any(not _errors(value, sub, root, where) for sub in schema["anyOf"]):
        return []
    return [f"{where}: matches none of anyOf"]


def _one_of(value: Any, schema: dict[str, Any], root: dict[str, Any], where: str) -> list[str]:
    matches = sum(not _errors(value, sub, root, where) for sub in schema["oneOf"])
    return [] if matches == 1 else [f"{where}: matches {matches} of oneOf, not exactly one"]


def _bound(key: str, holds: Callable[[Any, Any], bool]) -> Callable[..., list[str]]:
    def check(value: Any, schema: dict[str, Any], root: dict[str, Any], where: str) -> list[str]:
        if not JSON_TYPES["number"](value) or holds(value, schema[key]):
            return []
        return [f"{where}: {value!r} breaks {key} {schema[key]}"]

    return check


def _min_items(value: Any, schema: dict[str, Any], root: dict[str, Any], where: str) -> list[str]:
    short = isinstance(value, list) and len(value) < schema["minItems"]
    return [f"{where}: fewer than {schema['minItems']} items"] if short else []


def _min_length(value: Any, schema: dict[str, Any], root: dict[str, Any], where: str) -> list[str]:
    short = isinstance(value, str) and len(value) < schema["minLength"]
    return [f"{where}: shorter than {schema['minLength']}"] if short else []


def _pattern(value: Any, schema: dict[str, Any], root: dict[str, Any], where: str) -> list[str]:
    # ECMA-262 as JSON Schema reads it: \d is an ASCII digit, and a final $ is the end of the text
    # (Python's would also match before a final newline).
    pattern = schema["pattern"].replace(r"\d", "[0-9]")
    if pattern.endswith("$") and not pattern.endswith(r"\$"):
        pattern = pattern[:-1] + r"\Z"
    if not isinstance(value, str) or re.search(pattern, value):
        return []
    return [f"{where}: {value!r} does not match {schema['pattern']}"]


_KEYWORDS: dict[str, Callable[..., list[str]]] = {
    "$ref": _ref,
    "type": _type,
    "enum": _enum,
    "properties": _properties,
    # "additionalProperties" is checked with "properties" (the keys it covers), or alone
    "additionalProperties": lambda value, schema, *rest: (
        [] if "properties" in schema else _properties(value, schema, *rest)
    ),
    "required": _required,
    "items": _items,
    "anyOf": _any_of,
    "oneOf": _one_of,
    "minimum": _bound("minimum", lambda value, bound: value >= bound),
    "maximum": _bound("maximum", lambda value, bound: value <= bound),
    "minItems": _min_items,
    "minLength": _min_length,
    "pattern": _pattern,
}
