"""Watch a bottle's containers while a session is attached, so a gate that dies is noticed at
once. A dead gate fails closed (the agent loses its network, ssh or git), and the user must hear
of it, with the reason, instead of finding out from a stuck claude.

The engine's event stream, filtered by the bottle's label, is read in a background thread: no
polling, and a `die` arrives within milliseconds. The stream is closed from the session's thread
when the session ends, before the bottle is taken down (whose removals would read as deaths).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import docker.errors
import requests.exceptions
from docker import APIClient

from ...plan import LABEL
from ..plugin.interface import HELPER_ROLES, ContainerInfo

LOG_TAIL = 3  # a stopped gate's last log lines in its notice: usually the reason


def container_info(inspected: dict[str, Any], log_tail: tuple[str, ...] = ()) -> ContainerInfo:
    """A ContainerInfo from the engine's inspect data."""
    state = inspected.get("State") or {}
    labels = (inspected.get("Config") or {}).get("Labels") or {}
    status = str(state.get("Status") or "unknown")
    code = state.get("ExitCode")
    return ContainerInfo(
        name=str(inspected.get("Name") or "").lstrip("/"),
        role=labels.get(f"{LABEL}.role", ""),
        state=status,
        exit_code=int(code) if code is not None and status in ("exited", "dead") else None,
        oom_killed=bool(state.get("OOMKilled")),
        health=(state.get("Health") or {}).get("Status") or None,
        log_tail=log_tail,
    )


def end_wedged_sandbox(api: APIClient, container: str) -> None:
    """Under gVisor the kernel's OOM kill lands on the sandbox itself (a stub or the sentry), not
    on the process that asked for memory: the sandbox then stops answering (an exec hangs, the
    session freezes) until the engine notices, minutes later (measured: 2 min). Ending it at once
    is what the kernel would have done in the end, and the user hears why."""
    with contextlib.suppress(docker.errors.APIError, requests.exceptions.RequestException):
        api.kill(container)


def log_tail(api: APIClient, container: str, lines: int = LOG_TAIL) -> tuple[str, ...]:
    with contextlib.suppress(docker.errors.APIError, requests.exceptions.RequestException):
        logs: bytes = api.logs(container, stdout=True, stderr=True, tail=lines)
        return tuple(line for line in logs.decode(errors="replace").splitlines() if line.strip())[-lines:]
    return ()


class GateWatch:
    """While entered, calls `notify` once for each gate of `bottle_id` that stops or turns
    unhealthy, and each time the agent hits its memory limit (role "agent", oom_killed), after
    which `on_agent_oom` runs (under gVisor it ends the agent: see sandbox_oom)."""

    def __init__(
        self,
        api: APIClient,
        bottle_id: str,
        notify: Callable[[ContainerInfo], None],
        on_agent_oom: Callable[[], None] | None = None,
    ) -> None:
        self.api = api
        self.bottle_id = bottle_id
        self.notify = notify
        self.on_agent_oom = on_agent_oom
        self._told: set[str] = set()
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._events: Any = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> GateWatch:
        with contextlib.suppress(docker.errors.APIError, requests.exceptions.RequestException):
            filters = {"type": "container", "label": f"{LABEL}.id={self.bottle_id}"}
            self._events = self.api.events(decode=True, filters=filters)
            self._thread = threading.Thread(target=self._run, name="gate-watch", daemon=True)
            self._thread.start()
            # A gate that stopped before the stream opened sent its `die` to no one.
            for container in self._containers():
                inspected = self.api.inspect_container(container["Id"])
                self._check(inspected)
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        if self._events is not None:
            with contextlib.suppress(Exception):  # a transport without a socket to shut down
                self._events.close()
        if self._thread is not None:
            self._thread.join(timeout=2)

    def _containers(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.api.containers(all=True, filters={"label": f"{LABEL}.id={self.bottle_id}"})
        return found

    def _run(self) -> None:
        # The stream ends with an error when it is closed, or when the engine goes away; either
        # way the session goes on, only without notices.
        with contextlib.suppress(Exception):
            for event in self._stream():
                if self._done.is_set():
                    return
                self._on_event(event)

    def _stream(self) -> Iterator[dict[str, Any]]:
        yield from self._events

    def _on_event(self, event: dict[str, Any]) -> None:
        action = str(event.get("Action") or event.get("status") or "")
        actor = event.get("Actor") or {}
        attributes = actor.get("Attributes") or {}
        role = attributes.get(f"{LABEL}.role", "")
        if role in HELPER_ROLES or not role:
            return
        if role == "agent":
            if action == "oom":
                self._tell(ContainerInfo(attributes.get("name", ""), "agent", "running", oom_killed=True), once=False)
                if self.on_agent_oom is not None:
                    with contextlib.suppress(Exception):
                        self.on_agent_oom()
            elif action == "die":
                self._done.set()  # the session is ending; what follows is the teardown
            return
        if action == "die" or action.startswith("health_status: unhealthy"):
            with contextlib.suppress(docker.errors.APIError, requests.exceptions.RequestException):
                self._check(self.api.inspect_container(actor.get("ID") or event.get("id")))

    def _check(self, inspected: dict[str, Any]) -> None:
        info = container_info(inspected)
        if info.role in HELPER_ROLES or info.role in ("agent", "") or info.up or info.state == "created":
            return
        self._tell(replace(info, log_tail=log_tail(self.api, inspected["Id"])))

    def _tell(self, info: ContainerInfo, once: bool = True) -> None:
        with self._lock:
            if self._done.is_set() or (once and info.name in self._told):
                return
            self._told.add(info.name)
        with contextlib.suppress(Exception):  # a notice must never end the session
            self.notify(info)
