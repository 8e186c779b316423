"""An installed bottle-launcher builds its images without a checkout: the wheel carries the
build contexts, and they hash to the same tags as the checkout's."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

from bottle_launcher.images import IMAGE_NAMES, image_context

PACKAGE = Path(__file__).resolve().parents[1]

TAGS = (
    "from bottle_launcher.images import IMAGE_NAMES, image_context;print([image_context(n).tag() for n in IMAGE_NAMES])"
)


def test_the_wheel_carries_the_image_contexts(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path / "dist"), str(PACKAGE)],
        check=True,
        capture_output=True,
    )
    (wheel,) = (tmp_path / "dist").glob("bottle_launcher-*.whl")
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
        # pip keeps the executable bit of the entrypoint scripts; extractall does not.
        for info in archive.infolist():
            if (info.external_attr >> 16) & 0o111:
                (site / info.filename).chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k != "BOTTLE_IMAGES_DIR"}
    env["PYTHONPATH"] = str(site)
    result = subprocess.run(
        [sys.executable, "-c", TAGS], cwd=tmp_path, env=env, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == str([image_context(n).tag() for n in IMAGE_NAMES])
    assert (site / "bottle_launcher/_data/images/git-gate/hooks/pre-receive").stat().st_mode & 0o111
