"""The agent's working folder: a volume of its own, what is checked out into it at start, and
the helper that reads it at the end.

The folder is a Docker volume rather than the container's writable layer because under gVisor
the writable layer lives inside the sandbox (runsc's default `--overlay2=root:self`): it vanishes
with the sandbox, and the engine cannot read it (`docker cp`, `docker diff`). A volume outlives
the agent's process, so unsaved work can be found and saved after claude has exited.
"""

from __future__ import annotations

import hashlib
import shlex

from bottle_contract.agent import CLAUDE_DIR, WORKDIR

from ._labels import LABEL, PERSIST_LABEL, PROJECT_LABEL
from ._model import Plan

WORK_VOLUME_SUFFIX = "work"
CHECKOUT_TIMEOUT = 600  # seconds for every clone together


def work_volume(agent: str, bottle_id: str) -> str:
    return f"bottle-{agent}-{bottle_id}-{WORK_VOLUME_SUFFIX}"


def persist_key(project: str) -> str:
    """Short and stable for one project folder: the same agent in two projects keeps two states."""
    return hashlib.sha256(project.encode()).hexdigest()[:8]


def persisted_volumes(plan: Plan) -> dict[str, str]:
    """An agent that persists: its volumes by role ("work", "claude") and where they are mounted."""
    stem = f"claude-bottle-{plan.agent}-{persist_key(plan.project)}"
    return {f"{stem}-work": WORKDIR, f"{stem}-claude": CLAUDE_DIR}


def persisted_labels(plan: Plan, role: str) -> dict[str, str]:
    return {
        PERSIST_LABEL: "true",
        f"{LABEL}.agent": plan.agent,
        PROJECT_LABEL: plan.project,
        f"{LABEL}.role": role,
    }


def checkout_script(plan: Plan) -> str | None:
    """Clone each checkout the way the agent's own clones go (its ~/.gitconfig sends the URL to
    the git gate, which refreshes its mirror from upstream first); the first failure stops it,
    saying which. A clone already there (an agent that persists its working folder) is fetched
    instead: its branches, index and files stay as the last session left them. None when there
    is nothing to check out (an archived clone is already there)."""
    checkouts = [checkout for checkout in plan.checkouts if not checkout.archived]
    if not checkouts:
        return None
    lines = ["set -u", f"cd {shlex.quote(WORKDIR)}"]
    for checkout in checkouts:
        url, folder, repo = (shlex.quote(v) for v in (checkout.url, checkout.folder, checkout.repo))
        fail = f"{{ echo checkout of {repo} failed >&2; exit 1; }}"
        lines.append(f"if [ -d {folder}/.git ]; then git -C {folder} fetch -q origin || {fail}")
        lines.append(f"else git clone -q -- {url} {folder} || {fail}; fi")
    return "\n".join(lines)
