from __future__ import annotations

from pathlib import Path

import bottle_manifest
import click

manifest_option = click.option(
    "--manifest",
    "manifest_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Use this file instead of the nearest claude-bottle.json.",
)


def load_manifest(path: Path | None) -> bottle_manifest.Manifest:
    return bottle_manifest.load(path)
