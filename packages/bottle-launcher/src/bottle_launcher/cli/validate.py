from __future__ import annotations

from pathlib import Path

import click

from ._options import load_manifest, manifest_option


@click.command()
@manifest_option
def validate(manifest_path: Path | None) -> None:
    """Check the manifest; print every problem as `<file>: <json path>: <message>`."""
    manifest = load_manifest(manifest_path)
    files = ", ".join(str(source) for source in manifest.sources)
    click.echo(f"ok: {len(manifest.agents)} agents, {len(manifest.bottles)} bottles ({files})")
