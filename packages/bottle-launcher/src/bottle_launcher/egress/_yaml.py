"""A YAML emitter for plain config data (dicts, lists, strings, numbers, booleans). Strings are
written JSON-quoted, which YAML reads as the same string, so no value can change meaning."""

from __future__ import annotations

import json
from typing import Any


def dump(data: dict[str, Any]) -> str:
    return "\n".join(_mapping(data, 0)) + "\n"


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    if isinstance(value, str):
        return json.dumps(value)
    raise TypeError(f"cannot write {type(value).__name__} as YAML")


def _mapping(data: dict[str, Any], indent: int) -> list[str]:
    pad = " " * indent
    lines: list[str] = []
    for key, value in data.items():
        if isinstance(value, dict):
            lines += [f"{pad}{key}:", *_mapping(value, indent + 2)] if value else [f"{pad}{key}: {{}}"]
        elif isinstance(value, list):
            lines += (
                [f"{pad}{key}:", *(f"{pad}  - {_scalar(item)}" for item in value)] if value else [f"{pad}{key}: []"]
            )
        else:
            lines.append(f"{pad}{key}: {_scalar(value)}")
    return lines
