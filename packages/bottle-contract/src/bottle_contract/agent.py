"""The agent container's side of the contract (images/agent): its user, folders and handover."""

from __future__ import annotations

UID = 1000  # images/agent's `claude` user (a build argument from here)
HOME = "/home/claude"
WORKDIR = f"{HOME}/work"  # claude's working folder
CLAUDE_DIR = f"{HOME}/.claude"
HANDOVER_DIR = "/run/bottle"  # tmpfs: the env handover (bottle_contract.handover) and SSH identities
IDENTITY_SUBDIR = "ssh"  # under HANDOVER_DIR: one key file per SSH alias, in memory only
# The entrypoint reads where its handover arrives from here, and the folder to start in.
HANDOVER_FILE_VAR = "BOTTLE_HANDOVER_FILE"
START_FOLDER_VAR = "BOTTLE_START_FOLDER"
