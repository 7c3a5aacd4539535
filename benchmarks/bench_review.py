"""Speed case: `csat review --half P -o review.html` against `csat report --half P --format html`.

Both run on the report benchmark's store (benchmarks.bench_report.build_store: 1,000,000 answers,
20 items, 4 rounds), as whole processes (medians). The review gathers the round's report once
(the same SQL aggregates) plus the feedback summaries, CAPAs and customers of the half, so it
should cost about what the report costs: the target is at most 2x.

Run: python -m benchmarks.bench_review [--answers N] [--keep DIR] [--repeat N]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.bench_report import ROUNDS, _time, build_store
from benchmarks.timing import report as print_ratio

TARGET = 2.0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--answers", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, help="build the store in this folder and keep it")
    parser.add_argument("--repeat", type=int, default=3)
    options = parser.parse_args([] if argv is None else argv)
    with tempfile.TemporaryDirectory(prefix="csat-bench-review-") as scratch:
        folder = options.keep or Path(scratch) / "ws"
        started = time.perf_counter()
        build_store(folder, options.answers)
        print(f"built {options.answers:,} answers in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        env = dict(os.environ, CSAT_HOME=str(folder))
        env.pop("CSAT_DATABASE_URL", None)
        half = ROUNDS[-1]
        report = _time([sys.executable, "-m", "csat", "report", "--half", half, "--format", "html",
                        "-o", str(Path(scratch) / "report.html")], env=env, repeat=options.repeat)
        review = _time([sys.executable, "-m", "csat", "review", "--half", half, "-o", str(Path(scratch) / "review.html")],
                       env=env, repeat=options.repeat)
    print(f"csat report --format html {report:.2f} s; csat review -o review.html {review:.2f} s", file=sys.stderr)
    print_ratio("review", review / report, TARGET)


if __name__ == "__main__":
    main(sys.argv[1:])
