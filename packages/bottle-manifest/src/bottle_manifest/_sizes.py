"""The values of a bottle's `resources`: sizes written as Docker writes them ("512m", "4g"), a
process count and a CPU count, each with a floor below which a bottle could not start. Sizes load
as bytes. Each check raises ValueError with a sentence saying what to write; pydantic adds the
JSON path."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, WithJsonSchema

# Binary units, as `docker run --memory` reads them: "512m" is 512 MiB. A trailing "b" or "ib"
# ("4gb", "4GiB") means the same.
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
_SIZE = re.compile(r"(\d{1,16}(?:\.\d{1,9})?)\s?([kmgt]?)(?:i?b)?\Z", re.IGNORECASE)
SIZE_PATTERN = r"^\d{1,16}(\.\d{1,9})?\s?[kKmMgGtT]?([iI]?[bB])?$"
MAX_SIZE = 1 << 50  # far above any machine; keeps the engine's 64-bit fields from overflowing

# Floors: below them the bottle itself cannot start or its tools fail at once.
MIN_MEMORY = 256 << 20  # bash, the entrypoint and, under gVisor, the sandbox's own ~100 MB
MIN_TMP = 16 << 20  # tools (claude included) write small files in /tmp
MIN_DISK = 512 << 20  # the entrypoint's CA bundle, claude's state, a small checkout
MIN_PIDS = 64  # every thread counts: node alone runs about a dozen
MAX_PIDS = 4_194_304  # the kernel's own ceiling (pid_max)
MIN_CPUS = 0.25  # below a quarter of a core, starting the bottle itself takes tens of seconds
MAX_CPUS = 1024.0


def parse_size(value: str) -> int:
    """Bytes in "512m", "4g", "1.5g", "4GiB", "1048576"."""
    match = _SIZE.match(value.strip())
    if not match:
        raise ValueError(f"{value!r} is not a size; write a number and a unit, e.g. '512m' or '4g'")
    return math.floor(float(match.group(1)) * _UNITS[match.group(2).lower()])


def format_size(size: int) -> str:
    """The shortest exact spelling: 4294967296 -> "4g", 1610612736 -> "1536m"."""
    for unit in ("t", "g", "m", "k"):
        if size and size % _UNITS[unit] == 0:
            return f"{size // _UNITS[unit]}{unit}"
    return str(size)


def _as_size(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, str):
        got = {bool: "a boolean", int: "a number", float: "a number", list: "a list", dict: "an object"}.get(
            type(value), "null" if value is None else type(value).__name__
        )
        raise ValueError(f"expected a size as a string with a unit, e.g. '4g' or '512m', got {got}")
    return parse_size(value)


def _at_least(minimum: int, what: str) -> Callable[[int], int]:
    def check(size: int) -> int:
        if size < minimum:
            raise ValueError(
                f"{format_size(size)} is too little {what} to start a bottle; write at least {format_size(minimum)!r}"
            )
        if size > MAX_SIZE:
            raise ValueError(f"{format_size(size)} is too large; write at most {format_size(MAX_SIZE)!r}")
        return size

    return check


def _size_schema(example: str) -> WithJsonSchema:
    return WithJsonSchema({"type": "string", "pattern": SIZE_PATTERN, "examples": [example]})


def _check_pids(value: int) -> int:
    if value < MIN_PIDS:
        raise ValueError(
            f"{value} processes are too few to start a bottle (threads count too); write at least {MIN_PIDS}"
        )
    if value > MAX_PIDS:
        raise ValueError(f"{value} is more processes than the kernel allows; write at most {MAX_PIDS}")
    return value


def _check_cpus(value: float) -> float:
    if not math.isfinite(value):
        raise ValueError(f"{value} is not a number of CPUs; write one such as 2.0")
    if value < MIN_CPUS:
        raise ValueError(f"{value} CPUs are too few to start a bottle; write at least {MIN_CPUS}")
    if value > MAX_CPUS:
        raise ValueError(f"{value} is more CPUs than any engine has; write at most {MAX_CPUS:g}")
    return value


_AsSize = BeforeValidator(_as_size)
MemorySize = Annotated[int, _AsSize, AfterValidator(_at_least(MIN_MEMORY, "memory")), _size_schema("4g")]
TmpSize = Annotated[int, _AsSize, AfterValidator(_at_least(MIN_TMP, "space in /tmp")), _size_schema("1g")]
DiskSize = Annotated[int, _AsSize, AfterValidator(_at_least(MIN_DISK, "disk")), _size_schema("10g")]
Pids = Annotated[
    int, AfterValidator(_check_pids), WithJsonSchema({"type": "integer", "minimum": MIN_PIDS, "maximum": MAX_PIDS})
]
Cpus = Annotated[
    float, AfterValidator(_check_cpus), WithJsonSchema({"type": "number", "minimum": MIN_CPUS, "maximum": MAX_CPUS})
]
