"""Run the speed cases: `python -m benchmarks [name ...]` (default: all).

Each case module is `benchmarks/bench_<name>.py` with a `main()` that measures
csat against a baseline on this machine and prints `<name>: ratio X.XX (target ...)`.
Ratios, not seconds: the machines are shared and noisy.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time

import benchmarks


def cases() -> list[str]:
    return sorted(
        module.name.removeprefix("bench_")
        for module in pkgutil.iter_modules(benchmarks.__path__)
        if module.name.startswith("bench_")
    )


def main(argv: list[str]) -> int:
    available = cases()
    wanted = argv or available
    unknown = [name for name in wanted if name not in available]
    if unknown:
        print(f"unknown case(s): {', '.join(unknown)}; available: {', '.join(available)}", file=sys.stderr)
        return 2
    for name in wanted:
        started = time.perf_counter()
        importlib.import_module(f"benchmarks.bench_{name}").main()
        print(f"  ({name} took {time.perf_counter() - started:.1f} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
