"""A bottle's `resources`: sizes as Docker writes them, floors a bottle can start with, and an
error for each mistake that names its path and says what to write."""

from __future__ import annotations

import bottle_manifest as bm
import pytest
from bottle_manifest._sizes import MIN_CPUS, MIN_DISK, MIN_MEMORY, MIN_PIDS, MIN_TMP
from manifest_helpers import issues_of, manifest

GiB = 1 << 30
MiB = 1 << 20


def resources_of(write, home, resources) -> bm.Resources:
    return bm.load(write(manifest(resources=resources)), home=home).agent("helper").bottle.resources


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("512m", 512 * MiB),
        ("4g", 4 * GiB),
        ("4G", 4 * GiB),
        ("4gb", 4 * GiB),
        ("4GiB", 4 * GiB),
        ("1.5g", 1536 * MiB),
        ("2t", 2 << 40),
        ("1048576", MiB),
        ("64k", 64 << 10),
        (" 1g ", GiB),
        ("1 g", GiB),
    ],
)
def test_sizes_read_as_docker_reads_them(text, size):
    assert bm.parse_size(text) == size


@pytest.mark.parametrize(("size", "text"), [(4 * GiB, "4g"), (1536 * MiB, "1536m"), (1000, "1000"), (2 << 40, "2t")])
def test_sizes_are_shown_in_their_shortest_exact_spelling(size, text):
    assert bm.format_size(size) == text
    assert bm.parse_size(text) == size


def test_every_key_loads_as_bytes_cores_and_a_count(write, home):
    limits = resources_of(write, home, {"memory": "4g", "pids": 512, "cpus": 2, "tmp": "1g", "disk": "10g"})
    assert (limits.memory, limits.pids, limits.cpus, limits.tmp, limits.disk) == (4 * GiB, 512, 2.0, GiB, 10 * GiB)
    assert isinstance(limits.cpus, float)


def test_an_absent_section_or_key_leaves_the_launchers_default(write, home):
    assert bm.load(write(manifest()), home=home).agent("helper").bottle.resources == bm.Resources()
    assert resources_of(write, home, {"memory": "2g"}).pids is None


@pytest.mark.parametrize(
    ("resources", "path", "message"),
    [
        ({"memory": "100m"}, "memory", "100m is too little memory to start a bottle; write at least '256m'"),
        ({"memory": "4x"}, "memory", "'4x' is not a size; write a number and a unit, e.g. '512m' or '4g'"),
        ({"memory": "-1g"}, "memory", "is not a size"),
        ({"memory": "1e9"}, "memory", "is not a size"),
        ({"memory": "9" * 40}, "memory", "is not a size"),
        ({"memory": 4}, "memory", "expected a size as a string with a unit, e.g. '4g' or '512m', got a number"),
        ({"memory": True}, "memory", "got a boolean"),
        ({"memory": ["4g"]}, "memory", "got a list"),
        ({"memory": "2048t"}, "memory", "is too large"),
        ({"tmp": "1m"}, "tmp", "1m is too little space in /tmp to start a bottle; write at least '16m'"),
        ({"disk": "100m"}, "disk", "write at least '512m'"),
        ({"pids": 10}, "pids", "10 processes are too few to start a bottle (threads count too); write at least 64"),
        ({"pids": "512"}, "pids", "expected a whole number, got a string"),
        ({"pids": 2.5}, "pids", "expected a whole number, got a number"),
        ({"pids": 10**12}, "pids", "more processes than the kernel allows"),
        ({"cpus": 0.1}, "cpus", "0.1 CPUs are too few to start a bottle; write at least 0.25"),
        ({"cpus": "2"}, "cpus", "expected a number, got a string"),
        ({"cpus": True}, "cpus", "expected a number, got a boolean"),
        ({"cpus": 5000}, "cpus", "write at most 1024"),
        ({"memroy": "4g"}, "memroy", "unknown key 'memroy'; did you mean 'memory'?"),
        ({"tmp": "2g", "memory": "1g"}, "tmp", "/tmp is held in memory, so 2g does not fit in resources.memory (1g)"),
    ],
)
def test_each_mistake_is_one_error_at_its_path_saying_what_to_write(write, home, resources, path, message):
    found = issues_of(write, home, manifest(resources=resources))
    assert len(found) == 1, found
    got_path, got = found[0]
    assert got_path == f"bottles.dev.resources.{path}"
    assert message in got


def test_the_floors_themselves_load(write, home):
    floors = {"memory": "256m", "pids": MIN_PIDS, "cpus": MIN_CPUS, "tmp": "16m", "disk": "512m"}
    limits = resources_of(write, home, floors)
    assert (limits.memory, limits.tmp, limits.disk) == (MIN_MEMORY, MIN_TMP, MIN_DISK)


def test_resources_must_be_an_object(write, home):
    assert issues_of(write, home, manifest(resources="4g")) == [
        ("bottles.dev.resources", "expected an object, got a string")
    ]


def test_the_schema_describes_sizes_as_strings_with_a_unit():
    schema = bm.json_schema()["$defs"]["Resources"]
    assert set(schema["properties"]) == {"memory", "pids", "cpus", "tmp", "disk"}
    assert schema["additionalProperties"] is False
    memory = schema["properties"]["memory"]["anyOf"][0]
    assert memory["type"] == "string" and memory["pattern"]
    assert schema["properties"]["pids"]["anyOf"][0]["minimum"] == MIN_PIDS
    assert "resources" in bm.json_schema()["$defs"]["Bottle"]["properties"]
