"""Removing a bottle without losing work: stop its agent, rescue what it had not pushed, remove
everything. `start` (at the end of a session), `stop` and `prune` all end a bottle this way."""

from __future__ import annotations

from collections.abc import Callable

from .rescue import Mode, Outcome, rescue
from .runtime import RuntimeBackend
from .workspace_sync import sync


def remove_bottle(
    backend: RuntimeBackend,
    bottle_id: str,
    agent: str,
    *,
    mode: Mode,
    say: Callable[[str], None],
    ask: Callable[[str], str] | None = None,
) -> Outcome | None:
    """The bottle is removed whatever the rescue does; a rescue that fails says so."""
    outcome = None
    try:
        # What the agent pushed to a local workspace comes home before anything is removed.
        sync(backend, bottle_id, agent, say)
        if mode != "discard":
            backend.stop_agent(bottle_id)
        outcome = rescue(lambda: backend.workspace(bottle_id), agent, bottle_id, mode, say, ask)
    except Exception as exc:  # the bottle must still go, and the user must hear why
        say(f"claude-bottle: the rescue of bottle {bottle_id} failed ({exc}); its unsaved work, if any, is lost")
    finally:
        backend.down(bottle_id)
    return outcome
