"""Build contexts as deterministic tar archives. The tag is a hash of the archive and the build
arguments, so an image is rebuilt exactly when one of its inputs changes."""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
from dataclasses import dataclass
from pathlib import Path

from ..errors import LaunchError

IMAGE_NAMES = ("agent", "egress", "ssh-gate", "git-gate")

# Packages copied into an image's context, beside its Dockerfile: each gate's own, and the
# contract it shares with the launcher. Only what installing a package needs is copied (the wheel
# carries the same files, so an installed launcher hashes to the same tags).
_PACKAGES = {
    "egress": ("bottle-contract", "egress-gate"),
    "ssh-gate": ("bottle-contract", "ssh-gate"),
    "git-gate": ("bottle-contract", "git-gate"),
}
PACKAGE_FILES = ("src", "pyproject.toml", "README.md", "LICENSE")
_SKIP = {"__pycache__", ".pytest_cache", "tests", ".ruff_cache"}


@dataclass(frozen=True)
class ImageContext:
    name: str
    tar: bytes
    digest: str

    def tag(self) -> str:
        return f"claude-bottle/{self.name}:{self.digest[:16]}"


def repository_root() -> Path:
    """Where images/ and packages/ are: BOTTLE_IMAGES_DIR's parent, a checkout this module lives
    in, or the copy an installed wheel carries (bottle_launcher/_data)."""
    configured = os.environ.get("BOTTLE_IMAGES_DIR")
    if configured:
        return Path(configured).resolve().parent
    for parent in Path(__file__).resolve().parents:
        if (parent / "images" / "agent" / "Dockerfile").is_file():
            return parent
    bundled = Path(__file__).resolve().parents[1] / "_data"
    if (bundled / "images" / "agent" / "Dockerfile").is_file():
        return bundled
    raise LaunchError(
        "cannot find the images/ directory with the bottle Dockerfiles",
        hint="set BOTTLE_IMAGES_DIR to the images/ folder of a claude-bottle checkout",
    )


def _add(tar: tarfile.TarFile, source: Path, arcname: str) -> None:
    if source.is_dir():
        _add_tree(tar, source, arcname)
    elif source.is_file():
        _add_file(tar, source, arcname)


def _add_file(tar: tarfile.TarFile, path: Path, arcname: str) -> None:
    info = tarfile.TarInfo(arcname)
    data = path.read_bytes()
    info.size = len(data)
    info.mode = 0o755 if os.access(path, os.X_OK) else 0o644
    info.mtime = 0
    tar.addfile(info, io.BytesIO(data))


def _add_tree(tar: tarfile.TarFile, source: Path, arcname: str) -> None:
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source)
        # Caches and hidden folders (.mypy_cache) are never part of an image, nor of the wheel.
        if any(part in _SKIP or part.endswith(".egg-info") or part.startswith(".") for part in relative.parts):
            continue
        if path.is_file():
            _add_file(tar, path, f"{arcname}/{relative.as_posix()}" if arcname else relative.as_posix())


def image_context(name: str, build_args: dict[str, str] | None = None) -> ImageContext:
    root = repository_root()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        _add_tree(tar, root / "images" / name, "")
        for package in _PACKAGES.get(name, ()):
            for part in PACKAGE_FILES:
                _add(tar, root / "packages" / package / part, f"{package}/{part}")
    data = buffer.getvalue()
    digest = hashlib.sha256(data)
    for key, value in sorted((build_args or {}).items()):
        digest.update(f"\0{key}={value}".encode())
    return ImageContext(name, data, digest.hexdigest())
