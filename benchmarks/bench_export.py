"""Speed case: `csat export -o FILE.json` of the store with 1,000,000 answers.

The store is bench_report's (20 items, 4 rounds, 12,500 responses a round), built once and cached
under $CSAT_BENCH_CACHE (default ~/.cache/csat-benchmarks)/export-<answers>. The baseline is a
bare dump of the same tables to JSON lines: a fresh Python process with stdlib sqlite3 that
selects every row of every table csat exports and writes json.dumps of each row. Both are timed as
whole processes (medians), so the ratio includes csat's start-up; the ratio without it (start-up
taken as `csat items list --format json` on the same store) is printed too.

Run: python -m benchmarks.bench_export [--answers N] [--repeat N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

from benchmarks.bench_report import _time, build_store
from benchmarks.timing import report

TARGET = 3.0

BARE_DUMP = """
import json, sqlite3, sys
connection = sqlite3.connect(sys.argv[1])
tables = [name for (name,) in connection.execute(
    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT IN ('alembic_version', 'store_state')"
    " AND name NOT LIKE 'sqlite_%'")]
with open(sys.argv[2], "w", encoding="utf-8") as out:
    for table in tables:
        for row in connection.execute(f"SELECT * FROM {table}"):
            out.write(json.dumps(row, ensure_ascii=False, default=str))
            out.write("\\n")
"""


def cached_store(answers: int) -> Path:
    """The benchmark workspace, built on the first run and kept for later ones."""
    base = Path(os.environ.get("CSAT_BENCH_CACHE") or Path.home() / ".cache" / "csat-benchmarks")
    folder = base / f"export-{answers}"
    ready = folder / ".built"
    if not ready.exists():
        shutil.rmtree(folder, ignore_errors=True)
        folder.parent.mkdir(parents=True, exist_ok=True)
        print(f"building the {answers:,}-answer store in {folder} (cached for later runs) ...", file=sys.stderr)
        build_store(folder / "ws", answers)
        ready.touch()
    return folder / "ws"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--answers", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    options = parser.parse_args([] if argv is None else argv)
    workspace = cached_store(options.answers)
    database = workspace / "csat.db"
    env = dict(os.environ, CSAT_HOME=str(workspace))
    env.pop("CSAT_DATABASE_URL", None)
    with tempfile.TemporaryDirectory(prefix="csat-bench-export-") as scratch:
        bare = _time([sys.executable, "-c", BARE_DUMP, str(database), str(Path(scratch) / "bare.jsonl")],
                     repeat=options.repeat)
        startup = _time([sys.executable, "-m", "csat", "items", "list", "--format", "json"], env=env,
                        repeat=options.repeat)
        target = Path(scratch) / "export.json"
        export = _time([sys.executable, "-m", "csat", "export", "-o", str(target)], env=env, repeat=options.repeat)
        size = target.stat().st_size
    print(f"bare JSON-lines dump {bare:.2f} s; csat start-up with the store {startup:.2f} s; csat export {export:.2f} s"
          f" ({size / 1e6:.0f} MB); ratio without start-up {(export - startup) / bare:.2f}", file=sys.stderr)
    report("export", export / bare, TARGET)


if __name__ == "__main__":
    main(sys.argv[1:])
