"""Shared pieces: run a command several times, alternate the arms, report medians and ratios."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# The upstreams the end-to-end tests use too (testkit/README.md): real sshd and HTTPS containers.
if str(ROOT / "testkit") not in sys.path:
    sys.path.insert(0, str(ROOT / "testkit"))


def launch(*args: str, env: dict[str, str] | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "bottle_launcher", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
    )
    if check and result.returncode != 0:
        raise SystemExit(f"bottle-launch {' '.join(args)} failed:\n{result.stderr}")
    return result


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def alternate(arms: dict[str, Callable[[], float]], runs: int) -> dict[str, list[float]]:
    """Each run measures every arm once, in turn, so drift on a noisy machine hits all arms."""
    samples: dict[str, list[float]] = {name: [] for name in arms}
    for _ in range(runs):
        for name, arm in arms.items():
            samples[name].append(arm())
    return samples


def report(title: str, samples: dict[str, list[float]], baseline: str, unit: str = "s") -> str:
    base = statistics.median(samples[baseline])
    lines = [f"### {title}", "", f"| arm | median ({unit}) | runs | ratio to {baseline} |", "|---|---|---|---|"]
    for name, values in samples.items():
        median = statistics.median(values)
        lines.append(f"| {name} | {median:.4g} | {len(values)} | {median / base:.2f}x |")
    return "\n".join(lines) + "\n"


def in_container(container: Any, shell: str = "sh") -> Callable[[str], str]:
    """Run a script in a plain container (the direct arm); it must succeed."""

    def run(script: str) -> str:
        code, out = container.exec_run([shell, "-c", script])
        assert code == 0, out
        return out.decode()

    return run


def in_bottle(bottle_id: str, shell: str = "sh") -> Callable[[str], str]:
    """Run a script in a bottle's agent (the gate arm) through `bottle-launch exec`."""
    return lambda script: launch("exec", bottle_id, "--", shell, "-c", script).stdout


def tear_down(containers: list[Any], bottle_id: str | None, network: Any) -> None:
    for container in containers:
        container.remove(force=True)
    if bottle_id:
        launch("stop", bottle_id, check=False)
    network.remove()
