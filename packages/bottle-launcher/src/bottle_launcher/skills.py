"""Find each granted skill on the host and turn it into files for the agent's ~/.claude/skills.

They are written to ~/.bottle/skills, and the agent's entrypoint puts exactly them in claude's
skills folder at every start: for an agent that persists, that folder is in a volume, and a skill
the manifest no longer grants must not outlive its grant there."""

from __future__ import annotations

from pathlib import Path

from bottle_contract.agent import HOME as AGENT_HOME
from bottle_contract.agent import UID as AGENT_UID

from .errors import LaunchError
from .plan import FileSpec


def skill_roots(project_dir: Path, home: Path | None) -> list[Path]:
    roots = [project_dir / ".claude" / "skills"]
    if home is not None:
        roots.append(home / ".claude" / "skills")
    return roots


def skill_files(names: tuple[str, ...], roots: list[Path]) -> tuple[FileSpec, ...]:
    files: list[FileSpec] = []
    missing = []
    for name in names:
        source = next((root / name for root in roots if (root / name).is_dir()), None)
        if source is None:
            missing.append(name)
            continue
        for path in sorted(source.rglob("*")):
            if path.is_file() and not path.is_symlink():
                relative = path.relative_to(source).as_posix()
                files.append(
                    FileSpec(AGENT_HOME, f".bottle/skills/{name}/{relative}", path.read_bytes(), 0o644, AGENT_UID)
                )
    if missing:
        where = " or ".join(str(root) for root in roots)
        raise LaunchError(f"skill(s) not found: {', '.join(missing)}", hint=f"each skill is a folder in {where}")
    return tuple(files)
