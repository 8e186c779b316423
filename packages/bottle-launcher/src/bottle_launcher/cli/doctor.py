from __future__ import annotations

import os
import sys

import click

from ..errors import LaunchError
from ..images import IMAGE_NAMES, BuildOptions, image_exists, image_tag
from ..launch import TOKEN_VAR
from ..runtime.docker import connect, detect_runtime, find_endpoint


@click.command()
def doctor() -> None:
    """Check the engine, runtimes, images and token; say what to fix."""
    problems = 0

    def report(ok: bool, what: str, fix: str = "") -> None:
        nonlocal problems
        problems += not ok
        click.echo(f"{'ok ' if ok else 'FIX'}  {what}" + (f"\n     -> {fix}" if fix and not ok else ""))

    try:
        endpoint = find_endpoint()
        client = connect(timeout=10)
        info = client.info()
    except LaunchError as exc:
        report(False, f"Docker engine: {exc}", "start Docker, or set DOCKER_HOST to a running engine")
        sys.exit(1)
    report(True, "Docker engine " + endpoint.describe(info))
    runtimes = sorted((info.get("Runtimes") or {}).keys())
    gvisor = detect_runtime(client)
    uses = f"bottles use {gvisor}" if gvisor else "gVisor not registered"
    report(True, f"runtimes: {', '.join(runtimes)}; {uses}")
    options = BuildOptions.from_env()
    for name in IMAGE_NAMES:
        tag = image_tag(client, name, options)
        report(True, f"image {tag}" if image_exists(client, tag) else f"image {tag} will be built on the first launch")
    report(
        bool(os.environ.get(TOKEN_VAR)), f"{TOKEN_VAR} is set", f"run `claude setup-token` and export it as {TOKEN_VAR}"
    )
    sys.exit(1 if problems else 0)
