from __future__ import annotations

from pathlib import Path

import click

from ..errors import LaunchError
from ._options import load_manifest, manifest_option


@click.command(context_settings={"allow_interspersed_args": False})
@click.argument("agent")
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
@click.option("--yes", "-y", is_flag=True, help="Skip the y/N question.")
@click.option("--detach", "-d", is_flag=True, help="Start without attaching; print the bottle id.")
@manifest_option
def start(agent: str, command: tuple[str, ...], yes: bool, detach: bool, manifest_path: Path | None) -> None:
    """Start AGENT in a new bottle and attach to it. After `--`, a COMMAND runs instead of claude."""
    load_manifest(manifest_path).agent(agent)
    raise LaunchError(
        "starting a bottle is not implemented yet", hint=f"`bottle-launch plan {agent}` shows what it would do"
    )
