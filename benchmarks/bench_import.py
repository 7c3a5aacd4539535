"""Import speed: a consolidated xlsx of 100,000 responses x 10 items.

The baseline is the bare parse of the same file with python-calamine in a
fresh process (interpreter start included), because reading the workbook is
the part no importer can skip. `csat import FILE --half 2024H1` runs as a
whole process too, into a fresh copy of a store holding the 100,000
customers and the 10-item template. Target: at most 2.0x the bare parse, and
peak memory (the largest process of the run) under 400 MB.

With `--backend postgresql` (python -m benchmarks import --backend postgresql)
the same file is imported into a PostgreSQL store (a throw-away cluster, see
postgres.py, holding the same customers and template) and the ratio printed is
the PostgreSQL import's time to the SQLite import's. Target: at most 2.0x.

Run: python -m benchmarks.bench_import [ROWS]   (or through python -m benchmarks)
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.timing import as_installed, report

ROWS = 100_000
ITEMS = 10
RUNS = 3
TARGET = 2.0
MEMORY_TARGET_MB = 400

_BARE_PARSE = """
import sys
from python_calamine import CalamineWorkbook
workbook = CalamineWorkbook.from_path(sys.argv[1])
for name in workbook.sheet_names:
    workbook.get_sheet_by_name(name).to_python(skip_empty_area=True)
