"""Files go into containers as tar archives (put_archive), never as host bind mounts, so a
remote DOCKER_HOST works the same."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Iterable

from ...plan import FileSpec


def archive(files: Iterable[FileSpec]) -> bytes:
    """One archive of files that share a directory; parents are created with the files' owner."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        made: set[str] = set()
        for spec in files:
            parts = spec.path.strip("/").split("/")
            for depth in range(1, len(parts)):
                directory = "/".join(parts[:depth])
                if directory not in made:
                    made.add(directory)
                    info = tarfile.TarInfo(directory)
                    info.type = tarfile.DIRTYPE
                    # A private file's folders are private too (ssh insists on it for ~/.ssh).
                    info.mode = 0o700 if spec.mode & 0o077 == 0 else 0o755
                    info.uid = info.gid = spec.uid
                    tar.addfile(info)
            info = tarfile.TarInfo("/".join(parts))
            info.size = len(spec.content)
            info.mode = spec.mode
            info.uid = info.gid = spec.uid
            tar.addfile(info, io.BytesIO(spec.content))
    return buffer.getvalue()
