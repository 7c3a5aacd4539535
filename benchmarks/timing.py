"""Timing helpers shared by the speed cases."""

from __future__ import annotations

import statistics
import subprocess
import time
from pathlib import Path
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


def as_installed() -> None:
    """Compile csat's modules to bytecode (into __pycache__, git-ignored), as `pip install` does.

    Where PYTHONDONTWRITEBYTECODE is set (this machine sets it for every process) an editable csat
    would otherwise compile every module from source on every run, about a tenth of a second that an
    installed csat never pays and the bare baselines (python -c on installed libraries) never pay."""
    import compileall

    import csat

    compileall.compile_dir(str(Path(csat.__file__).parent), quiet=1)


def report(name: str, ratio: float, target: float | None, detail: str = "") -> None:
    verdict = "" if target is None else (" ok" if ratio <= target else " OVER TARGET")
    target_text = "" if target is None else f" (target <= {target:g})"
    print(f"{name}: ratio {ratio:.2f}{target_text}{verdict}{'; ' + detail if detail else ''}")
