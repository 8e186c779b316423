"""The handover's unpack script, run here with the real sh and tar the images have, on the same
bytes the launcher sends into the container (the exec itself is covered by the e2e tests)."""

from __future__ import annotations

import stat
import subprocess
from pathlib import Path

from bottle_contract.handover import MARKER
from bottle_launcher.handover import UNPACK, encode_env, handover_tar


def _unpack(directory: Path, stdin: bytes) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["sh", "-c", UNPACK, "unpack", str(directory), MARKER], input=stdin, capture_output=True)


def test_files_and_then_the_env_marker_arrive_private(tmp_path: Path) -> None:
    target = tmp_path / "run" / "bottle"
    env = encode_env({"API_KEY": "s3cret", "EMPTY": ""})
    result = _unpack(target, handover_tar({"ssh/id_ed25519": b"KEY\n", "known.json": b"[]"}, env))
    assert result.returncode == 0, result.stderr
    assert sorted(p.relative_to(target).as_posix() for p in target.rglob("*")) == [
        "env",
        "known.json",
        "ssh",
        "ssh/id_ed25519",
    ]
    assert (target / "env").read_bytes() == b"API_KEY=s3cret\0EMPTY=\0"
    assert (target / "ssh" / "id_ed25519").read_bytes() == b"KEY\n"
    for path in target.rglob("*"):
        expected = 0o700 if path.is_dir() else 0o600  # ssh refuses a key others can read
        assert stat.S_IMODE(path.stat().st_mode) == expected, path


def test_a_broken_handover_never_produces_the_marker(tmp_path: Path) -> None:
    result = _unpack(tmp_path, b"not a tar archive" * 100)
    assert result.returncode != 0
    assert not (tmp_path / "env").exists()
