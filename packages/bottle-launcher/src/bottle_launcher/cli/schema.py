from __future__ import annotations

import json

import bottle_manifest
import click


@click.command()
def schema() -> None:
    """Print the manifest's JSON Schema."""
    click.echo(json.dumps(bottle_manifest.json_schema(), indent=2))
