"""Reports at scale: 100,000 responses x 8 items with a comment on every response, imported by csat.

The store is built the way a user builds it: `csat import` of a consolidated
xlsx (100,000 customers, one response each, 8 scores and a comment) into a
workspace holding the customers and the template. Building it takes a minute,
so the file and the imported workspace are cached under
`$CSAT_BENCH_CACHE` (default ~/.cache/csat-benchmarks) in a folder named after
GENERATOR_VERSION and the row count: change the generator, bump the version.

Cases (each a whole process, medians of --repeat runs, peak RSS of the process):
- import: `csat import` of the file over the bare python-calamine parse (target <= 3.0x);
- report table/json/html/md: (report - start-up) over the bare GROUP BY process, where
  start-up is `csat items list --format json` on the same store (target <= 3x, < 150 MB); the same
  ratio in CPU time follows (steadier when other work shares the machine's cores);
- report xlsx: over a bare process writing the same cells (answers, customers and
  comments sheets) with the writer csat uses, openpyxl in write-only mode (target <= 3x,
  < 200 MB); the same cells through XlsxWriter's constant_memory mode are timed for comparison.

Run: python -m benchmarks scale  (or python -m benchmarks.bench_scale [--only import|report|xlsx] [--repeat N])
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
from pathlib import Path

from benchmarks.bench_import import measure
from benchmarks.bench_report import BARE_QUERY
from benchmarks.timing import as_installed, report

GENERATOR_VERSION = 1
ROWS = 100_000
ITEMS = 8
PERIOD = "2024H1"
IMPORT_TARGET = 3.0
REPORT_TARGET = 3.0
REPORT_MEMORY_MB = 150
XLSX_TARGET = 3.0
XLSX_MEMORY_MB = 200
COMMENTS = ["delivery was late twice", "good service, slow quotes", "price too high this year",
            "packaging damaged on arrival", "技术支持响应很快", "交货期需要改善", "ok", "no comment beyond the scores"]

_BARE_GROUP_BY = "import sqlite3, sys; sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchall()"

# The cells of the report workbook's three long sheets, written by a bare writer: what no xlsx report can skip.
# argv: database, target, writer (openpyxl: write-only mode, what csat uses; xlsxwriter: constant_memory).
_BARE_XLSX = """
import sqlite3, sys
database, target, writer = sys.argv[1], sys.argv[2], sys.argv[3]
connection = sqlite3.connect(database)
responses = connection.execute(
    "SELECT c.code, c.name, r.respondent, r.answered_on, r.comment FROM response r"
    " JOIN customer c ON c.id = r.customer_id ORDER BY c.code")
items = len(connection.execute("SELECT DISTINCT item_id FROM round_item").fetchall())
if writer == "openpyxl":
    from openpyxl import Workbook
    workbook = Workbook(write_only=True)
    sheets = [workbook.create_sheet(name) for name in ("Answers", "Customers", "Comments")]
    def write(sheet, number, row):
        sheet.append(row)
else:
    import xlsxwriter
    workbook = xlsxwriter.Workbook(target, {"constant_memory": True})
    sheets = [workbook.add_worksheet(name) for name in ("Answers", "Customers", "Comments")]
    def write(sheet, number, row):
        sheet.write_row(number, 0, row)
answers, customers, comments = sheets
for number, (code, name, respondent, answered_on, comment) in enumerate(responses, start=1):
    write(answers, number, [code, name, respondent or "", answered_on or ""] + [80.0] * items + [comment])
    write(customers, number, [code, name, 80.0, items, 1])
    write(comments, number, [code, name, respondent or "", "", comment])
