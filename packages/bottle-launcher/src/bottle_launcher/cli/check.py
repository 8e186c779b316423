"""`bottle-launch check TARGET URL`: the egress gate's answer for one request, without starting
anything. TARGET is an agent (its gate as a launch would plan it) or a running bottle's id (its
gate as it runs now: the config it started with and its live changes, read from the gate)."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import bottle_manifest
import click
from egress_gate import KnownSecret, Policy

from ..egress_check import check as check_url
from ..egress_check import known_for, resolve, running_policy
from ..errors import LaunchError
from ..plan import Plan, build_plan
from ..runtime import BottleInfo, RuntimeBackend, open_backend
from ._options import load_manifest, manifest_option

_BOTTLE_ID = re.compile(r"[0-9a-f]{8}\Z")  # what a launch names a bottle (secrets.token_hex(4))


def running_bottle(target: str) -> tuple[RuntimeBackend, BottleInfo] | None:
    """The running bottle `target` names by its id, if it looks like one and one runs. Only then
    is the engine asked: checking an agent needs no engine."""
    if not _BOTTLE_ID.match(target):
        return None
    try:
        backend = open_backend()
    except LaunchError:
        return None  # no engine: the target can only be an agent
    info = next((i for i in backend.list() if i.bottle_id == target), None)
    return (backend, info) if info is not None else None


def _credentials(info: BottleInfo) -> tuple[KnownSecret, ...]:
    """Where the running bottle's credentials may go, with stand-in values, from the manifest its
    label names (check never reads the gate's secrets); none if that manifest changed too much."""
    try:
        return known_for(build_plan(bottle_manifest.load(info.manifest).agent(info.agent)))
    except (bottle_manifest.ManifestError, OSError, KeyError):
        return ()


def _policy(backend: RuntimeBackend, info: BottleInfo) -> Policy:
    if info.egress_engine and info.egress_engine != "mitmproxy":
        raise LaunchError(f"bottle {info.bottle_id} runs the {info.egress_engine} egress engine, which check cannot "
                          "answer for", hint=f"check its agent: `bottle-launch check {info.agent} URL`")  # fmt: skip
    config = backend.egress_config(info.bottle_id)
    return running_policy(config, backend.live_policy(info.bottle_id), _credentials(info) if info.manifest else ())


def _header(text: str) -> tuple[str, str]:
    name, sep, value = text.partition(":")
    if not sep or not name.strip():
        raise click.BadParameter(f"{text!r} is not NAME: VALUE", param_hint="--header")
    return name.strip(), value.strip()


@click.command()
@click.argument("target")
@click.argument("url")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--no-resolve", is_flag=True, help="Skip the DNS lookup (the SSRF check then waits for the gate).")
@click.option("-X", "--method", default="GET", show_default=True, help="The request's method.")
@click.option("-H", "--header", "headers", multiple=True, metavar="'NAME: VALUE'", help="A header to send; repeatable.")
@click.option("-d", "--data", default=None, help="A body to send (scanned as the gate scans a body).")
@manifest_option
def check(
    target: str,
    url: str,
    as_json: bool,
    no_resolve: bool,
    method: str,
    headers: tuple[str, ...],
    data: str | None,
    manifest_path: Path | None,
) -> None:
    """Say whether an egress gate would let a request to URL through, and why: TARGET's, an agent
    (as a launch would plan its gate) or a running bottle's id (as its gate runs now, with the
    changes `bottle-launch allow` and `deny` made).

    The gate's own decision pipeline judges it. The bottle's secret values are not read: a
    credential is known here only by where it may go.

    Exit status: 0 allowed, 1 refused (in report mode: would be refused), 2 a usage error.
    """
    running = running_bottle(target)
    judged: Plan | Policy = _policy(*running) if running else build_plan(load_manifest(manifest_path).agent(target))
    sent = [_header(text) for text in headers]
    body = data.encode() if data is not None else b""
    try:
        verdict = check_url(judged, url, None if no_resolve else resolve, method=method, headers=sent, body=body)
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
        if verdict.allow_now:
            click.echo(f"To allow it now: {verdict.allow_now}")
    sys.exit(0 if verdict.allowed else 1)
