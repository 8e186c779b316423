"""Helpers the manifest tests import. Fixtures live in conftest.py; this module has a name of its
own so that one pytest run over every test folder imports the right one (each folder is put on
sys.path, and several have a conftest.py)."""

from __future__ import annotations

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
