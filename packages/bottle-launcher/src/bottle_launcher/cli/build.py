from __future__ import annotations

import click

from ..images import IMAGE_NAMES
from ..runtime import open_backend


@click.command()
@click.argument("names", nargs=-1, type=click.Choice(IMAGE_NAMES))
@click.option("--quiet", "-q", is_flag=True, help="Print only the tags.")
def build(names: tuple[str, ...], quiet: bool) -> None:
    """Build the bottle images now (launches build what they lack on their own)."""
    backend = open_backend()
    for name in names or IMAGE_NAMES:
        tag = backend.image(name, (lambda line: None) if quiet else (lambda line: click.echo(line, err=True)))
        click.echo(tag)
