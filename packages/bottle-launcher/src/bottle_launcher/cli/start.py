from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console

from ..launch import StartRequest
from ..launch import start as run_start
from ._options import manifest_option


@click.command()
@click.argument("agent")
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
@click.option("--yes", "-y", is_flag=True, help="Skip the y/N question.")
@click.option("--detach", "-d", is_flag=True, help="Start without attaching; print the bottle id.")
@click.option("--runtime", default=None, help="OCI runtime for every container (default: runsc when registered).")
@click.option(
    "--egress-network",
    default=None,
    metavar="NAME",
    help="Attach the sidecars to this existing Docker network as their way out.",
)
@click.option("--discard", is_flag=True, help="At the end, remove unsaved work instead of saving it to the host.")
@click.option(
    "--workspace",
    type=click.Path(path_type=Path),
    default=None,
    help="A git repository on this machine for the agent to work in, through the git gate.",
)
@click.option("--with-changes", is_flag=True, help="Bring the workspace's uncommitted changes too, as one commit.")
@manifest_option
def start(
    agent: str,
    command: tuple[str, ...],
    yes: bool,
    detach: bool,
    runtime: str | None,
    egress_network: str | None,
    discard: bool,
    workspace: Path | None,
    with_changes: bool,
    manifest_path: Path | None,
) -> None:
    """Start AGENT in a new bottle and attach to it. After `--`, COMMAND runs instead of claude."""
    request = StartRequest(
        agent, manifest_path, command, yes, detach, runtime, egress_network, discard, workspace, with_changes
    )
    sys.exit(run_start(request, Console(stderr=True)))
