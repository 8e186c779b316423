"""A stand-in for Anthropic's hosts on the test network (see standin/anthropic_api.py).

It answers as every host the pinned Claude Code was seen to contact, and as a few it might (so a
client upgrade that reaches for a new one shows up as a refused host, not a DNS failure)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
from tls_upstream import TestCA, make_test_ca, start_https_server

# Every name the stand-in answers as. The bottle's default allowlist decides which are reachable.
STANDIN_HOSTS = (
    "api.anthropic.com",
    "platform.claude.com",
    "claude.ai",
    "console.anthropic.com",
    "statsig.anthropic.com",
    "raw.githubusercontent.com",
    "downloads.claude.ai",
    "storage.googleapis.com",
    "mcp-proxy.anthropic.com",
    "http-intake.logs.us5.datadoghq.com",
    "sentry.io",
    "api.segment.io",
    "statsig.com",
    "api.statsig.com",
    "featureassets.org",
    "prodregistryv2.org",
)

_SCRIPT = Path(__file__).parent / "standin" / "anthropic_api.py"
# The stand-in host its `fetch-the-page` tool call fetches: not on the default allowlist.
PAGE_HOST = next(line.split('"')[1] for line in _SCRIPT.read_text().splitlines() if line.startswith("PAGE_HOST = "))


@dataclass(frozen=True)
class Request:
    host: str
    method: str
    path: str
    headers: dict[str, str]
    body: str  # the first 4,000 characters
    stream: bool | None  # a Messages API request's "stream"
    turn: str  # the texts of its last user turn
    users: tuple[str, ...] = ()  # every user text of its conversation

    @property
    def bearer(self) -> str | None:
        value = self.headers.get("authorization", "")
        return value[len("Bearer ") :] if value.startswith("Bearer ") else None


def make_standin_ca() -> TestCA:
    return make_test_ca(STANDIN_HOSTS)


def start_standin(client: docker.DockerClient, image: str, network: str, ca: TestCA) -> Any:
    return start_https_server(
        client,
        image,
        network,
        ca,
        ["python3", "/srv/anthropic_api.py"],
        STANDIN_HOSTS,
        files={"anthropic_api.py": _SCRIPT.read_bytes()},
    )


def recorded(container: Any) -> list[Request]:
    """Every request the stand-in received so far, in order."""
    requests = []
    for line in container.logs().decode(errors="replace").splitlines():
        if not line.startswith('{"request"'):
            continue
        entry = json.loads(line)["request"]
        requests.append(
            Request(
                entry["host"],
                entry["method"],
                entry["path"],
                entry["headers"],
                entry["body"],
                entry["stream"],
                entry["turn"],
                tuple(entry.get("users") or ()),
            )
        )
    return requests
