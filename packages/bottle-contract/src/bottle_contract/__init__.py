"""Everything the claude-bottle launcher and its gates agree on, defined once and imported by
both sides of the process boundary: one module per gate (`egress`, `git`, `ssh`) with its paths,
port, UID and config document, and what they share: the agent's side (`agent`), the handover
marker (`handover`), the network variable (`network`) and the event lines (`events`).

Standard library only: every gate image carries it, and the launcher imports it without
pulling in a gate's dependencies."""

from . import agent, egress, events, git, handover, network, ssh
from ._json import ContractError

__version__ = "0.1.0"

__all__ = ["ContractError", "agent", "egress", "events", "git", "handover", "network", "ssh"]
