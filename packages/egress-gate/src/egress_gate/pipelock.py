"""Run pipelock as the bottle's egress gate (images/egress-pipelock).

Waits for the bottle's CA in the tmpfs, starts `pipelock run` with the config the launcher
wrote, reports ready once pipelock answers its health check, and re-emits each pipelock log line
that is a decision as our own decision line, so `bottle-launch logs --egress` and the end-of-
bottle summary read the same fields whichever engine ran. Other lines pass through to stderr."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from bottle_contract import events
from bottle_contract.egress import PIPELOCK_CA_CERT_FILE, PIPELOCK_CA_KEY_FILE, PIPELOCK_CONFIG_PATH

from egress_gate._audit import emit
from egress_gate._config import GateConfig
from egress_gate._handover import wait_for_handover

BINARY = "/usr/local/bin/pipelock"
READY_TIMEOUT = 30


def decision_from(record: dict[str, Any], bottle: str) -> dict[str, Any] | None:
    """Our decision fields for a pipelock log record, or None when it is not a decision."""
    event = str(record.get("event", ""))
    if event not in ("blocked", "allowed", "warn", "anomaly"):
        return None
    parts = urlsplit(str(record.get("url", "")))
    host = (parts.hostname or str(record.get("host", ""))).lower()
    blocked = event == "blocked"
    scanner = str(record.get("scanner", "")) or "policy"
    reason = str(record.get("reason", ""))
    hint = None
    if blocked and ("allowlist" in scanner or "allowlist" in reason.lower()):
        hint = f'add "{host}" to bottles.{bottle}.egress.allowlist'
    return {
        "bottle": bottle,
        "method": str(record.get("method", "")),
        "host": host,
        "path": parts.path[:200],  # never the query: that is where tokens travel
        "decision": events.DECISION_BLOCK
        if blocked
        else ("allow" if event == "allowed" else events.DECISION_WOULD_BLOCK),
        "rule": f"pipelock:{scanner}" + (f":{reason}" if reason else ""),
        "hint": hint,
    }


def _report_ready(config: GateConfig, proc: subprocess.Popen[bytes]) -> None:
    url = f"http://127.0.0.1:{config.port}/health"
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with opener.open(url, timeout=1) as response:
                if response.status == 200:
                    emit(events.READY, bottle=config.bottle, port=config.port, engine="pipelock")
                    return
        except OSError:
            pass
        time.sleep(0.05)
    emit(events.ERROR, message=f"pipelock did not answer {url} within {READY_TIMEOUT} s")
    proc.terminate()


def main() -> None:
    config = GateConfig.load()
    wait_for_handover(config.handover, (PIPELOCK_CA_CERT_FILE, PIPELOCK_CA_KEY_FILE))
    argv = [BINARY, "run", "--config", PIPELOCK_CONFIG_PATH, "--listen", f"0.0.0.0:{config.port}"]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert proc.stdout is not None
    threading.Thread(target=_report_ready, args=(config, proc), daemon=True).start()
    for raw in proc.stdout:
        try:
            record = json.loads(raw)
        except ValueError:
            record = None
        fields = decision_from(record, config.bottle) if isinstance(record, dict) else None
        if fields is None:
            sys.stderr.write(raw.decode(errors="replace"))
            sys.stderr.flush()
        else:
            emit(events.DECISION, **fields)
    sys.exit(proc.wait())


if __name__ == "__main__":
    main()
