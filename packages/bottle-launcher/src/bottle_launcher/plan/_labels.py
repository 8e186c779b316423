"""The labels that are the source of truth for what belongs to a bottle (docker compose's manner):
every container, network and volume the launcher makes carries them, and `ps`, `stop`, `prune`
and `volumes` find things by them alone."""

from __future__ import annotations

LABEL = "dev.claude-bottle"
ID_LABEL = f"{LABEL}.id"
# A persisted volume carries these instead of the bottle id, so removing a bottle leaves it.
PERSIST_LABEL = f"{LABEL}.persist"
PROJECT_LABEL = f"{LABEL}.project"
VOLUME_LABEL = f"{LABEL}.volume"  # on the agent container: the persisted volume it uses
WORKSPACE_LABEL = f"{LABEL}.workspace"  # on the git gate: the local repository it serves
# Where the bottle came from, as `allow --save` and `check <bottle-id>` need it: the manifest file
# that declares it (the bottle's name is `{LABEL}.bottle`), and its egress engine.
MANIFEST_LABEL = f"{LABEL}.manifest"
EGRESS_ENGINE_LABEL = f"{LABEL}.egress-engine"
