"""The spreadsheet worker's memory and CPU-time limits (csat/sheets/worker.py `_set_limits`).

The guard (guard.py) bounds what it can see before parsing; these limits are the last line for what it
cannot: a file that is small on disk but costs the parser gigabytes or minutes. Each test gives the
worker a limit the file needs more than, and checks the read fails with one clear error while a normal
file still reads under the same limit; without the limit the same file would read (slowly, or with a lot
of memory), so the test fails when the limit is removed.
"""

from __future__ import annotations

import time
import zipfile
from pathlib import Path

import pytest
from import_fixtures import write_sheet_xlsx

from csat.errors import CsatError
from csat.sheets.guard import Limits
from csat.sheets.read import WorkbookReader

SHEET = "xl/worksheets/sheet1.xml"


def with_rows(tmp_path: Path, name: str, rows: bytes) -> Path:
    source = write_sheet_xlsx(tmp_path / "source.xlsx", ["customer", "quality"], [["C-001", 90]])
    target = tmp_path / name
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as copy:
        for info in original.infolist():
            data = original.read(info.filename)
            if info.filename == SHEET:
                data = data.replace(b"</sheetData>", rows + b"</sheetData>")
            copy.writestr(info.filename, data)
    return target


def read(paths: list[Path], limits: Limits) -> dict[Path, object]:
    reader = WorkbookReader(paths, limits)
    results: dict[Path, object] = {}
    try:
        for path in paths:
            try:
                results[path] = reader.result(path)
            except CsatError as exc:
                results[path] = str(exc)
    finally:
        reader.close()
    return results


def test_a_cell_of_40_mb_of_text_exceeds_the_memory_limit(tmp_path):
    """40 MB of one letter packs into 40 KB; the parser needs several times that in memory."""
    big = with_rows(tmp_path, "big-text.xlsx", b'<row r="3"><c r="A3" t="inlineStr"><is><t>'
                    + b"a" * (40 << 20) + b"</t></is></c></row>")
    assert big.stat().st_size < 200_000
    good = write_sheet_xlsx(tmp_path / "good.xlsx", ["customer", "quality"], [["C-001", 90]])
    results = read([big, good], Limits(parse_memory_bytes=150 << 20))
    assert results[big] == f"{big}: the workbook could not be read (it ran out of memory: cells too far apart or too many)"
    assert results[good][0].grid == [["customer", "quality"], ["C-001", 90.0]]


@pytest.mark.slow
def test_a_sheet_that_takes_long_to_parse_exceeds_the_time_limit(tmp_path, monkeypatch):
    """400,000 rows of six numbers: seconds of CPU for the parser; the limit is one.

    The limit is CPU time per process: a big sheet split into pieces gives each piece's process the same
    limit, so on an idle machine two pieces of this sheet can each finish inside one second. The sheet is
    read whole here (no split), the way the limit is meant to be seen."""
    monkeypatch.setenv("CSAT_SPLIT_MIN_BYTES", str(10 ** 12))
    rows = b"".join(b'<row r="%d">' % row + b"".join(b'<c r="%s%d"><v>%d</v></c>' % (column, row, row)
                                                     for column in (b"A", b"B", b"C", b"D", b"E", b"F"))
                    + b"</row>" for row in range(3, 400_000))
    slow = with_rows(tmp_path, "slow.xlsx", rows)
    started = time.monotonic()
    results = read([slow], Limits(parse_seconds=1))
    assert results[slow] == f"{slow}: the workbook could not be read (it ran out of time)"
    assert time.monotonic() - started < 60


def test_waiting_for_the_reader_ends_at_its_exit_or_its_deadline():
    import subprocess
    import sys

    from csat.sheets.read import wait_for

    quick = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    wait_for(quick, 30)
    assert quick.returncode == 3
    wait_for(quick, 30)                      # reaped already: returns at once
    slow = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        started = time.monotonic()
        with pytest.raises(subprocess.TimeoutExpired):
            wait_for(slow, 0.3)
        assert time.monotonic() - started < 10
        assert slow.poll() is None
    finally:
        slow.kill()
        slow.wait()
