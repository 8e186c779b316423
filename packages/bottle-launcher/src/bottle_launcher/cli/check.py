"""`bottle-launch check AGENT URL`: the egress gate's answer for one request, without starting anything."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ..egress_check import check as check_url
from ..egress_check import resolve
from ..plan import build_plan
from ._options import load_manifest, manifest_option


def _header(text: str) -> tuple[str, str]:
    name, sep, value = text.partition(":")
    if not sep or not name.strip():
        raise click.BadParameter(f"{text!r} is not NAME: VALUE", param_hint="--header")
    return name.strip(), value.strip()


@click.command()
@click.argument("agent")
@click.argument("url")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--no-resolve", is_flag=True, help="Skip the DNS lookup (the SSRF check then waits for the gate).")
@click.option("-X", "--method", default="GET", show_default=True, help="The request's method.")
@click.option("-H", "--header", "headers", multiple=True, metavar="'NAME: VALUE'", help="A header to send; repeatable.")
@click.option("-d", "--data", default=None, help="A body to send (scanned as the gate scans a body).")
@manifest_option
def check(
    agent: str,
    url: str,
    as_json: bool,
    no_resolve: bool,
    method: str,
    headers: tuple[str, ...],
    data: str | None,
    manifest_path: Path | None,
) -> None:
    """Say whether AGENT's egress gate would let a request to URL through, and why.

    The gate's own decision pipeline judges it. The bottle's secret values are not read: a
    credential is known here only by where it may go.

    Exit status: 0 allowed, 1 refused (in report mode: would be refused), 2 a usage error.
    """
    plan = build_plan(load_manifest(manifest_path).agent(agent))
    sent = [_header(text) for text in headers]
    body = data.encode() if data is not None else b""
    try:
        verdict = check_url(plan, url, None if no_resolve else resolve, method=method, headers=sent, body=body)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="URL") from None
    if as_json:
        click.echo(json.dumps(verdict.as_dict(), indent=2))
    else:
        refusal = verdict.refusal
        outcome = {
            "allow": "allowed",
            "block": "refused",
            "would-block": "would be refused (report mode lets it through)",
        }
        head = f"{verdict.url}: {outcome[verdict.decision]}"
        click.echo(head + (f"  [{refusal.rule}]" if refusal else ""))
        for step in verdict.steps:
            click.echo(f"  {step.check:<12} {'ok ' if step.allowed else 'NO '} {step.detail}")
        if refusal and refusal.hint:
            click.echo(f"To allow it, {refusal.hint} in claude-bottle.json.")
    sys.exit(0 if verdict.allowed else 1)
