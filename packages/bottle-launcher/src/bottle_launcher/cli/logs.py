"""`bottle-launch logs`: the agent's output, or the egress gate's decisions."""

from __future__ import annotations

import json
import sys

import click

from ..errors import LaunchError
from ..runtime.docker import DockerBackend
from .lifecycle import find_bottles


def _decision_line(raw: bytes) -> str | None:
    try:
        record = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(record, dict) or record.get("event") != "decision":
        return None
    line = (
        f"{record.get('time', '')}  {record.get('decision', ''):<11} {record.get('method', ''):<7} "
        f"{record.get('host', '')}{record.get('path', '')}  [{record.get('rule', '')}]"
    )
    hint = record.get("hint")
    return line + (f"  to allow: {hint}" if hint else "")


@click.command()
@click.argument("target")
@click.option("--egress", is_flag=True, help="The egress gate's decisions instead of the agent's output.")
@click.option("--json", "as_json", is_flag=True, help="With --egress: the gate's JSON lines as they are.")
@click.option("--follow", "-f", is_flag=True, help="Keep printing new lines until interrupted.")
def logs(target: str, egress: bool, as_json: bool, follow: bool) -> None:
    """Show a bottle's logs, by bottle id or agent name."""
    backend = DockerBackend()
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
                if raw.startswith(b"{"):
                    sys.stdout.buffer.write(raw + b"\n")
            elif (line := _decision_line(raw)) is not None:
                click.echo(line)
            sys.stdout.flush()
    except KeyboardInterrupt:
        pass
