"""ps, stop, prune and exec: everything is found by its labels, so they work from any shell."""

from __future__ import annotations

import json
import socket
import sys

import click

from ..errors import LaunchError
from ..prune import is_orphan, prune_orphans
from ..runtime import BottleInfo, RuntimeBackend, open_backend
from ..teardown import remove_bottle
from ..volumes import forget


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
def ps(as_json: bool) -> None:
    """List bottles. STATE is `running` only when every container runs; `degraded` when the agent
    runs but a gate does not (the list after it says which, and why)."""
    infos = open_backend().list()
    rows = [
        {
            "id": info.bottle_id,
            "agent": info.agent,
            "bottle": info.bottle,
            "state": info.state,
            "agent_state": info.agent_state,
            "gates_down": list(info.gates_down),
            "containers": [
                {
                    "name": c.name,
                    "role": c.role,
                    "state": c.state,
                    "exit_code": c.exit_code,
                    "oom_killed": c.oom_killed,
                    "health": c.health,
                }
                for c in info.containers
            ],
            "networks": list(info.networks),
            "launcher": {"host": info.launcher_host, "pid": info.launcher_pid},
            "detached": info.detached,
        }
        for info in infos
    ]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    click.echo(f"{'ID':<10}{'AGENT':<20}{'BOTTLE':<20}{'STATE':<10}CONTAINERS")
    for info in infos:
        roles = " ".join(f"{c.role}:{c.status}" for c in info.containers)
        click.echo(f"{info.bottle_id:<10}{info.agent:<20}{info.bottle:<20}{info.state:<10}{roles}")


def find_bottles(backend: RuntimeBackend, target: str) -> list[BottleInfo]:
    """The bottles a user means by a bottle id or an agent name; none is an error."""
    matches = [i for i in backend.list() if target in (i.bottle_id, i.agent)]
    if not matches:
        raise LaunchError(f"no bottle matches {target!r}", hint="`bottle-launch ps` lists them")
    return matches


@click.command()
@click.argument("target")
@click.option("--discard", is_flag=True, help="Remove unsaved work instead of saving it to the host.")
def stop(target: str, discard: bool) -> None:
    """Remove a bottle, by id or by agent name (every bottle of that agent). Work the agent did
    not push is saved to the host first (see docs/workspace.md) unless --discard."""
    backend = open_backend()
    for info in find_bottles(backend, target):
        remove_bottle(backend, info.bottle_id, info.agent, mode="discard" if discard else "save", say=_say)
        click.echo(f"removed {info.bottle_id} ({info.agent})")


def _say(text: str) -> None:
    click.echo(text, err=True)


@click.command()
@click.option("--all", "everything", is_flag=True, help="Also remove detached and other launchers' bottles.")
@click.option("--discard", is_flag=True, help="Remove unsaved work instead of saving it to the host.")
@click.option("--volumes", "with_volumes", is_flag=True, help="Also remove persisted volumes no bottle uses.")
def prune(everything: bool, discard: bool, with_volumes: bool) -> None:
    """Remove what killed launchers left behind, saving the work they had not pushed. Volumes of
    agents that persist are kept unless --volumes."""
    backend = open_backend()
    if everything:
        infos = backend.list()
        for info in infos:
            remove_bottle(backend, info.bottle_id, info.agent, mode="discard" if discard else "save", say=_say)
        removed = [info.bottle_id for info in infos]
    else:
        removed = prune_orphans(backend, say=_say, mode="discard" if discard else "save")
    for bottle_id in removed:
        click.echo(f"removed {bottle_id}")
    if with_volumes:
        unused = [v for v in backend.persisted_volumes() if not v.in_use_by]
        for volume in unused:
            backend.remove_volume(volume.name)
            click.echo(f"removed volume {volume.name} ({volume.agent}, {volume.project})")
        forget([v.name for v in unused])
    host = socket.gethostname()
    kept = [i for i in backend.list() if not is_orphan(i, host)]
    if kept and not everything:
        click.echo(f"{len(kept)} bottle(s) still have a live launcher or are detached; `--all` removes them too")


@click.command(name="exec")
@click.option(
    "--tty/--no-tty",
    "-t/-T",
    "tty",
    default=None,
    help="Give COMMAND a terminal (default: when stdin is one), e.g. for a second claude or a shell.",
)
@click.argument("bottle_id")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
def exec_(bottle_id: str, command: tuple[str, ...], tty: bool | None) -> None:
    """Run COMMAND in a bottle's agent container; its exit code is passed through."""
    if tty is None:
        tty = sys.stdin.isatty()
    sys.exit(open_backend().exec(bottle_id, list(command), tty=tty))