workbook.save(target) if writer == "openpyxl" else workbook.close()
"""


def cache_folder(rows: int) -> Path:
    base = Path(os.environ.get("CSAT_BENCH_CACHE") or Path.home() / ".cache" / "csat-benchmarks")
    return base / f"scale-v{GENERATOR_VERSION}-{rows}"


def build_sheet(path: Path, rows: int) -> Path:
    """customer, period, respondent, 8 scores (a few N/A or blank), comment on every row."""
    import random

    from openpyxl import Workbook

    generator = random.Random(20240630)
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Responses")
    sheet.append(["customer", "period", "respondent", *[f"item{number:02d}" for number in range(ITEMS)], "comment"])
    for number in range(rows):
        base = generator.gauss(86, 6)
        scores: list = [max(0, min(100, round(base + generator.gauss(number % 3 - 1, 8)))) for _ in range(ITEMS)]
        if number % 17 == 0:
            scores[3] = "N/A"
        if number % 23 == 0:
            scores[5] = None
        sheet.append([f"C{number:06d}", PERIOD, "", *scores, f"{COMMENTS[number % len(COMMENTS)]} #{number}"])
    workbook.save(path)
    return path


def build_workspace(folder: Path, rows: int) -> Path:
    """A workspace with an 8-item weighted, bilingual template and `rows` customers (bench_import's builder)."""
    from benchmarks.bench_import import build_workspace as build
    from csat.registry import items

    return build(folder, rows, [items.ItemSpec(code=f"item{number:02d}", label_en=f"Item {number}",
                                               label_zh=f"项目{number}", weight=1.0 + (number % 3) * 0.5)
                                for number in range(ITEMS)])


def prepared(rows: int) -> Path:
    """The cache folder holding responses.xlsx, pristine/ (customers, template) and imported/ (after the import)."""
    folder = cache_folder(rows)
    if (folder / "ready").exists():
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    print(f"building the {rows:,}-response case in {folder} (cached for later runs) ...", file=sys.stderr)
    build_workspace(folder / "pristine", rows)
    build_sheet(folder / "responses.xlsx", rows)
    shutil.copytree(folder / "pristine", folder / "imported")
    measure(_csat(folder / "imported", "import", str(folder / "responses.xlsx"), "--half", PERIOD))
    (folder / "ready").write_text(str(GENERATOR_VERSION))
    return folder


def _csat(home: Path, *arguments: str) -> list[str]:
    return [sys.executable, "-m", "csat", "--home", str(home), *arguments]


# One run of a command: wall seconds, peak RSS (KiB) and CPU seconds (user + system) of the child.
_MEASURE_CPU = """
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


def _medians(command: list[str], repeat: int, env: dict | None = None) -> tuple[float, float]:
    wall, peak, _cpu = _medians_cpu(command, repeat, env)
    return wall, peak


def _medians_cpu(command: list[str], repeat: int, env: dict | None = None) -> tuple[float, float, float]:
    """Median wall seconds, peak MiB and median CPU seconds of `repeat` runs. CPU time is what a loaded
    machine disturbs least (the wall time of a process waiting for one of two busy cores is not its cost)."""
    import subprocess

    runs = []
    for _ in range(repeat):
        output = subprocess.run([sys.executable, "-c", _MEASURE_CPU, *command], check=True, capture_output=True,
                                text=True, env=env)
        seconds, peak_kb, cpu = output.stdout.split()
        runs.append((float(seconds), int(peak_kb) / 1024, float(cpu)))
    return (statistics.median(run[0] for run in runs), max(run[1] for run in runs),
            statistics.median(run[2] for run in runs))


def _store_at_head(folder: Path, name: str = "imported") -> Path:
    """A cached workspace (imported/, or pristine/) at this csat's schema: a copy upgraded with `csat db upgrade`
    when the cache was built by an older csat (the cache is shared and keyed on the generator, not the schema)."""
    from csat.store.migrations import HEAD

    home = folder / f"{name}-{HEAD}"
    if not (home / "ready").exists():
        shutil.rmtree(home, ignore_errors=True)
        shutil.copytree(folder / name, home)
        import subprocess

        subprocess.run(_csat(home, "db", "upgrade"), check=True, capture_output=True)
        for backup in home.glob("csat.db.before-*"):
            backup.unlink()
        (home / "ready").write_text(HEAD)
    return home


def run_import(folder: Path, repeat: int) -> float:
    """The import of the file over its bare parse, wall (the target) and CPU (what it costs) each a median.

    Each run imports into its own copy of pristine/ at the current schema (the cache outlives
    schema changes: it is upgraded once, untimed). The copy is flushed to disk before anything
    is timed: the import's commit must not pay for writing out the benchmark's own copy. Pairs
    run interleaved, so both sides of a ratio see the same load.
    """
    import tempfile

    from benchmarks.bench_import import _BARE_PARSE, measure_cpu

    sheet = folder / "responses.xlsx"
    pristine = _store_at_head(folder, "pristine")
    bare, imports, peaks, bare_cpu, import_cpu = [], [], [], [], []
    for _run in range(repeat):
        with tempfile.TemporaryDirectory(prefix="csat-bench-scale-import-") as temporary:
            home = Path(temporary) / "run"   # not in the shared cache: two runs at once must not share it
            shutil.copytree(pristine, home, ignore=shutil.ignore_patterns("ready"))
            os.sync()
            seconds, _peak, cpu = measure_cpu([sys.executable, "-c", _BARE_PARSE, str(sheet)])
            bare.append(seconds)
            bare_cpu.append(cpu)
            seconds, peak, cpu = measure_cpu(_csat(home, "import", str(sheet), "--half", PERIOD))
        imports.append(seconds)
        import_cpu.append(cpu)
        peaks.append(peak)
    parse_time, import_time = statistics.median(bare), statistics.median(imports)
    ratio = import_time / parse_time
    cpu_ratio = statistics.median(import_cpu) / statistics.median(bare_cpu)
    report("scale import", ratio, IMPORT_TARGET,
           f"bare calamine parse {parse_time:.2f} s, csat import (comment column) {import_time:.2f} s, "
           f"peak {max(peaks):.0f} MiB; CPU {statistics.median(import_cpu):.2f} s over the parse's "
           f"{statistics.median(bare_cpu):.2f} s: cpu ratio {cpu_ratio:.2f}")
    return ratio


def run_reports(folder: Path, repeat: int, formats: list[str]) -> None:
    """Each format's (report - start-up) over the bare GROUP BY, in wall time (the `ratio`) and in CPU time
    (printed after it: the steadier figure on a shared machine). The runs of the baseline and of the report
    alternate, so a change of load on the machine falls on both."""
    home = _store_at_head(folder)
    env = {key: value for key, value in os.environ.items() if key != "CSAT_DATABASE_URL"}
    out = folder / "out"
    out.mkdir(exist_ok=True)
    bare_command = [sys.executable, "-c", _BARE_GROUP_BY, str(home / "csat.db"), BARE_QUERY]
    startup_command = _csat(home, "items", "list", "--format", "json")
    for fmt in formats:
        if fmt == "xlsx":
            continue
        arguments = ["report", "--half", PERIOD, "--format", fmt]
        if fmt in ("html", "md"):
            arguments += ["-o", str(out / f"r.{fmt}")]
        runs = [(_medians_cpu(bare_command, 1, env), _medians_cpu(startup_command, 1, env),
                 _medians_cpu(_csat(home, *arguments), 1, env)) for _ in range(repeat)]
        bare, startup, seconds = (statistics.median(run[part][0] for run in runs) for part in range(3))
        bare_cpu, startup_cpu, cpu = (statistics.median(run[part][2] for run in runs) for part in range(3))
        peak = max(run[2][1] for run in runs)
        ratio = (seconds - startup) / bare
        verdict = "ok" if peak < REPORT_MEMORY_MB else "OVER"
        cpu_ratio = (cpu - startup_cpu) / bare_cpu
        report(f"scale report {fmt}", ratio, REPORT_TARGET,
               f"{seconds:.2f} s (start-up `items list` {startup:.2f} s, bare GROUP BY {bare:.2f} s), "
               f"peak {peak:.0f} MiB (target < {REPORT_MEMORY_MB}: {verdict}); CPU-time ratio {cpu_ratio:.2f} "
               f"({cpu:.2f} s, start-up {startup_cpu:.2f} s, bare {bare_cpu:.2f} s)")
    if "xlsx" in formats:
        bare = {name: _medians([sys.executable, "-c", _BARE_XLSX, str(home / "csat.db"), str(out / f"{name}.xlsx"),
                                name], repeat, env)[0] for name in ("openpyxl", "xlsxwriter")}
        seconds, peak = _medians(_csat(home, "report", "--half", PERIOD, "-o", str(out / "r.xlsx")), repeat, env)
        verdict = "ok" if peak < XLSX_MEMORY_MB else "OVER"
        report("scale report xlsx", seconds / bare["openpyxl"], XLSX_TARGET,
               f"{seconds:.2f} s vs bare openpyxl write-only {bare['openpyxl']:.2f} s (XlsxWriter constant_memory "
               f"{bare['xlsxwriter']:.2f} s), peak {peak:.0f} MiB (target < {XLSX_MEMORY_MB}: {verdict})")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_scale", description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["import", "report", "xlsx"], action="append")
    parser.add_argument("--rows", type=int, default=ROWS)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--formats", default="table,json,html,md")
    options = parser.parse_args([] if argv is None else argv)
    wanted = options.only or ["import", "report", "xlsx"]
    folder = prepared(options.rows)
    if "import" in wanted:
        run_import(folder, options.repeat)
    formats = (options.formats.split(",") if "report" in wanted else []) + (["xlsx"] if "xlsx" in wanted else [])
    if formats:
        run_reports(folder, options.repeat, formats)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    as_installed()
    main(sys.argv[1:])
