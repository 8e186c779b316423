"""Reading a config document: a wrong shape is a ContractError naming the document, never a
KeyError deep in a gate."""

from __future__ import annotations

import json
from typing import Any


class ContractError(ValueError):
    """A document does not have the shape this contract defines."""


def load_object(data: bytes | str, what: str, keys: frozenset[str] | None = None) -> dict[str, Any]:
    try:
        value = json.loads(data)
    except ValueError as exc:
        raise ContractError(f"{what} is not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise ContractError(f"{what} must be a JSON object")
    if keys is not None:
        known_keys(value, keys, what)
    return value


def known_keys(value: dict[str, Any], keys: frozenset[str], what: str) -> None:
    """Fail closed on a key this side does not know: a newer launcher's rule that an older gate
    would silently skip is a policy not enforced."""
    unknown = sorted(set(value) - keys)
    if unknown:
        raise ContractError(
            f"{what} has keys this side does not know ({', '.join(unknown)}): the launcher and the gate "
            "come from different versions of bottle-contract; rebuild the images (bottle-launch build)"
        )


def dump(value: object) -> bytes:
    return json.dumps(value, indent=2).encode()


def strings(value: object, what: str) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise ContractError(f"{what} must be a list of strings")
    return tuple(str(item) for item in value)
