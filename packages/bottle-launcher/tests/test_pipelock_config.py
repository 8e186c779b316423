"""The pipelock config generated from a bottle's policy: compared with a stored expectation, and
every key checked against the keys pipelock's release accepts (it refuses unknown ones). Running
pipelock itself needs its image, which cannot be pulled here: tests/test_pipelock.py does that
when BOTTLE_PIPELOCK_IMAGE names one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bottle_launcher.egress import pipelock_config, pipelock_yaml
from bottle_launcher.plan import internal_ranges
from launcher_helpers import plan_of, write_manifest

DATA = Path(__file__).parent / "data"
MANIFEST = {
    "bottles": {
        "dev": {
            "egress": {
                "backend": "pipelock",
                "allowlist": ["gitea.example.com", "*.internal.example"],
                "allow_cidrs": ["172.18.0.0/16"],
                "passthrough": ["pinned.example.com"],
            }
        }
    },
    "agents": {"helper": {"bottle": "dev"}},
}


def plan(tmp_path: Path, **egress: Any):
    data = json.loads(json.dumps(MANIFEST))
    data["bottles"]["dev"]["egress"].update(egress)
    return plan_of(write_manifest(tmp_path, data))


def key_paths(data: dict[str, Any], prefix: str = "") -> list[str]:
    paths = []
    for key, value in data.items():
        paths.append(prefix + key)
        if isinstance(value, dict):
            paths += key_paths(value, f"{prefix}{key}.")
    return paths


def accepted() -> set[str]:
    lines = (DATA / "pipelock-2.3-keys.txt").read_text().splitlines()
    return {line.strip() for line in lines if line.strip() and not line.startswith("#")}


def test_the_generated_yaml_matches_the_stored_expectation(tmp_path):
    expected = (DATA / "pipelock-expected.yaml").read_text()
    assert pipelock_yaml(plan(tmp_path)).decode() == expected


def test_every_key_is_one_pipelock_accepts(tmp_path):
    for mode in ("enforce", "report"):
        written = set(key_paths(pipelock_config(plan(tmp_path, mode=mode))))
        assert written <= accepted(), sorted(written - accepted())


def test_the_config_is_strict_and_follows_the_policy(tmp_path):
    config = pipelock_config(plan(tmp_path))
    assert config["mode"] == "strict" and config["enforce"] is True  # only strict enforces the allowlist
    assert "gitea.example.com" in config["api_allowlist"] and "api.anthropic.com" in config["api_allowlist"]
    assert config["tls_interception"]["passthrough_domains"] == ["pinned.example.com"]
    assert config["fetch_proxy"]["listen"] == "0.0.0.0:8888" and config["sentry"]["enabled"] is False
    assert pipelock_config(plan(tmp_path, mode="report"))["enforce"] is False


def test_allow_cidrs_are_cut_out_of_the_internal_ranges():
    ranges = internal_ranges(("172.18.0.0/16", "10.1.0.0/16"))
    assert "172.16.0.0/12" not in ranges and "172.19.0.0/16" in ranges and "172.16.0.0/15" in ranges
    assert not any(r.startswith("172.18.") or r.startswith("10.1.") for r in ranges)
    assert "10.0.0.0/16" in ranges and "10.2.0.0/15" in ranges and "127.0.0.0/8" in ranges
    assert internal_ranges(("10.0.0.0/8",)).count("10.0.0.0/8") == 0
