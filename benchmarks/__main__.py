"""Run the speed cases: `python -m benchmarks [name ...]` (default: all).

Each case module is `benchmarks/bench_<name>.py` with a `main()` that measures
csat against a baseline on this machine and prints `<name>: ratio X.XX (target ...)`.
Ratios, not seconds: the machines are shared and noisy. `--backend postgresql`
runs a case against PostgreSQL where it has that variant (import: the
PostgreSQL import's time to the SQLite import's of the same file).
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time

import benchmarks
from benchmarks.timing import as_installed


def cases() -> list[str]:
    return sorted(
        module.name.removeprefix("bench_")
        for module in pkgutil.iter_modules(benchmarks.__path__)
        if module.name.startswith("bench_")
    )


def main(argv: list[str]) -> int:
    import argparse
    import inspect

    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("names", nargs="*")
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default=None)
    options = parser.parse_args(argv)
    available = cases()
    wanted = options.names or available
    unknown = [name for name in wanted if name not in available]
    if unknown:
        print(f"unknown case(s): {', '.join(unknown)}; available: {', '.join(available)}", file=sys.stderr)
        return 2
    modules = {name: importlib.import_module(f"benchmarks.bench_{name}") for name in wanted}
    as_installed()
    if options.backend:
        without = [name for name, module in modules.items()
                   if "backend" not in inspect.signature(module.main).parameters]
        if without:
            print(f"--backend: case(s) {', '.join(without)} run on SQLite only", file=sys.stderr)
            return 2
    for name, module in modules.items():
        started = time.perf_counter()
        module.main(backend=options.backend) if options.backend else module.main()
        print(f"  ({name} took {time.perf_counter() - started:.1f} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
