"""Persisted volumes on the engine (an agent's `persist`): who mounts them, removing one."""

from __future__ import annotations

from typing import Any

import docker
import docker.errors

from ...errors import LaunchError
from ...plan import ID_LABEL, VOLUME_LABEL


def volume_users(api: Any) -> dict[str, list[str]]:
    """Persisted volume name -> the ids of the bottles whose agent mounts it now."""
    users: dict[str, list[str]] = {}
    for summary in api.containers(all=True, filters={"label": VOLUME_LABEL}):
        labels = summary.get("Labels") or {}
        users.setdefault(labels[VOLUME_LABEL], []).append(labels.get(ID_LABEL, ""))
    return users


def remove_volume(client: docker.DockerClient, name: str) -> None:
    try:
        client.volumes.get(name).remove()
    except docker.errors.NotFound:
        pass
    except docker.errors.APIError as exc:
        raise LaunchError(f"volume {name} cannot be removed: {exc.explanation or exc}") from None