"""

# Runs a command and prints its wall time, the peak RSS of its process tree's largest member and
# the CPU seconds (user + system) of the whole tree (the worker and its pieces included).
_MEASURE = """
import resource, subprocess, sys, time
start = time.perf_counter()
completed = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
elapsed = time.perf_counter() - start
if completed.returncode:
    sys.stderr.write(completed.stderr.decode(errors="replace"))
    sys.exit(completed.returncode)
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(elapsed, usage.ru_maxrss, usage.ru_utime + usage.ru_stime)
"""


def build_workspace(folder: Path, rows: int, specs=None) -> Path:
    """A workspace with a template (default: 10 plain items) and `rows` customers, inserted in bulk."""
    import sqlite3

    from csat.config import Workspace
    from csat.registry import items
    from csat.store.engine import dispose_engines, open_store
    from csat.workspace import create

    create(folder, company="Bench Co.")
    workspace = Workspace.open(folder)
    specs = specs or [items.ItemSpec(code=f"item{number:02d}", label_en=f"Item {number}") for number in range(ITEMS)]
    with open_store(workspace).session() as session:
        items.load_template(session, specs, replace=True)
    dispose_engines()
    database = sqlite3.connect(folder / "csat.db")
    with database:
        database.executemany(
            "INSERT INTO customer (code, name, contact, email, phone, segment, language, active, created_at, updated_at)"
            " VALUES (?, ?, '', '', '', '', 'en', 1, '2024-01-01 00:00:00', '2024-01-01 00:00:00')",
            ((f"C{number:06d}", f"Customer {number}") for number in range(rows)))
    database.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    database.close()
    return folder


def build_sheet(path: Path, rows: int) -> Path:
    """The consolidated sheet: customer, period, respondent, 10 scores (some N/A or blank), comment."""
    import random

    from openpyxl import Workbook

    generator = random.Random(20240630)
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Responses")
    sheet.append(["customer", "period", "respondent", *[f"item{number:02d}" for number in range(ITEMS)], "comment"])
    for number in range(rows):
        scores: list = [generator.randint(50, 100) for _ in range(ITEMS)]
        if number % 17 == 0:
            scores[3] = "N/A"
        if number % 23 == 0:
            scores[5] = None
        sheet.append([f"C{number:06d}", "2024H1", "", *scores, "on time" if number % 10 == 0 else None])
    workbook.save(path)
    return path


def measure(command: list[str], env: dict | None = None) -> tuple[float, float]:
    """(seconds, peak MiB) of one run of a command in a fresh process."""
    seconds, peak, _cpu = measure_cpu(command, env)
    return seconds, peak


def measure_cpu(command: list[str], env: dict | None = None) -> tuple[float, float, float]:
    """(wall seconds, peak MiB, CPU seconds of the process tree) of one run of a command.

    On a shared machine the wall ratio swings with the load (a parse that runs in pieces
    on two idle cores runs in one when they are busy); the CPU ratio says what the run costs.
    """
    output = subprocess.run([sys.executable, "-c", _MEASURE, *command], check=True, capture_output=True, text=True,
                            env=env)
    seconds, peak_kb, cpu = output.stdout.split()
    return float(seconds), int(peak_kb) / 1024, float(cpu)


def main(rows: int = ROWS, backend: str = "sqlite") -> float:
    if backend == "postgresql":
        return main_postgresql(rows)
    if backend != "sqlite":
        raise SystemExit(f"unknown backend {backend!r}; expected sqlite or postgresql")
    with tempfile.TemporaryDirectory(prefix="csat-bench-import-") as temporary:
        folder = Path(temporary)
        print(f"building {rows:,} customers and a {rows:,} x {ITEMS} xlsx ...", file=sys.stderr)
        pristine = build_workspace(folder / "pristine", rows)
        sheet = build_sheet(folder / "responses.xlsx", rows)
        csat = [sys.executable, "-m", "csat"]
        bare, imports, peaks = [], [], []
        for run in range(RUNS):
            bare.append(measure([sys.executable, "-c", _BARE_PARSE, str(sheet)])[0])
            home = folder / f"run{run}"
            shutil.copytree(pristine, home)
            seconds, peak = measure([*csat, "--home", str(home), "import", str(sheet), "--half", "2024H1"])
            imports.append(seconds)
            peaks.append(peak)
        parse_time, import_time = statistics.median(bare), statistics.median(imports)
        ratio = import_time / parse_time
        report("import", ratio, TARGET, f"bare calamine parse {parse_time:.2f} s, csat import {import_time:.2f} s, "
                                        f"peak memory {max(peaks):.0f} MiB (target < {MEMORY_TARGET_MB})")
        return ratio


def build_postgres(base_url: str, folder: Path, rows: int) -> str:
    """A PostgreSQL database with the same template and customers as build_workspace; returns its URL.

    Runs use copies of it (CREATE DATABASE ... TEMPLATE), so each import starts from the same store.
    """
    import psycopg

    from benchmarks.postgres import admin
    from csat.config import Workspace
    from csat.registry import items
    from csat.store.engine import dispose_engines, open_store
    from csat.workspace import create

    admin(base_url, "CREATE DATABASE bench_pristine")
    url = f"{base_url}/bench_pristine"
    os.environ["CSAT_DATABASE_URL"] = url
    try:
        create(folder, company="Bench Co.")
        workspace = Workspace.open(folder)
        specs = [items.ItemSpec(code=f"item{number:02d}", label_en=f"Item {number}") for number in range(ITEMS)]
        with open_store(workspace).session() as session:
            items.load_template(session, specs, replace=True)
    finally:
        del os.environ["CSAT_DATABASE_URL"]
        dispose_engines()
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as connection:
        with connection.cursor().copy("COPY customer (code, name, contact, email, phone, segment, language, active,"
                                      " created_at, updated_at) FROM STDIN") as copy:
            for number in range(rows):
                copy.write_row((f"C{number:06d}", f"Customer {number}", "", "", "", "", "en", True,
                                "2024-01-01 00:00:00", "2024-01-01 00:00:00"))
        connection.execute("ANALYZE")
    return url


def main_postgresql(rows: int = ROWS) -> float:
    """Import the same sheet into SQLite and PostgreSQL stores; prints the PostgreSQL / SQLite time ratio."""
    from benchmarks.postgres import admin, server

    with tempfile.TemporaryDirectory(prefix="csat-bench-import-") as temporary, server() as base_url:
        folder = Path(temporary)
        print(f"building {rows:,} customers (SQLite and PostgreSQL) and a {rows:,} x {ITEMS} xlsx ...",
              file=sys.stderr)
        pristine = build_workspace(folder / "pristine", rows)
        build_postgres(base_url, folder / "pg", rows)
        sheet = build_sheet(folder / "responses.xlsx", rows)
        csat = [sys.executable, "-m", "csat"]
        sqlite_times, postgres_times = [], []
        for run in range(RUNS):
            home = folder / f"run{run}"
            shutil.copytree(pristine, home)
            sqlite_times.append(measure([*csat, "--home", str(home), "import", str(sheet), "--half", "2024H1"])[0])
            admin(base_url, f"CREATE DATABASE bench_run{run} TEMPLATE bench_pristine")
            environment = {**os.environ, "CSAT_DATABASE_URL": f"{base_url}/bench_run{run}"}
            postgres_times.append(measure([*csat, "--home", str(folder / "pg"), "import", str(sheet), "--half",
                                           "2024H1"], env=environment)[0])
            admin(base_url, f"DROP DATABASE bench_run{run}")
        sqlite_time, postgres_time = statistics.median(sqlite_times), statistics.median(postgres_times)
        ratio = postgres_time / sqlite_time
        report("import --backend postgresql", ratio, TARGET,
               f"SQLite import {sqlite_time:.2f} s, PostgreSQL import {postgres_time:.2f} s")
        return ratio


if __name__ == "__main__":
    os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    as_installed()
    main(int(sys.argv[1]) if len(sys.argv) > 1 else ROWS)
