#!/usr/bin/env python3
"""Check that every package under packages/ can be published, as it would be installed from PyPI.

For each packages/*/pyproject.toml: build the sdist and the wheel (in a temporary folder, never
in packages/), `twine check --strict` them, look inside both archives (the LICENSE file, the
PEP 639 metadata, no build debris, the image contexts the wheel bundles), check the version ranges
the packages pin on each other, then install each wheel alone into a fresh venv (its declared
dependencies only: ours from the wheels just built, third-party ones from the index) and import
it there. The tox environment `packages` runs it (it needs `build` and `twine`).

    python scripts/check_packages.py [--keep] [--jobs N]
"""

from __future__ import annotations

import argparse
import csv
import email.message
import email.parser
import importlib.util
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import tomllib
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
LICENSE_TEXT = ROOT / "LICENSE"
EXPECTED_LICENSE = "Apache-2.0"

# Installing one of these wheels alone must bring in none of these (distribution, import name).
MUST_NOT_INSTALL: dict[str, tuple[tuple[str, str], ...]] = {
    "bottle-manifest": (
        ("bottle-launcher", "bottle_launcher"),
        ("docker", "docker"),
        ("click", "click"),
        ("rich", "rich"),
    ),
}

# The wire contract between the launcher and the gates: whoever depends on it must pin exactly
# its current major.minor, so that both sides of the process boundary speak the same version.
CONTRACT = "bottle-contract"

# Run in a package's fresh venv after its import; "{python}" is the venv's interpreter.
SMOKE: dict[str, tuple[tuple[str, ...], ...]] = {
    "bottle-launcher": (
        ("bottle-launch", "--help"),
        # Installed, with no checkout around it, the launcher finds the images in the wheel's _data.
        (
            "{python}",
            "-I",
            "-c",
            "import pathlib, bottle_launcher\n"
            "from bottle_launcher.images._context import IMAGE_NAMES, repository_root\n"
            "data = pathlib.Path(bottle_launcher.__file__).resolve().parent / '_data'\n"
            "assert repository_root() == data, (repository_root(), data)\n"
            "missing = [n for n in IMAGE_NAMES if not (data / 'images' / n / 'Dockerfile').is_file()]\n"
            "assert not missing, f'no Dockerfile in the wheel for {missing}'\n"
            "from bottle_launcher.images import _context\n"
            "parts = getattr(_context, 'PACKAGE_FILES', ('src', 'pyproject.toml'))\n"
            "wanted = {p for names in getattr(_context, '_PACKAGES', {}).values() for p in names}\n"
            "there = data / 'packages'\n"
            "missing = [f'{p}/{x}' for p in sorted(wanted) for x in parts if not (there / p / x).exists()]\n"
            "assert not missing, f'the image contexts need {missing}, which the wheel lacks'\n",
        ),
    ),
}

# Never in an sdist or a wheel.
DEBRIS = ("__pycache__", ".pytest_cache", ".ruff_cache", ".hypothesis", ".tox", ".venv", ".mypy_cache")
DEBRIS_SUFFIXES = (".pyc", ".pyo", ".egg-info")
# Never left in a package folder by a build.
LEFTOVERS = ("dist", "build", ".eggs")

# Run in a fresh venv (python -I -c PROBE MODULE FORBIDDEN_JSON OURS_JSON): what got imported and installed.
PROBE = """
import importlib, importlib.metadata as md, importlib.util, json, sys
module = importlib.import_module(sys.argv[1])
forbidden = json.loads(sys.argv[2])
ours = set(json.loads(sys.argv[3]))
dists = {}
records = {}
for dist in md.distributions():
    name = dist.metadata["Name"]
    dists[name] = dist.version
    if name.lower().replace("_", "-") in ours:
        records[name] = (dist.read_text("RECORD") or "")
print(json.dumps({
    "file": module.__file__,
    "version": getattr(module, "__version__", None),
    "dists": dists,
    "records": records,
    "importable": [name for name in forbidden if importlib.util.find_spec(name) is not None],
}))
"""


