"""The `bottle-launch` command line."""

from __future__ import annotations

import click

from .. import __version__
from ._group import AgentDefaultGroup
from .build import build
from .check import check
from .doctor import doctor
from .lifecycle import exec_, prune, ps, stop
from .logs import logs
from .plan import plan
from .schema import schema
from .start import start
from .validate import validate


@click.group(cls=AgentDefaultGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="bottle-launch")
def cli() -> None:
    """Run Claude Code agents in sealed bottles.

    `bottle-launch AGENT` is short for `bottle-launch start AGENT`.
    """


for command in (start, plan, check, validate, schema, ps, stop, prune, exec_, logs, build, doctor):
    cli.add_command(command)


def main() -> None:
    cli(prog_name="bottle-launch")
