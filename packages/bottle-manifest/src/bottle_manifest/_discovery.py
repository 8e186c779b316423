"""Where manifests live: the nearest project file, and the one in $HOME."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

FILENAME = "claude-bottle.json"


@dataclass(frozen=True)
class Discovery:
    files: tuple[Path, ...]  # home first, so project entries override it when merged
    searched: tuple[Path, ...]


def discover(cwd: Path, home: Path | None, manifest: Path | None = None) -> Discovery:
    searched: list[Path] = []
    project: Path | None = None
    if manifest is not None:
        searched.append(manifest)
        project = manifest
    else:
        for directory in (cwd, *cwd.parents):
            candidate = directory / FILENAME
            searched.append(candidate)
            if candidate.is_file():
                project = candidate
                break
    files: list[Path] = []
    if home is not None:
        home_file = home / FILENAME
        if home_file not in searched:
            searched.append(home_file)
        if home_file.is_file() and (project is None or not _same(home_file, project)):
            files.append(home_file)
    if project is not None and (manifest is not None or project.is_file()):
        files.append(project)
    return Discovery(tuple(files), tuple(searched))


def _same(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False
