"""Timing helpers shared by the speed cases."""

from __future__ import annotations

import statistics
import subprocess
import time
from typing import Callable, Sequence


def median_seconds(action: Callable[[], object], repeat: int = 5) -> float:
    """Median wall time of `action` over `repeat` runs."""
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def run_command(command: Sequence[str], **kwargs) -> None:
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, **kwargs)


def report(name: str, ratio: float, target: float | None, detail: str = "") -> None:
    verdict = "" if target is None else (" ok" if ratio <= target else " OVER TARGET")
    target_text = "" if target is None else f" (target <= {target:g})"
    print(f"{name}: ratio {ratio:.2f}{target_text}{verdict}{'; ' + detail if detail else ''}")
