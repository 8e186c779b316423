"""post-receive: a push that landed in the user's workspace mirror is told on the gate's log (its
main process's stdout, which the engine keeps), as a `pushed` event line the launcher follows to
fetch it back. Pushes to upstream mirrors say nothing here: upstream has them."""

from __future__ import annotations

import sys
from pathlib import Path

from bottle_contract import events

from ._config import ConfigError, GateConfig

GATE_LOG = "/proc/1/fd/1"


def main() -> int:
    try:
        config = GateConfig.load()
    except ConfigError:
        return 0
    if not config.is_workspace(Path.cwd()):
        return 0
    refs = [line.split()[2] for line in sys.stdin.read().splitlines() if len(line.split()) == 3]
    line = events.line("git", events.PUSHED, refs=refs)
    try:
        with open(GATE_LOG, "a") as log:
            log.write(line + "\n")
    except OSError:
        pass  # the launcher fetches at the end anyway
    return 0


if __name__ == "__main__":
    sys.exit(main())
