from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

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


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture
def write(tmp_path: Path) -> Callable[..., Path]:
    def _write(data: Any, name: str = "project/claude-bottle.json") -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(data if isinstance(data, str) else json.dumps(data))
        return path

    return _write
