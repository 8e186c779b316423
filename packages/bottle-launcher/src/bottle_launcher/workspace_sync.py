"""The agent's pushes to a local workspace, fetched back into the user's repository: at once
while a session is attached (the git gate says `pushed` on its log after each), and once more
when the bottle is removed (teardown.py), whoever removes it."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

from bottle_contract import events

from .errors import LaunchError
from .local_workspace import fetch_back, folder_name, known_commits, point_refs
from .plan import RuntimePlan
from .runtime import RuntimeBackend

_lock = threading.Lock()  # one fetch at a time into a repository: git locks its refs


def sync(backend: RuntimeBackend, bottle_id: str, agent: str, say: Callable[[str], None]) -> None:
    """Fetch what the agent pushed since the last time; say each ref that changed."""
    path = backend.workspace_path(bottle_id)
    if path is None:
        return
    repo = Path(path)
    if not repo.is_dir():
        say(f"claude-bottle: the workspace {path} is gone; the agent's pushes were not fetched back")
        return
    with _lock:
        try:
            refs, bundle = backend.export_workspace(
                bottle_id, f"workspace/{folder_name(repo)}", known_commits(repo, agent)
            )
            lines = fetch_back(repo, agent, bundle)
            lines += point_refs(repo, agent, refs)
        except LaunchError as exc:
            say(f"claude-bottle: {exc}")
            return
    for line in lines:
        say(f"claude-bottle: from bottle {bottle_id} into {path}: {line}")


@contextlib.contextmanager
def live_sync(backend: RuntimeBackend, plan: RuntimePlan, say: Callable[[str], None]) -> Iterator[None]:
    """While the session runs, fetch each push to the workspace as soon as the gate reports it.
    The log stream ends when the gate is removed; the thread never holds the session up."""
    if plan.plan.workspace is None:
        yield
        return

    def follow() -> None:
        with contextlib.suppress(Exception):  # the gate went away, or the engine did
            for line in backend.sidecar_log_stream(plan.bottle_id, "git", follow=True):
                event = events.parse(line)
                if event is not None and event.event == events.PUSHED:
                    sync(backend, plan.bottle_id, plan.plan.agent, say)

    threading.Thread(target=follow, name="workspace-sync", daemon=True).start()
    yield
