"""Claude Code's own configuration in the agent's home.

The pinned client shows dialogs on a first run (theme, login method, folder trust, the bypass
warning) and ignores the OAuth token until onboarding is complete. What is written here is what
that version was seen to need to go straight to its input box; tests/test_claude_session.py is
the authority, not this list. Nothing here is secret: the token arrives at handover, as a
placeholder.
"""

from __future__ import annotations

import json

# claude starts in WORKDIR: not $HOME, whose trust lasts one session only. CLAUDE_DIR
# (bottle_contract.agent) is its config home (CLAUDE_CONFIG_DIR): its settings, sessions and, with
# the variable set, its state file (.claude.json) too, so one folder (a volume, for an agent that
# persists) holds it all.
from bottle_contract.agent import WORKDIR

from ._model import Plan

CLAUDE_DIR_VAR = "CLAUDE_CONFIG_DIR"
# The seeded state: the agent's entrypoint merges it into $CLAUDE_CONFIG_DIR/.claude.json, so
# a persisted state keeps what claude wrote there and still gets the launcher's keys.
STATE_SEED = ".bottle/claude-state.json"
THEME = "dark"


def claude_state(plan: Plan) -> dict[str, object]:
    """~/.claude.json: the client's state, seeded as after a finished first run."""
    state: dict[str, object] = {
        "hasCompletedOnboarding": True,
        "theme": THEME,
        # "Make auto mode your default permission mode?", asked at start under any other mode.
        "hasSeenAutoDefaultNudge": True,
        "autoUpdates": False,
        # The working folder and every checkout in it: the client asks per folder.
        "projects": {
            folder: {"hasTrustDialogAccepted": True, "hasCompletedProjectOnboarding": True}
            for folder in (WORKDIR, *(f"{WORKDIR}/{c.folder}" for c in plan.checkouts))
        },
    }
    return state


def start_folder(plan: Plan) -> str:
    """Where claude starts: inside the checkout when there is exactly one, else the working folder."""
    return f"{WORKDIR}/{plan.checkouts[0].folder}" if len(plan.checkouts) == 1 else WORKDIR


def claude_settings(plan: Plan) -> dict[str, object]:
    """~/.claude/settings.json: the agent's claude options, read by every claude in the bottle."""
    settings: dict[str, object] = {"autoUpdates": False}
    if plan.claude_permission_mode:
        settings["permissions"] = {"defaultMode": plan.claude_permission_mode}
        if plan.claude_permission_mode == "bypassPermissions":
            settings["skipDangerousModePermissionPrompt"] = True
    if plan.claude_model:
        settings["model"] = plan.claude_model
    return settings


def claude_files(plan: Plan) -> dict[str, bytes]:
    """Paths relative to the agent's home, and their content."""
    return {
        STATE_SEED: json.dumps(claude_state(plan), indent=2).encode(),
        ".claude/settings.json": json.dumps(claude_settings(plan), indent=2).encode(),
    }
