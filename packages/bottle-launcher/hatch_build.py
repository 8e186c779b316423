"""Build hook: the image build contexts ([tool.hatch.build.hooks.custom.bundle] in pyproject.toml)
go into the wheel at bottle_launcher/_data and into the sdist at _data.

A static force-include could name only the repository's paths (../../images, ../<gate>/...),
which an unpacked sdist does not have: its wheel could not be built. Here each comes from the
repository where it is there, and from the sdist's own _data otherwise."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

SHIPPED = "_data"  # where an sdist carries them, and where the wheel's package has them


class CustomBuildHook(BuildHookInterface):
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        root = Path(self.root)
        bundle: dict[str, str] = self.config.get("bundle", {})
        for name, source in bundle.items():
            shipped = root / SHIPPED / name
            origin = root / source
            if not origin.exists():
                if not shipped.exists():
                    raise FileNotFoundError(f"{name} is neither at {origin} (a checkout) nor at {shipped} (an sdist)")
                if self.target_name == "sdist":
                    continue  # already one of the sdist's own files
                origin = shipped
            target = f"bottle_launcher/{SHIPPED}/{name}" if self.target_name == "wheel" else f"{SHIPPED}/{name}"
            build_data["force_include"][str(origin)] = target
