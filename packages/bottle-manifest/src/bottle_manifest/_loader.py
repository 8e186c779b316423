"""Read, parse and validate manifest files, then merge them by entry name."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._discovery import discover
from ._errors import Issue, ManifestError, ManifestNotFoundError, json_path
from ._jsonc import JsoncError, loads
from ._models import Agent, Bottle, ManifestFile
from ._spec import AgentSpec
from ._validate import validate_file


@dataclass(frozen=True)
class Sourced:
    """A bottle or agent with the file that declared it."""

    name: str
    source: Path
    bottle: Bottle | None = None
    agent: Agent | None = None


@dataclass(frozen=True)
class Manifest:
    """The merged view of every manifest file found."""

    sources: tuple[Path, ...]
    bottles: Mapping[str, Sourced] = field(default_factory=dict)
    agents: Mapping[str, Sourced] = field(default_factory=dict)

    def agent(self, name: str) -> AgentSpec:
        """The agent with its bottle; raises ManifestError naming the agents that exist."""
        entry = self.agents.get(name)
        if entry is None:
            known = ", ".join(sorted(self.agents)) or "none"
            files = ", ".join(str(s) for s in self.sources)
            raise ManifestError([Issue(files, json_path(("agents", name)), f"no such agent; agents: {known}")])
        assert entry.agent is not None
        bottle = self.bottles[entry.agent.bottle]
        assert bottle.bottle is not None
        return AgentSpec(
            name=name,
            agent=entry.agent,
            agent_source=entry.source,
            bottle_name=entry.agent.bottle,
            bottle=bottle.bottle,
            bottle_source=bottle.source,
        )


def read_file(path: Path) -> tuple[ManifestFile | None, Any, list[Issue]]:
    """Parse and validate one file: (model or None, raw document or None, issues)."""
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, None, [Issue(file, "$", "file not found")]
    except UnicodeDecodeError:
        return None, None, [Issue(file, "$", "the file is not UTF-8 text")]
    except OSError as exc:
        return None, None, [Issue(file, "$", f"cannot read the file: {exc.strerror or exc}")]
    return read_text(text, file)


def read_text(text: str, file: str) -> tuple[ManifestFile | None, Any, list[Issue]]:
    """Parse and validate one file's text, as `read_file` does (an edit is checked before it is written)."""
    try:
        data, duplicates = loads(text)
    except JsoncError as exc:
        return None, None, [Issue(file, "$", f"invalid JSON: {exc}")]
    manifest, issues = validate_file(data, file)
    issues += [Issue(file, "$", f"duplicate key {key!r}; only the last one would count") for key in duplicates]
    return (manifest if not issues else None), data, issues


def _section(data: Any, key: str) -> dict[str, Any]:
    section = data.get(key) if isinstance(data, dict) else None
    return section if isinstance(section, dict) else {}


def _dangling_bottles(raw: list[tuple[Path, Any]]) -> list[Issue]:
    """Agents naming a bottle no file declares. Read from the raw documents so that this is
    reported alongside every other problem, even in files that failed validation."""
    bottles: set[str] = set()
    agents: dict[str, tuple[Path, Any]] = {}
    for path, data in raw:
        bottles.update(_section(data, "bottles"))
        for name, agent in _section(data, "agents").items():
            agents[name] = (path, agent)
    issues = []
    for name, (path, agent) in agents.items():
        bottle = agent.get("bottle") if isinstance(agent, dict) else None
        if isinstance(bottle, str) and bottle not in bottles:
            known = ", ".join(sorted(bottles)) or "none"
            issues.append(
                Issue(
                    str(path),
                    json_path(("agents", name, "bottle")),
                    f"bottle {bottle!r} does not exist; bottles: {known}",
                )
            )
    return issues


def checkout_folder(repo: str) -> str:
    """The folder (under the working folder) a repository is checked out into: its name."""
    name = repo.rsplit("/", 1)[-1]
    return name.removesuffix(".git") or name


def _checkouts(bottles: dict[str, Sourced], agents: dict[str, Sourced]) -> list[Issue]:
    """Each repository an agent checks out is one its bottle's git gate serves, once."""
    issues = []
    for name, sourced in agents.items():
        agent = sourced.agent
        bottle = bottles[agent.bottle].bottle if agent is not None else None
        if agent is None or bottle is None:
            continue
        served = [repo for entry in bottle.git for repo in entry.repos]
        folders: dict[str, str] = {}
        for index, repo in enumerate(agent.checkout):
            where = json_path(("agents", name, "checkout", index))
            if repo not in served:
                known = ", ".join(served) or "none (it has no git entries)"
                message = f"{repo!r} is not a repository of bottle {agent.bottle!r}'s git entries; they serve: {known}"
                issues.append(Issue(str(sourced.source), where, message))
                continue
            folder = checkout_folder(repo)
            if folder in folders:
                message = f"{repo!r} would be checked out into {folder!r}, like {folders[folder]!r}; list it once"
                issues.append(Issue(str(sourced.source), where, message))
            folders[folder] = repo
    return issues


def load(
    manifest: str | os.PathLike[str] | None = None,
    *,
    cwd: str | os.PathLike[str] | None = None,
    home: str | os.PathLike[str] | None = None,
) -> Manifest:
    """Find, read, validate and merge the manifests; raise ManifestError with every problem.

    `manifest` replaces the project file found by searching upward from `cwd`. The home file
    (`$HOME/claude-bottle.json`) is merged underneath; a project entry replaces a home entry of
    the same name whole.
    """
    home_dir = Path(home) if home is not None else _home()
    found = discover(
        Path(cwd) if cwd is not None else Path.cwd(),
        home_dir,
        Path(manifest) if manifest is not None else None,
    )
    if not found.files:
        raise ManifestNotFoundError([str(p) for p in found.searched])
    issues: list[Issue] = []
    raw: list[tuple[Path, Any]] = []
    bottles: dict[str, Sourced] = {}
    agents: dict[str, Sourced] = {}
    for path in found.files:
        parsed, data, file_issues = read_file(path)
        issues += file_issues
        raw.append((path, data))
        if parsed is None:
            continue
        for name, bottle in parsed.bottles.items():
            bottles[name] = Sourced(name, path, bottle=bottle)
        for name, agent in parsed.agents.items():
            agents[name] = Sourced(name, path, agent=agent)
    issues += _dangling_bottles(raw)
    if not issues:
        issues += _checkouts(bottles, agents)
    if issues:
        raise ManifestError(issues)
    return Manifest(found.files, bottles, agents)


def _home() -> Path | None:
    home = os.environ.get("HOME")
    return Path(home) if home else None
