"""Long-running fuzz target for csat's import readers: `python fuzz/import_target.py --minutes 5`.

Every input is a random consolidated sheet (xlsx or csv) or a signed form, filled with random values and
types, some with their sheet XML mutated (import_cases.py). The property: a clear refusal with the store
unchanged, or an import of what the cells said; any other exception is a finding, saved as a crash file.

With atheris installed (`pip install atheris`), libFuzzer drives hypothesis' `fuzz_one_input`, guided by
the coverage of csat's own code, and keeps what it learns in fuzz/corpus/atheris/. Without it, hypothesis
runs batches of random examples until the time is up, keeping failing examples in fuzz/corpus/hypothesis/.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=5.0, help="how long to run (default 5)")
    parser.add_argument("--corpus", type=Path, default=HERE / "corpus", help="corpus folder (default fuzz/corpus)")
    parser.add_argument("--engine", choices=("auto", "atheris", "hypothesis"), default="auto")
    options, rest = parser.parse_known_args()
    engine = options.engine
    if engine == "auto":
        try:
            import atheris  # noqa: F401
            engine = "atheris"
        except ImportError:
            engine = "hypothesis"
    seconds = max(1, int(options.minutes * 60))
    root = Path(tempfile.mkdtemp(prefix="csat-fuzz-"))
    try:
        if engine == "atheris":
            return _atheris(root, options.corpus / "atheris", seconds, rest)
        return _hypothesis(root, options.corpus / "hypothesis", seconds)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _property(bench, **settings_options):
    from hypothesis import HealthCheck, given, settings
    from import_cases import cases

    outcomes: dict[str, int] = {}

    @settings(deadline=None, suppress_health_check=list(HealthCheck), **settings_options)
    @given(case=cases)
    def one(case):
        outcome = bench.check(case)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1

    return one, outcomes


def _atheris(root: Path, corpus: Path, seconds: int, rest: list[str]) -> int:
    import atheris

    with atheris.instrument_imports(include=["csat"]):
        import csat.importer.forms
        import csat.importer.run
        import csat.importer.sheets
        import csat.importer.unseen
        import csat.importer.validate
        import csat.sheets.guard
        import csat.sheets.marks
        import csat.sheets.read  # noqa: F401
    from import_cases import Bench

    corpus.mkdir(parents=True, exist_ok=True)
    bench = Bench(root / "ws")
    one, outcomes = _property(bench, database=None)
    findings = [Path(argument) for argument in rest if Path(argument).is_file()]
    if findings:     # replay saved inputs (a crash file): the exception, if any, shows with its traceback
        for finding in findings:
            one.hypothesis.fuzz_one_input(finding.read_bytes())
            print(f"{finding}: no finding", file=sys.stderr)
        return 0
    # Long inputs from the start: hypothesis reads its choices from the bytes, and a few bytes make no case.
    arguments = [sys.argv[0], f"-max_total_time={seconds}", "-timeout=120", "-rss_limit_mb=4096", "-max_len=8192",
                 "-len_control=0",
                 f"-artifact_prefix={corpus.parent}/crash-", *rest, str(corpus)]
    import atexit

    atexit.register(_summary, outcomes, time.monotonic())    # libFuzzer ends the process itself when time is up
    atheris.Setup(arguments, one.hypothesis.fuzz_one_input)
    atheris.Fuzz()
    return 0


def _hypothesis(root: Path, corpus: Path, seconds: int) -> int:
    from hypothesis.database import DirectoryBasedExampleDatabase
    from import_cases import Bench

    bench = Bench(root / "ws")
    one, outcomes = _property(bench, max_examples=50, database=DirectoryBasedExampleDatabase(str(corpus)))
    started = time.monotonic()
    try:
        while time.monotonic() - started < seconds:
            one()            # raises on a finding; the failing example stays in the corpus for the next run
    finally:
        _summary(outcomes, started)
    return 0


def _summary(outcomes: dict[str, int], started: float) -> None:
    total = sum(outcomes.values())
    print(f"import fuzz: {total} inputs in {time.monotonic() - started:.0f} s: "
          + ", ".join(f"{count} {outcome}" for outcome, count in sorted(outcomes.items())), file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
