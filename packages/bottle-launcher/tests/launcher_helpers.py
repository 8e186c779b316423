"""Helpers the launcher's unit tests share: a manifest written to a folder, an agent's plan from
it, and stub resolvers (the test machine resolves no public names)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import bottle_manifest
from bottle_launcher.plan import Plan, build_plan


def write_manifest(folder: Path, data: dict[str, Any]) -> Path:
    path = folder / "claude-bottle.json"
    path.write_text(json.dumps(data))
    return path


def plan_of(manifest: Path, agent: str = "helper") -> Plan:
    return build_plan(bottle_manifest.load(manifest, home=manifest.parent).agent(agent))


def public(host: str, port: int) -> list[str]:
    return ["93.184.215.14"]


def private(host: str, port: int) -> list[str]:
    return ["192.168.7.7"]
