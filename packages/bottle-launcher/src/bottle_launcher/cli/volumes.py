"""`bottle-launch volumes`: the volumes agents that persist keep between bottles."""

from __future__ import annotations

import json
from dataclasses import asdict

import click
from bottle_manifest import format_size

from ..errors import LaunchError
from ..runtime import open_backend
from ..volumes import forget


@click.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@click.pass_context
def volumes(ctx: click.Context, as_json: bool) -> None:
    """List the volumes of agents that persist (`"persist": true`): agent, project, size, last use."""
    if ctx.invoked_subcommand is not None:
        return
    found = open_backend().persisted_volumes()
    if as_json:
        click.echo(json.dumps([asdict(v) for v in found], indent=2))
        return
    click.echo(f"{'AGENT':<16}{'HOLDS':<8}{'SIZE':<10}{'LAST USED':<27}{'IN USE BY':<11}PROJECT")
    for v in found:
        size = format_size(v.size) if v.size is not None else "?"
        users = ",".join(v.in_use_by) or "-"
        click.echo(f"{v.agent:<16}{v.role:<8}{size:<10}{v.last_used or 'unknown':<27}{users:<11}{v.project}")


@volumes.command(name="rm")
@click.argument("agent")
@click.option("--project", default=None, metavar="PATH", help="Only the volumes of the project in this folder.")
def rm(agent: str, project: str | None) -> None:
    """Remove AGENT's volumes (its sessions and working folder), in every project unless --project."""
    backend = open_backend()
    chosen = [v for v in backend.persisted_volumes() if v.agent == agent and project in (None, v.project)]
    if not chosen:
        raise LaunchError(f"agent {agent!r} has no persisted volumes", hint="`bottle-launch volumes` lists them")
    busy = sorted({bottle for v in chosen for bottle in v.in_use_by})
    if busy:
        raise LaunchError(
            f"agent {agent!r}'s volumes are in use by bottle {', '.join(busy)}",
            hint=f"`bottle-launch stop {busy[0]}` first",
        )
    for v in chosen:
        backend.remove_volume(v.name)
        click.echo(f"removed {v.name} ({v.role}, {v.project})")
    forget([v.name for v in chosen])
