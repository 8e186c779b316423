"""`bottle-launch render kubernetes AGENT`: the bottle as Kubernetes objects, without an engine
or a cluster (docs/kubernetes.md)."""

from __future__ import annotations

import ipaddress
import os
import re
from pathlib import Path

import click

from ..render import offline_bottle
from ..render.kubernetes import KubeOptions, files, header, namespace, stream
from ..render.kubernetes import render as render_objects
from ._options import load_manifest, manifest_option


@click.group()
def render() -> None:
    """Write a bottle's objects for another platform, from the plan `start` applies."""


def _cidr(ctx: click.Context, param: click.Parameter, value: str) -> str:
    try:
        return str(ipaddress.ip_network(value))
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _bottle_id(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is not None and not re.fullmatch(r"[a-z0-9]{1,16}", value):
        raise click.BadParameter("lower-case letters and digits, at most 16")
    return value


@render.command()
@click.argument("agent")
@click.argument("command", nargs=-1)
@manifest_option
@click.option(
    "--output",
    "-o",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Write one file per object into this folder (new or empty) instead of one stream to stdout.",
)
@click.option("--registry", default="", metavar="PREFIX", help="Pull the images from PREFIX/claude-bottle/...")
@click.option(
    "--runtime-class",
    default="gvisor",
    show_default=True,
    help="The RuntimeClass every Pod runs under (gVisor or Kata); '' for the node's default.",
)
@click.option(
    "--pod-cidr",
    default="10.0.0.0/8",
    show_default=True,
    callback=_cidr,
    help="The cluster's Pod network: the only peers the gates serve.",
)
@click.option("--storage-class", default=None, help="For an agent that persists: its volume claims' class.")
@click.option("--bottle-id", default=None, callback=_bottle_id, help="The bottle's id (default: a random one).")
@click.option(
    "--with-secrets",
    is_flag=True,
    help="Put the values in the Secrets (identities, env, a new CA, Claude's token), read as `start` reads them.",
)
def kubernetes(
    agent: str,
    command: tuple[str, ...],
    manifest_path: Path | None,
    output: Path | None,
    registry: str,
    runtime_class: str,
    pod_cidr: str,
    storage_class: str | None,
    bottle_id: str | None,
    with_secrets: bool,
) -> None:
    """Kubernetes objects for one bottle of AGENT: its Namespace, NetworkPolicies, ConfigMaps,
    Secrets, Services and Pods (the agent's, and one per gate). A COMMAND after `--` runs
    instead of claude.

    Nothing is built, started or asked of a cluster. Without --with-secrets no secret is read:
    the Secrets name their keys, empty, and say how to fill them."""
    spec = load_manifest(manifest_path).agent(agent)
    bottle = offline_bottle(
        spec,
        command=command,
        bottle_id=bottle_id,
        registry=registry,
        with_secrets=with_secrets,
        sandbox=bool(runtime_class),
    )
    options = KubeOptions(
        images=bottle.images,
        runtime_class=runtime_class or None,
        pod_cidr=pod_cidr,
        storage_class=storage_class,
    )
    objects = render_objects(bottle.runtime, bottle.handover, options)
    runtime = bottle.runtime
    comment = header(
        runtime.plan.agent,
        runtime.plan.bottle,
        runtime.bottle_id,
        namespace(runtime),
        bottle.images,
        bottle.handover.values,
    )
    for note in bottle.notes:
        click.echo(f"note: {note}", err=True)
    if output is None:
        click.echo(stream(objects, comment), nl=False)
        return
    if output.exists() and any(output.iterdir()):
        raise click.BadParameter(f"{output} is not empty", param_hint="--output")
    output.mkdir(parents=True, exist_ok=True)
    for name, text, is_secret in files(objects, comment):
        path = output / name
        # A Secret's file is the user's alone, with values or without (they are filled in there).
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if is_secret else 0o644)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(text)
    click.echo(f"wrote {len(objects)} objects to {output} (namespace {namespace(runtime)})", err=True)
