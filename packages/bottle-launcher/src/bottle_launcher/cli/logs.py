"""`bottle-launch logs`: the agent's output, or the egress gate's decisions."""

from __future__ import annotations

import sys

import click
from bottle_contract import events

from ..errors import LaunchError
from ..runtime import open_backend
from .lifecycle import find_bottles


def _decision_line(raw: bytes) -> str | None:
    event = events.parse(raw)
    if event is None or event.event != events.DECISION:
        return None
    line = (
        f"{event.time}  {event.get('decision', ''):<11} {event.get('method', ''):<7} "
        f"{event.get('host', '')}{event.get('path', '')}  [{event.get('rule', '')}]"
    )
    hint = event.get("hint")
    return line + (f"  to allow: {hint}" if hint else "")


@click.command()
@click.argument("target")
@click.option("--egress", is_flag=True, help="The egress gate's decisions instead of the agent's output.")
@click.option("--json", "as_json", is_flag=True, help="With --egress: the gate's JSON lines as they are.")
@click.option("--follow", "-f", is_flag=True, help="Keep printing new lines until interrupted.")
def logs(target: str, egress: bool, as_json: bool, follow: bool) -> None:
    """Show a bottle's logs, by bottle id or agent name."""
    backend = open_backend()
    matches = find_bottles(backend, target)
    if len(matches) > 1:
        ids = ", ".join(i.bottle_id for i in matches)
        raise LaunchError(f"{target!r} names several bottles: {ids}", hint="give a bottle id")
    role = "egress" if egress else "agent"
    try:
        for raw in backend.sidecar_log_stream(matches[0].bottle_id, role, follow):
            if not egress:
                sys.stdout.buffer.write(raw + b"\n")
            elif as_json:
                if events.parse(raw) is not None:
                    sys.stdout.buffer.write(raw + b"\n")
            elif (line := _decision_line(raw)) is not None:
                click.echo(line)
            sys.stdout.flush()
    except KeyboardInterrupt:
        pass
