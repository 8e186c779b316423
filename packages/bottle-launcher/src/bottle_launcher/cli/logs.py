"""`bottle-launch logs`: the agent's output, or the egress gate's decisions and live policy changes."""

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
    command = event.get("command")
    return line + (f"  to allow: {hint}" if hint else "") + (f"  now: {command}" if command else "")


def _policy_line(raw: bytes) -> str | None:
    """A live allowlist change (`bottle-launch allow`/`deny`), as the gate applied it."""
    event = events.parse(raw)
    if event is None or event.event != events.POLICY:
        return None
    change = " ".join([*(f"+{h}" for h in event.get("added", [])), *(f"-{h}" for h in event.get("removed", []))])
    closed = int(event.get("closed", 0) or 0)
    tunnels = f", closed {closed} tunnel{'s' if closed != 1 else ''}" if closed else ""
    who = f"by {event.get('by')}, pid {event.get('pid')}"
    return f"{event.time}  {'policy':<11} {change or '(no change)'}  ({who}{tunnels})"


def _shown(raw: bytes, as_json: bool, refused: bool) -> bytes | None:
    """The egress gate's line as `logs --egress` shows it, or None to skip it."""
    event = events.parse(raw)
    if event is None or (refused and not event.refused):
        return None
    if as_json:
        return raw
    line = _decision_line(raw) or (None if refused else _policy_line(raw))
    return line.encode() if line is not None else None


@click.command()
@click.argument("target")
@click.option("--egress", is_flag=True, help="The egress gate's decisions instead of the agent's output.")
@click.option("--refused", is_flag=True, help="Only the egress gate's refusals (report mode: would-blocks).")
@click.option("--json", "as_json", is_flag=True, help="With --egress: the gate's JSON lines as they are.")
@click.option("--follow", "-f", is_flag=True, help="Keep printing new lines until interrupted.")
def logs(target: str, egress: bool, refused: bool, as_json: bool, follow: bool) -> None:
    """Show a bottle's logs, by bottle id or agent name. With --egress, the gate's decisions and
    the live allowlist changes (`bottle-launch allow`/`deny`); --refused implies --egress."""
    backend = open_backend()
    matches = find_bottles(backend, target)
    if len(matches) > 1:
        ids = ", ".join(i.bottle_id for i in matches)
        raise LaunchError(f"{target!r} names several bottles: {ids}", hint="give a bottle id")
    egress = egress or refused
    role = "egress" if egress else "agent"
    try:
        for raw in backend.sidecar_log_stream(matches[0].bottle_id, role, follow):
            line = _shown(raw, as_json, refused) if egress else raw
            if line is not None:
                sys.stdout.buffer.write(line + b"\n")
                sys.stdout.flush()
    except KeyboardInterrupt:
        pass
