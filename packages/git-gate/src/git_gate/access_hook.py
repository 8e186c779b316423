"""git daemon's access hook: before every upload-pack (and receive-pack), refresh the mirror
from upstream, so the agent sees what upstream has now. Fails closed: if upstream cannot be
reached in time, the request is refused, and nothing stale is served.

argv: <service> <repo-path> <hostname> <canon-hostname> <ip> <port>. The first line of stdout
becomes the client's "fatal: remote error: ..."; stderr is discarded by the daemon.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ._config import ConfigError, GateConfig
from ._lock import LockTimeout, repo_lock
from ._upstream import FETCH_TIMEOUT, UpstreamError, refresh

LOCK_TIMEOUT = FETCH_TIMEOUT * 2  # a push being forwarded may hold the lock first


def run(argv: list[str], config: GateConfig) -> tuple[int, str]:
    if len(argv) < 2 or argv[0] not in ("upload-pack", "receive-pack"):
        return 1, "git gate: service not offered"
    if config.is_workspace(Path(argv[1])):
        return 0, ""  # the user's own repository: no upstream to refresh from
    try:
        remote, repo = config.remote_for(Path(argv[1]))
        with repo_lock(Path(argv[1]), LOCK_TIMEOUT):
            refresh(Path(argv[1]), remote.url(repo))
    except ConfigError:
        return 1, "git gate: this repository is not declared for the bottle"
    except (UpstreamError, LockTimeout) as exc:
        return 1, f"git gate: upstream unavailable, refusing to serve a stale copy ({exc})"
    except Exception as exc:
        return 1, f"git gate: internal error ({type(exc).__name__}); refusing"
    return 0, ""


def main() -> int:
    code, message = run(sys.argv[1:], GateConfig.load())
    if message:
        print(message.replace("\n", " "), flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