class Failure(Exception):
    """One check failed; the message says which and why."""


@dataclass
class Package:
    name: str  # canonical distribution name
    folder: Path
    module: str
    pyproject: dict[str, Any]
    requirements: list[Requirement]
    version: str = ""
    sdist: Path | None = None
    wheel: Path | None = None
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def discover() -> list[Package]:
    packages = []
    for path in sorted(ROOT.glob("packages/*/pyproject.toml")):
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        project = data.get("project", {})
        name = canonicalize_name(project.get("name", path.parent.name))
        targets = data.get("tool", {}).get("hatch", {}).get("build", {}).get("targets", {})
        wheel_packages = targets.get("wheel", {}).get("packages", [])
        module = Path(wheel_packages[0]).name if wheel_packages else name.replace("-", "_")
        requirements = [Requirement(text) for text in project.get("dependencies", [])]
        packages.append(Package(name, path.parent, module, data, requirements))
    return packages


def clean_env(venv: Path | None = None) -> dict[str, str]:
    """The environment without what would leak this checkout or the tox env into a fresh venv."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP", "PIP_REQUIRE_VIRTUALENV"}
        and not key.startswith("BOTTLE_")
    }
    own_bin = str(Path(sys.executable).parent)
    path = [entry for entry in env.get("PATH", os.defpath).split(os.pathsep) if entry and entry != own_bin]
    if venv is not None:
        path.insert(0, str(venv / "bin"))
    env["PATH"] = os.pathsep.join(path)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def run(argv: Sequence[str | Path], *, cwd: Path, env: Mapping[str, str] | None = None) -> str:
    """Run a command; its output, or a Failure with the output's tail."""
    result = subprocess.run(
        [str(arg) for arg in argv],
        cwd=cwd,
        env=dict(env) if env is not None else clean_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip().splitlines()
        tail = "\n".join("    " + line for line in output[-25:])
        shown = " ".join("<script>" if "\n" in str(a) else str(a) for a in argv)
        raise Failure(f"`{shown}` exited {result.returncode}:\n{tail}")
    return result.stdout


def only(paths: Iterable[Path], what: str) -> Path:
    found = list(paths)
    if len(found) != 1:
        raise Failure(f"expected one {what}, found {[p.name for p in found]}")
    return found[0]


# --- build -----------------------------------------------------------------------------------


def build_command() -> list[str]:
    """`python -m build`; its isolated build environments made by uv where uv is installed (faster)."""
    installer = ["--installer", "uv"] if importlib.util.find_spec("uv") is not None else []
    return [sys.executable, "-m", "build", *installer]


def build(package: Package, work: Path) -> None:
    out = work / "build" / package.name
    # The sdist, then the wheel built from it (so the sdist is known to be whole).
    run([*build_command(), "--outdir", out, package.folder], cwd=work)
    package.sdist = only(out.glob("*.tar.gz"), "sdist")
    package.wheel = only(out.glob("*.whl"), "wheel")


def leftovers() -> set[Path]:
    found = set()
    for folder in ROOT.glob("packages/*"):
        found |= {folder / name for name in LEFTOVERS if (folder / name).exists()}
        found |= set(folder.rglob("*.egg-info"))
    return found


# --- archives --------------------------------------------------------------------------------


def parse_metadata(text: str) -> email.message.Message:
    return email.parser.HeaderParser().parsestr(text)


def debris_in(names: Iterable[str]) -> list[str]:
    return sorted(
        name
        for name in names
        if any(part in DEBRIS or part.endswith(DEBRIS_SUFFIXES) for part in name.split("/"))
        or name.endswith(DEBRIS_SUFFIXES)
    )


def check_license_metadata(metadata: email.message.Message, where: str) -> list[str]:
    problems = []
    if metadata.get("License-Expression") != EXPECTED_LICENSE:
        problems.append(
            f"{where}: License-Expression is {metadata.get('License-Expression')!r}, not {EXPECTED_LICENSE!r}"
        )
    if "LICENSE" not in (metadata.get_all("License-File") or []):
        problems.append(f"{where}: no `License-File: LICENSE` (license-files in pyproject.toml, hatchling>=1.27)")
    if metadata.get("License"):
        problems.append(f"{where}: a legacy License field beside License-Expression")
    if any(c.startswith("License ::") for c in metadata.get_all("Classifier") or []):
        problems.append(f"{where}: a License :: classifier beside License-Expression (PEP 639 forbids both)")
    return problems


def check_sdist(package: Package) -> None:
    assert package.sdist is not None
    license_text = (package.folder / "LICENSE").read_bytes()
    with tarfile.open(package.sdist) as archive:
        names = archive.getnames()
        base = names[0].split("/")[0]

        def read(member: str) -> bytes | None:
            try:
                handle = archive.extractfile(f"{base}/{member}")
            except KeyError:
                return None
            return handle.read() if handle else None

        for required in ("pyproject.toml", "README.md", "LICENSE", "PKG-INFO"):
            if f"{base}/{required}" not in names:
                package.problems.append(f"sdist: no {required}")
        if read("LICENSE") not in (None, license_text):
            package.problems.append("sdist: its LICENSE differs from the package's LICENSE")
        pkg_info = read("PKG-INFO")
    if pkg_info is not None:
        package.problems += check_license_metadata(parse_metadata(pkg_info.decode()), "sdist PKG-INFO")
    if debris := debris_in(names):
        package.problems.append(f"sdist: build debris {debris[:5]}")


def wheel_record(archive: zipfile.ZipFile, dist_info: str) -> dict[str, str]:
    rows = csv.reader(io.StringIO(archive.read(f"{dist_info}/RECORD").decode()))
    return {row[0]: row[1] for row in rows if row and row[1]}


def check_wheel(package: Package) -> None:
    assert package.wheel is not None
    license_text = (package.folder / "LICENSE").read_bytes()
    with zipfile.ZipFile(package.wheel) as archive:
        names = archive.namelist()
        dist_info = only({n.split("/")[0] for n in names if n.split("/")[0].endswith(".dist-info")}, "dist-info")
        metadata = parse_metadata(archive.read(f"{dist_info}/METADATA").decode())
        package.version = metadata["Version"]
        license_path = f"{dist_info}/licenses/LICENSE"
        if license_path not in names:
            package.problems.append(f"wheel: no {license_path}")
        elif archive.read(license_path) != license_text:
            package.problems.append("wheel: its LICENSE differs from the package's LICENSE")
        if f"{package.module}/__init__.py" not in names:
            package.problems.append(f"wheel: no {package.module}/__init__.py")
    package.problems += check_license_metadata(metadata, "wheel METADATA")
    if canonicalize_name(metadata["Name"]) != package.name:
        package.problems.append(f"wheel: Name {metadata['Name']!r} is not {package.name!r}")
    if debris := debris_in(names):
        package.problems.append(f"wheel: build debris {debris[:5]}")
    check_bundled(package, set(names))


def check_bundled(package: Package, names: set[str]) -> None:
    """Every file the build hook bundles ([tool.hatch.build.hooks.custom.bundle], name in _data =
    path from the package's folder) is in the wheel, under <module>/_data."""
    bundle = package.pyproject.get("tool", {}).get("hatch", {}).get("build", {}).get("hooks", {})
    bundle = bundle.get("custom", {}).get("bundle", {})
    count = 0
    for name, source_text in bundle.items():
        source = (package.folder / source_text).resolve()
        destination = f"{package.module}/_data/{name}"
        if source.is_dir():
            wanted = {
                f"{destination}/{path.relative_to(source).as_posix()}"
                for path in source.rglob("*")
                if path.is_file() and not debris_in([path.relative_to(source).as_posix()])
            }
        else:
            wanted = {destination}
        missing = sorted(wanted - names)
        if missing:
            package.problems.append(f"wheel: bundled {source_text} lacks {missing[:5]}")
        count += len(wanted)
    if count:
        package.notes.append(f"wheel carries its {count} bundled files ({', '.join(bundle.values())})")


# --- version ranges --------------------------------------------------------------------------


def check_ranges(packages: Sequence[Package]) -> None:
    """Our packages pin each other by compatible range, and admit the versions built here."""
    versions = {p.name: Version(p.version) for p in packages if p.version}
    for package in packages:
        for requirement in package.requirements:
            name = canonicalize_name(requirement.name)
            if name not in versions:
                continue
            version, spec = versions[name], requirement.specifier
            if not spec.contains(version, prereleases=True):
                package.problems.append(f"depends on {requirement}, which excludes {name} {version} built here")
            if name == CONTRACT:
                # Exactly the current major.minor: a neighbouring minor is another wire contract.
                others = [Version(f"{version.major}.{version.minor + 1}")]
                if version.minor > 0:
                    others.append(Version(f"{version.major}.{version.minor - 1}.9999"))
                for other in others:
                    if spec.contains(other, prereleases=True):
                        package.problems.append(f"depends on {requirement}: admits {name} {other}, another contract")
                continue
            breaking = Version(f"0.{version.minor + 1}") if version.major == 0 else Version(f"{version.major + 1}")
            if spec.contains(breaking, prereleases=True):
                package.problems.append(f"depends on {requirement}: no upper bound below {name} {breaking}")


# --- install ---------------------------------------------------------------------------------


def install_and_import(package: Package, work: Path, wheels: Path, ours: Mapping[str, Package]) -> None:
    assert package.wheel is not None
    venv = work / "venvs" / package.name
    run([sys.executable, "-m", "venv", "--without-pip", venv], cwd=work)
    python = venv / "bin" / "python"
    env = clean_env(venv)
    pip = [sys.executable, "-m", "pip", "--python", python]
    run([*pip, "install", "--quiet", "--find-links", wheels, package.wheel], cwd=work, env=env)
    run([*pip, "check"], cwd=work, env=env)

    forbidden = MUST_NOT_INSTALL.get(package.name, ())
    output = run(
        [python, "-I", "-c", PROBE, package.module, json.dumps([m for _, m in forbidden]), json.dumps(sorted(ours))],
        cwd=work,
        env=env,
    )
    probe = json.loads(output.strip().splitlines()[-1])
    site = Path(probe["file"]).resolve()
    if not site.is_relative_to(venv.resolve()):
        package.problems.append(f"`import {package.module}` found {site}, outside the fresh venv")
    if probe["version"] != package.version:
        package.problems.append(f"{package.module}.__version__ is {probe['version']!r}, the wheel {package.version!r}")

    installed = {canonicalize_name(name): version for name, version in probe["dists"].items()}
    for dist, module in forbidden:
        if canonicalize_name(dist) in installed or module in probe["importable"]:
            package.problems.append(f"installing it alone brought in {dist}")
    if not package.requirements and set(installed) != {package.name}:
        extra = sorted(set(installed) - {package.name})
        package.problems.append(f"declares no dependencies, yet its venv holds {extra}")
    for name, record in probe["records"].items():
        check_provenance(package, ours[canonicalize_name(name)], installed[canonicalize_name(name)], record)

    for argv in SMOKE.get(package.name, ()):
        command = [str(python) if arg == "{python}" else arg for arg in argv]
        if not Path(command[0]).is_absolute():
            command[0] = str(venv / "bin" / command[0])
        run(command, cwd=work, env=env)
    mine = [f"{name} {version}" for name, version in sorted(installed.items()) if name != package.name]
    package.notes.append(f"installed alone with {', '.join(mine)}" if mine else "installed alone: no dependencies")


def check_provenance(package: Package, dependency: Package, version: str, record_text: str) -> None:
    """An installed package of ours is the wheel built here, not one from an index."""
    if version != dependency.version:
        package.problems.append(f"installed {dependency.name} {version}, not the {dependency.version} built here")
        return
    assert dependency.wheel is not None
    with zipfile.ZipFile(dependency.wheel) as archive:
        dist_info = next(n.split("/")[0] for n in archive.namelist() if n.split("/")[0].endswith(".dist-info"))
        built = {path: digest for path, digest in wheel_record(archive, dist_info).items() if ".dist-info/" not in path}
    rows = csv.reader(io.StringIO(record_text))
    installed = {row[0]: row[1] for row in rows if row and row[1] and row[0] in built}
    if installed != built:
        package.problems.append(f"the installed {dependency.name} is not the wheel built here")


# --- main ------------------------------------------------------------------------------------


def each(jobs: int, packages: Sequence[Package], step: Callable[[Package], object]) -> None:
    """Run a step for every package, a few at once; a Failure is that package's problem."""

    def guarded(package: Package) -> None:
        try:
            step(package)
        except Failure as failure:
            package.problems.append(str(failure))

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        list(pool.map(guarded, packages))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (its path is printed)")
    parser.add_argument("--jobs", type=int, default=4, help="builds and installs at once")
    args = parser.parse_args(argv)

    started = time.monotonic()
    packages = discover()
    if not packages:
        print("check_packages: no packages/*/pyproject.toml", file=sys.stderr)
        return 1
    if not LICENSE_TEXT.is_file():
        print("check_packages: no LICENSE at the repository root", file=sys.stderr)
        return 1
    for package in packages:
        license_file = package.folder / "LICENSE"
        if not license_file.is_file():
            package.problems.append("no LICENSE in the package folder")
        elif license_file.read_bytes() != LICENSE_TEXT.read_bytes():
            package.problems.append("its LICENSE differs from the repository's")
    ours = {p.name: p for p in packages}
    before = leftovers()
    work = Path(tempfile.mkdtemp(prefix="check-packages-"))
    lap = time.monotonic()

    def timed(what: str) -> None:
        nonlocal lap
        now = time.monotonic()
        print(f"  {what}: {now - lap:.1f} s", flush=True)
        lap = now

    try:
        print(f"check_packages: {', '.join(p.name for p in packages)} in {work}", flush=True)
        each(args.jobs, packages, lambda p: build(p, work))
        timed("build sdists and wheels")
        built = [p for p in packages if p.sdist and p.wheel]
        if built:
            artifacts = [a for p in built for a in (p.sdist, p.wheel) if a is not None]
            try:
                run([sys.executable, "-m", "twine", "--no-color", "check", "--strict", *artifacts], cwd=work)
            except Failure as failure:
                for package in built:
                    package.problems.append(f"twine check --strict: {failure}")
            timed("twine check --strict")
        for package in built:
            try:
                check_sdist(package)
                check_wheel(package)
            except (Failure, KeyError, OSError, tarfile.TarError, zipfile.BadZipFile) as error:
                package.problems.append(f"reading its archives: {error!r}")
        check_ranges(built)
        timed("archives and version ranges")
        wheels = work / "wheels"
        wheels.mkdir()
        for package in built:
            assert package.wheel is not None
            shutil.copy2(package.wheel, wheels / package.wheel.name)
        each(args.jobs, built, lambda p: install_and_import(p, work, wheels, ours))
        timed("install each wheel alone and import it")
    finally:
        if args.keep:
            print(f"  kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    general = []
    if new := sorted(leftovers() - before):
        general.append(f"the builds left {[str(p.relative_to(ROOT)) for p in new]} in packages/")
    for package in packages:
        status = "FAILED" if package.problems else "ok"
        print(f"{status} {package.name} {package.version}".rstrip())
        for note in package.notes:
            print(f"    {note}")
        for problem in package.problems:
            print(f"  - {problem}")
    for problem in general:
        print(f"FAILED: {problem}")
    failed = sum(1 for p in packages if p.problems) + len(general)
    passed = sum(1 for p in packages if not p.problems)
    print(f"check_packages: {passed} passed, {failed} failed in {time.monotonic() - started:.0f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
