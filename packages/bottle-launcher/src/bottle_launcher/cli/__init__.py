"""The `bottle-launch` command line."""

from __future__ import annotations

import click

from .. import __version__
from ._group import AgentDefaultGroup

COMMANDS = {
    "start": "start:start",
    "plan": "plan:plan",
    "check": "check:check",
    "allow": "live:allow",
    "deny": "live:deny",
    "validate": "validate:validate",
    "schema": "schema:schema",
    "ps": "lifecycle:ps",
    "stop": "lifecycle:stop",
    "prune": "lifecycle:prune",
    "exec": "lifecycle:exec_",
    "volumes": "volumes:volumes",
    "logs": "logs:logs",
    "build": "build:build",
    "doctor": "doctor:doctor",
    "render": "render:render",
}


@click.group(cls=AgentDefaultGroup, lazy=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="bottle-launch")
def cli() -> None:
    """Run Claude Code agents in sealed bottles.

    `bottle-launch AGENT` is short for `bottle-launch start AGENT`.
    """


def main() -> None:
    cli(prog_name="bottle-launch")
