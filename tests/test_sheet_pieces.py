"""A big sheet parsed as pieces in parallel gives exactly what the plain parse gives, or is parsed plainly.

The real worker runs as a process, as the reader starts it; CSAT_SPLIT_MIN_BYTES
forces the split on small files and CSAT_SPLIT_PIECES the number of pieces.
Each record says how its big sheet was read ("split": sheet, pieces, why not).
"""

from __future__ import annotations

import json
import os
import pickle
import re
import subprocess
import sys
import tempfile
import zipfile
from datetime import date, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from csat.forms.identity import IDENTITY_SHEET
from csat.importer.run import run_import
from csat.sheets.guard import Limits
from csat.sheets.pieces import joined_columns
from csat.sheets.read import WorkbookReader
from csat.sheets.worker import HEADER
from import_fixtures import (import_customers, make_filled_form, open_round_with_invitations,
                             resave_like_libreoffice, rewrite_sheet, stored_answers)

PACKAGE_ROOT = str(Path(__file__).resolve().parent.parent)
NEVER = str(10 ** 12)
SHEET_PART = "xl/worksheets/sheet1.xml"


def worker_records(paths, threshold: str = "1", pieces: int = 2, also=(), visible_only: bool = True) -> list[dict]:
    """What the worker sends back for each file, run as WorkbookReader runs it."""
    request = {"files": [{"path": str(path), "also": list(also), "visible_only": visible_only} for path in paths]}
    env = dict(os.environ, CSAT_SPLIT_MIN_BYTES=threshold, CSAT_SPLIT_PIECES=str(pieces),
               PYTHONPATH=os.pathsep.join(filter(None, [PACKAGE_ROOT, os.environ.get("PYTHONPATH")])))
    done = subprocess.run([sys.executable, "-P", "-m", "csat.sheets.worker"], input=json.dumps(request).encode(),
                          capture_output=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    records, offset = [], 0
    while offset < len(done.stdout):
        (length,) = HEADER.unpack_from(done.stdout, offset)
        record = pickle.loads(done.stdout[offset + HEADER.size:offset + HEADER.size + length])
        for sheet in record.get("sheets", []):    # a split sheet's pieces come as their children pickled them
            sheet["columns"] = joined_columns(sheet)
        records.append(record)
        offset += HEADER.size + length
    assert len(records) == len(paths)
    return records


def sheet_data(record: dict) -> list:
    """Everything a reader gets from a record, NaN-safe: numbers compared as bytes."""
    assert record["ok"], record
    return [record["names"]] + [
        (sheet["name"], sheet["visibility"], sheet["first_row"], sheet["first_column"], sheet["height"],
         [(column.numbers.tobytes(), column.others) for column in sheet["columns"]])
        for sheet in record["sheets"]]


def split_and_plain(path: Path, pieces: int = 2, **options) -> tuple[dict, dict]:
    [split] = worker_records([path], pieces=pieces, **options)
    [plain] = worker_records([path], threshold=NEVER, **options)
    assert "split" not in plain
    assert sheet_data(split) == sheet_data(plain)
    return split, plain


def assert_split_same(path: Path, pieces: int = 2, **options) -> dict:
    """Parse split and plain; the data must be identical and the split must really have happened."""
    split, _ = split_and_plain(path, pieces, **options)
    assert split["split"]["why"] is None and split["split"]["pieces"] == pieces, split["split"]
    return split


def assert_plain_because(path: Path, why: str, **options) -> dict:
    split, _ = split_and_plain(path, **options)
    assert split["split"]["pieces"] == 1 and why in split["split"]["why"], split["split"]
    return split


def values(record: dict, sheet_index: int = 0) -> dict[str, object]:
    """{address: value} of the non-blank cells of a record's sheet."""
    from csat.sheets.guard import column_letters

    sheet = record["sheets"][sheet_index]
    found = {}
    for index, column in enumerate(sheet["columns"]):
        for offset in range(sheet["height"]):
            value = column.value(offset)
            if value is not None and value != "":
                found[f"{column_letters(sheet['first_column'] + index)}{sheet['first_row'] + offset}"] = value
    return found


def openpyxl_book(path: Path, cells: dict[tuple[int, int], object], write_only: bool = False,
                  title: str = "Responses") -> Path:
    """A one-sheet workbook with the given (row, column) -> value cells (openpyxl writes inline strings)."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=write_only)
    if write_only:
        sheet = workbook.create_sheet(title)
        last_row = max((row for row, _ in cells), default=0)
        last_column = max((column for _, column in cells), default=0)
        for row in range(1, last_row + 1):
            sheet.append([cells.get((row, column)) for column in range(1, last_column + 1)])
    else:
        sheet = workbook.active
        sheet.title = title
        for (row, column), value in cells.items():
            sheet.cell(row=row, column=column, value=value)
    workbook.save(path)
    return path


MIXED = {(1, 1): "customer", (1, 2): "quality", (1, 3): "when", (1, 4): "ok", (1, 5): "comment"}
for _row in range(2, 120):
    MIXED.update({(_row, 1): f"C-{_row:03d}", (_row, 2): _row * 1.5 if _row % 7 else "N/A",
                  (_row, 3): date(2024, 1, 1 + _row % 28), (_row, 4): _row % 2 == 0,
                  (_row, 5): "交货及时，质量稳定" if _row % 5 == 0 else None})


@pytest.mark.parametrize("write_only", [False, True], ids=["normal", "write-only"])
def test_openpyxl_workbooks_split_exactly(tmp_path, write_only):
    path = openpyxl_book(tmp_path / "mixed.xlsx", MIXED, write_only=write_only)
    assert b't="inlineStr"' in zipfile.ZipFile(path).read(SHEET_PART)      # openpyxl 3.1 writes no shared strings
    for pieces in (2, 3, 4):
        record = assert_split_same(path, pieces)
    cells = values(record)
    assert (cells["A1"], cells["B3"], cells["B7"], cells["C2"], cells["D2"], cells["E5"]) == (
        "customer", 4.5, "N/A", date(2024, 1, 3), True, "交货及时，质量稳定")
    assert record["sheets"][0]["height"] == 119


def xlsxwriter_book(path: Path) -> Path:
    """Formulas with cached values, dates, booleans, numbers and text, formatted empty rows."""
    import xlsxwriter

    workbook = xlsxwriter.Workbook(str(path))
    sheet = workbook.add_worksheet("Data")
    when = workbook.add_format({"num_format": "yyyy-mm-dd"})
    stamp = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    for row in range(0, 150):
        if row % 10 == 9:
            sheet.set_row(row, 30)                     # an empty row with a height: <row r=".." ht=".."/>
            continue
        sheet.write_string(row, 0, f"第{row}行")
        sheet.write_number(row, 1, row / 4)
        sheet.write_formula(row, 2, f"=B{row + 1}*2", None, row / 2)
        sheet.write_datetime(row, 3, datetime(2024, 3, 1 + row % 28), when)
        sheet.write_datetime(row, 4, datetime(2024, 3, 1, row % 24, 30), stamp)
        sheet.write_boolean(row, 5, row % 3 == 0)
        if row % 4 == 0:
            sheet.write_formula(row, 6, '="n/a"', None, "n/a")
    workbook.close()
    return path


def test_an_xlsxwriter_workbook_with_formulas_dates_and_booleans(tmp_path):
    path = xlsxwriter_book(tmp_path / "xw.xlsx")
    assert b't="s"' in zipfile.ZipFile(path).read(SHEET_PART)             # shared strings
    record = assert_split_same(path, 3)
    cells = values(record)
    assert (cells["A2"], cells["B3"], cells["C3"], cells["F4"], cells["G5"]) == ("第1行", 0.5, 1.0, True, "n/a")
    assert cells["D2"] == date(2024, 3, 2) and cells["E3"] == datetime(2024, 3, 1, 2, 30)
    assert "A10" not in cells and "A11" in cells


def test_a_workbook_resaved_like_libreoffice(tmp_path):
    source = openpyxl_book(tmp_path / "source.xlsx", MIXED)
    assert_split_same(resave_like_libreoffice(source, tmp_path / "resaved.xlsx"), 2)


def test_empty_rows_at_every_cut(tmp_path):
    cells = {(row, column): row * 10 + column for row in range(3, 400, 3) for column in (1, 2, 3)}
    for pieces in (2, 4):
        record = assert_split_same(openpyxl_book(tmp_path / f"gaps{pieces}.xlsx", cells), pieces)
    sheet = record["sheets"][0]
    assert (sheet["first_row"], sheet["height"]) == (3, 397)
    assert values(record)["B399"] == 3992 and "A4" not in values(record)


def test_pieces_starting_in_different_columns(tmp_path):
    cells = {}
    for row in range(1, 101):
        cells.update({(row, 3): f"c{row}", (row, 4): row, (row, 5): f"e{row}"})       # C:E on top
    for row in range(101, 201):
        cells.update({(row, 1): f"a{row}", (row, 2): f"b{row} padded to the same length"})  # A:B below
    cells[(201, 8)] = "last"                                                          # and one cell in H
    record = assert_split_same(openpyxl_book(tmp_path / "columns.xlsx", cells), 4)
    sheet = record["sheets"][0]
    assert (sheet["first_row"], sheet["first_column"], sheet["height"], len(sheet["columns"])) == (1, 1, 201, 8)
    found = values(record)
    assert (found["C1"], found["A101"], found["H201"]) == ("c1", "a101", "last")
    assert "A1" not in found and "C101" not in found


def test_a_sheet_anchored_away_from_a1(tmp_path):
    cells = {(row, column): f"{row}/{column}" for row in range(40, 140) for column in range(6, 9)}
    record = assert_split_same(openpyxl_book(tmp_path / "far.xlsx", cells), 3)
    assert (record["sheets"][0]["first_row"], record["sheets"][0]["first_column"]) == (40, 6)


@pytest.fixture
def invited(store, customers_csv):
    import_customers(store, customers_csv)
    return open_round_with_invitations(store, "2024H1")


SCORES = {"quality": 92, "delivery": 78.5, "price": "N/A", "responsiveness": 88}


def test_a_form_with_its_hidden_identity_sheet(workspace, store, invited, tmp_path, monkeypatch):
    path, _ = make_filled_form(store, workspace, tmp_path, "C-003", invited["C-003"], SCORES,
                               comments={"delivery": "交货周期太长"}, respondent="李伟", day=date(2024, 6, 20))
    record = assert_split_same(path, 2, also=(IDENTITY_SHEET,))
    assert [sheet["visibility"] for sheet in record["sheets"]] == ["visible", "veryhidden"]
    resaved = resave_like_libreoffice(path, tmp_path / "resaved.xlsx")
    assert [sheet["visibility"] for sheet in assert_split_same(resaved, 2, also=(IDENTITY_SHEET,))["sheets"]] == [
        "visible", "hidden"]
    monkeypatch.setenv("CSAT_SPLIT_MIN_BYTES", "1")
    report = run_import(workspace, [resaved])
    assert report.ok, report.problems
    assert stored_answers(store, "2024H1")[("C-003", "李伟")]["delivery"] == (78.5, False, "", "交货周期太长")


def test_only_the_biggest_wanted_sheet_is_split(tmp_path):
    from openpyxl import Workbook

    workbook = Workbook()
    small, big, hidden = workbook.active, workbook.create_sheet("big"), workbook.create_sheet("hidden")
    small.title = "small"
    for row in range(1, 30):
        small.append([row, f"s{row}"])
    for row in range(1, 300):
        big.append([row, f"b{row}", row / 3])
        hidden.append([f"h{row}"] * 6)
    hidden.sheet_state = "hidden"
    path = tmp_path / "three.xlsx"
    workbook.save(path)
    record = assert_split_same(path, 2)
    assert record["split"]["sheet"] == "big" and [sheet["name"] for sheet in record["sheets"]] == ["small", "big"]
    assert assert_split_same(path, 2, visible_only=False)["split"]["sheet"] == "hidden"


def _read(path, threshold: str, monkeypatch):
    """The sheets the reader gives for path, split into pieces from `threshold` bytes of sheet XML."""
    monkeypatch.setenv("CSAT_SPLIT_MIN_BYTES", threshold)
    reader = WorkbookReader([path])
    try:
        return reader.result(path)
    finally:
        reader.close()


def test_the_reader_gives_the_same_sheets_split_or_not(tmp_path, monkeypatch):
    path = xlsxwriter_book(tmp_path / "xw.xlsx")

    split, plain = _read(path, "1", monkeypatch), _read(path, NEVER, monkeypatch)
    assert [(sheet.name, sheet.first_row, sheet.first_column, sheet.rows) for sheet in split] == [
        (sheet.name, sheet.first_row, sheet.first_column, sheet.rows) for sheet in plain]


def test_small_sheets_are_not_split_by_default(tmp_path):
    path = openpyxl_book(tmp_path / "mixed.xlsx", MIXED)
    [record] = worker_records([path], threshold=str(8 * 1024 * 1024))
    assert "split" not in record and [sheet["pieces"] for sheet in record["sheets"]] == [1]


# Fallbacks: each parses plainly, with the same result, and says why.

@pytest.mark.parametrize("every, why", [(1, "too few rows to cut"), (3, 'a <row> without r="..."')])
def test_rows_without_r_attributes_are_parsed_plainly(tmp_path, every, why):
    source = openpyxl_book(tmp_path / "source.xlsx", MIXED)
    bare = rewrite_sheet(source, tmp_path / "bare.xlsx", lambda xml: re.sub(
        rb'<row r="(\d+)"', lambda tag: b"<row" if int(tag[1]) % every == 0 else tag[0], xml))
    record = assert_plain_because(bare, why)
    assert values(record)["B3"] == 4.5 and values(record)["A119"] == "C-119"


@pytest.mark.parametrize("inside, why", [
    (b"<!-- a note -->", "a comment or CDATA"),
    (b"<?editor keep?>", "a processing instruction"),
])
def test_comments_and_instructions_in_the_sheet_data_are_parsed_plainly(tmp_path, inside, why):
    source = openpyxl_book(tmp_path / "source.xlsx", MIXED)
    marked = rewrite_sheet(source, tmp_path / "marked.xlsx",
                           lambda xml: xml.replace(b'<row r="90"', inside + b'<row r="90"'))
    assert_plain_because(marked, why)


def test_cdata_that_looks_like_rows_is_parsed_plainly(tmp_path):
    cells = {(row, 1): f"text {row}" for row in range(1, 80)}
    source = openpyxl_book(tmp_path / "source.xlsx", cells, write_only=True)
    fake_rows = b"<![CDATA[" + b"".join(b'<row r="%d"><c r="A%d"><v>1</v></c></row>' % (number, number)
                                        for number in range(1000, 1200)) + b"]]>"
    tricky = rewrite_sheet(source, tmp_path / "cdata.xlsx",
                           lambda xml: xml.replace(b"<t>text 30</t>", b"<t>" + fake_rows + b"</t>"))
    record = assert_plain_because(tricky, "a comment or CDATA")
    assert values(record)["A30"].startswith('<row r="1000">')


def test_rows_out_of_order_are_parsed_plainly(tmp_path):
    source = openpyxl_book(tmp_path / "source.xlsx", {(row, 1): row for row in range(1, 101)})

    def swap_halves(xml: bytes) -> bytes:
        start, end = xml.index(b"<sheetData>") + 11, xml.index(b"</sheetData>")
        middle = xml.index(b'<row r="51"')
        return xml[:start] + xml[middle:end] + xml[start:middle] + xml[end:]

    swapped = rewrite_sheet(source, tmp_path / "swapped.xlsx", swap_halves)
    for pieces in (2, 3, 4):
        split, _ = split_and_plain(swapped, pieces)
        why = split["split"]["why"]
        assert split["split"]["pieces"] == 1
        assert why == "the pieces' rows overlap" or why.startswith("row numbers do not rise at byte"), why


def test_rows_falling_at_a_cut_are_parsed_plainly(tmp_path):
    source = openpyxl_book(tmp_path / "source.xlsx", {(row, 1): row for row in range(1, 101)})

    def reverse(xml: bytes) -> bytes:
        start, end = xml.index(b"<sheetData>") + 11, xml.index(b"</sheetData>")
        rows = re.findall(rb"<row .*?</row>", xml[start:end])
        return xml[:start] + b"".join(reversed(rows)) + xml[end:]

    backwards = rewrite_sheet(source, tmp_path / "backwards.xlsx", reverse)
    record = assert_plain_because(backwards, "row numbers do not rise at byte")
    assert values(record)["A100"] == 100


def test_pieces_too_far_apart_to_join_are_parsed_plainly(tmp_path):
    cells = {(1, 1): "a long first row " * 20, (50_000, 52): "far but legitimate"}
    record = assert_plain_because(openpyxl_book(tmp_path / "sparse.xlsx", cells), "too far apart to join")
    assert values(record) == {"A1": cells[(1, 1)], "AZ50000": "far but legitimate"}


def test_a_prefixed_sheet_data_element_is_parsed_plainly(tmp_path):
    source = openpyxl_book(tmp_path / "source.xlsx", MIXED)
    prefixed = rewrite_sheet(source, tmp_path / "prefixed.xlsx", lambda xml: xml.replace(
        b"<sheetData>", b'<x:sheetData xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main">').replace(
        b"</sheetData>", b"</x:sheetData>"))
    record = assert_plain_because(prefixed, "no <sheetData> element")
    assert values(record)["A119"] == "C-119"


def test_a_sheet_part_compressed_as_calamine_cannot_read_fails_alike(tmp_path):
    source = openpyxl_book(tmp_path / "source.xlsx", MIXED)
    odd = tmp_path / "bzip2.xlsx"
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(odd, "w", zipfile.ZIP_DEFLATED) as copy:
        for info in original.infolist():
            kind = zipfile.ZIP_BZIP2 if info.filename == SHEET_PART else zipfile.ZIP_DEFLATED
            copy.writestr(info.filename, original.read(info.filename), compress_type=kind)
    [split] = worker_records([odd])
    [plain] = worker_records([odd], threshold=NEVER)
    assert split == plain and not plain["ok"] and "compression method not supported" in plain["error"]


def test_an_empty_sheet(tmp_path):
    record = assert_plain_because(openpyxl_book(tmp_path / "empty.xlsx", {}), "too few rows to cut")
    assert record["sheets"][0]["height"] == 0


def test_too_few_rows_to_cut(tmp_path):
    assert_plain_because(openpyxl_book(tmp_path / "one.xlsx", {(1, 1): "alone", (1, 2): 1}), "too few rows to cut")


def test_far_apart_cells_end_as_without_pieces(tmp_path, monkeypatch):
    """calamine aborting on a hostile sheet costs that file the same error, split or not."""
    cells = {(row, 1): row for row in range(1, 60)}
    source = openpyxl_book(tmp_path / "source.xlsx", cells)
    far = rewrite_sheet(source, tmp_path / "far.xlsx", lambda xml: xml.replace(
        b"</sheetData>", b'<row r="1048576"><c r="XFD1048576" t="n"><v>2</v></c></row></sheetData>'))
    within = rewrite_sheet(source, tmp_path / "within.xlsx", lambda xml: xml.replace(   # one piece aborts too
        b"</sheetData>", b'<row r="1048575"><c r="A1048575" t="n"><v>1</v></c></row>'
                         b'<row r="1048576"><c r="XFD1048576" t="n"><v>2</v></c></row></sheetData>'))
    good = openpyxl_book(tmp_path / "good.xlsx", MIXED)
    errors = {}
    for threshold in ("1", NEVER):
        monkeypatch.setenv("CSAT_SPLIT_MIN_BYTES", threshold)
        reader = WorkbookReader([far, within, good], Limits(parse_memory_bytes=1 << 30))
        for path in (far, within):
            with pytest.raises(Exception, match="could not be read") as caught:
                reader.result(path)
            errors.setdefault(path, set()).add(str(caught.value))
        assert reader.result(good)[0].value("B3") == 4.5
        reader.close()
    assert all(len(messages) == 1 for messages in errors.values()), errors


# Random grids: split and plain agree on every one.

TEXT = st.text(alphabet=st.sampled_from(list("abcXYZ 09-./<&>!?:'\"") + list("质量交货准时服务满意")),
               min_size=0, max_size=12)
VALUES = st.one_of(
    st.none(), st.none(), st.integers(-10 ** 6, 10 ** 6), st.floats(-1e9, 1e9, allow_nan=False), TEXT,
    st.booleans(), st.dates(date(1901, 1, 1), date(2099, 12, 31)),
    st.datetimes(datetime(1901, 1, 1), datetime(2099, 12, 31)).map(lambda moment: moment.replace(microsecond=0)))


@st.composite
def grids(draw):
    height, width = draw(st.integers(1, 40)), draw(st.integers(1, 6))
    top, left = draw(st.integers(1, 30)), draw(st.integers(1, 5))
    blank_rows = draw(st.sets(st.integers(0, height - 1), max_size=height // 2))
    blank_columns = draw(st.sets(st.integers(0, width - 1), max_size=width // 2))
    cells = {}
    for row in range(height):
        for column in range(width):
            value = draw(VALUES)
            if value is not None and row not in blank_rows and column not in blank_columns:
                cells[(top + row, left + column)] = value
    return cells


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cells=grids(), pieces=st.integers(2, 5), write_only=st.booleans())
def test_random_grids_split_exactly(cells, pieces, write_only):
    with tempfile.TemporaryDirectory() as folder:
        path = openpyxl_book(Path(folder) / "grid.xlsx", cells, write_only=write_only)
        split, _ = split_and_plain(path, pieces)
        how = split["split"]
        rows = len({row for row, _ in cells})
        event(f"{how['pieces']} pieces")
        if how["pieces"] == 1:
            assert how["why"] == "too few rows to cut" or rows < 2, how
        else:
            assert how["why"] is None and 2 <= how["pieces"] <= pieces


def process_states() -> dict[int, tuple[str, int]]:
    """pid -> (state, parent pid) of every process, from /proc."""
    states = {}
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{entry}/stat") as handle:
                state, parent = handle.read().rpartition(")")[2].split()[:2]
        except (OSError, ValueError):
            continue
        states[int(entry)] = (state, int(parent))
    return states


def live_children(parent: int) -> list[int]:
    return [pid for pid, (state, of) in process_states().items() if of == parent and state != "Z"]


def test_pieces_die_with_a_worker_that_is_stopped(tmp_path, monkeypatch):
    """The reader kills the worker when the guard refuses its file: the pieces' processes go too, at once."""
    import time

    source = openpyxl_book(tmp_path / "source.xlsx", {(1, 1): "customer"})
    rows = b"".join(b'<row r="%d"><c r="A%d" t="n"><v>%d</v></c><c r="B%d" t="n"><v>%d.5</v></c></row>'
                    % (row, row, row, row, row) for row in range(1, 500_001))          # seconds of parsing
    big = rewrite_sheet(source, tmp_path / "big.xlsx", lambda xml: re.sub(
        rb"<sheetData>.*</sheetData>", lambda _: b"<sheetData>" + rows + b"</sheetData>", xml, flags=re.S))
    monkeypatch.setenv("CSAT_SPLIT_MIN_BYTES", "1")
    reader = WorkbookReader([big])
    [worker] = live_children(os.getpid())
    deadline = time.monotonic() + 20
    while len(pieces := live_children(worker)) < 2 and time.monotonic() < deadline:
        time.sleep(0.002)
    assert len(pieces) == 2
    reader.drop([big])
    stopped = time.monotonic()

    def alive() -> list[int]:
        states = process_states()
        return [pid for pid in pieces if pid in states and states[pid][0] != "Z"]

    while alive() and time.monotonic() < stopped + 0.5:
        time.sleep(0.005)
    assert not alive()                              # killed with the worker, not when their parse ends
    reader.close()


def test_a_split_sheet_has_the_same_marks_as_a_plain_one(tmp_path, monkeypatch):
    """The worker scans the split sheet's XML for hidden rows, merges and uncomputed formulas while the
    pieces parse: the importer must see the same marks as from the plain parse's scan."""
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Responses"
    for row in range(1, 200):
        sheet.append([f"C-{row:03d}", row, row * 2, f"note {row}"])
    sheet.row_dimensions[57].hidden = True
    sheet.column_dimensions["C"].hidden = True
    sheet.merge_cells("B120:C121")
    sheet["D150"] = "=B150*2"
    path = tmp_path / "marked.xlsx"
    workbook.save(path)

    split, plain = _read(path, "1", monkeypatch), _read(path, NEVER, monkeypatch)
    assert split[0].marks == plain[0].marks
    assert split[0].marks["hidden_rows"] == [57] and split[0].marks["merged"] == ["B120:C121"]
    assert split[0].marks["uncached"] == ["D150"] and split[0].marks["hidden_columns"] == [(3, 3)]


@given(st.lists(st.sampled_from([
    b'<row r="1"><c r="A1"><v>1</v></c></row>', b'<row r="2" hidden="1"><c r="A2"><v>2</v></c></row>',
    b'<col min="2" max="3" hidden="true"/>', b'<mergeCell ref="B2:C3"/>', b'<c r="D4"><f>SUM(A1:A2)</f></c>',
    b'<x:c r="E5"><x:f t="shared" si="0"/></x:c>', b'<c r="F6" t="inlineStr"><is><t>hidden :f &lt;f</t></is></c>',
    b"x" * 3000]), max_size=40))
def test_marks_of_an_inflated_part_are_those_of_its_chunks(parts):
    from csat.sheets.marks import marks_of_bytes, marks_of_chunks

    data = b"<worksheet><sheetData>" + b"".join(parts) + b"</sheetData></worksheet>"
    chunked = marks_of_chunks(data[start:start + 700] for start in range(0, len(data), 700))
    whole = marks_of_chunks([data])
    assert marks_of_bytes(data) == whole
    assert whole["merged"] == chunked["merged"] and whole["uncached"] == chunked["uncached"]


@pytest.mark.parametrize("before", [0, 5, 999, 1000, 1001, 5000])
@pytest.mark.parametrize("tag, found", [(b"<f>1</f>", True), (b"<x:f/>", True), (b"<t>f</t>", False),
                                        (b"", False)])
def test_a_formula_tag_is_found_after_any_number_of_other_fs(before, tag, found):
    from csat.sheets.marks import _NEEDLES, formula_tag

    data = b"<c><is><t>" + b"of " * before + b"</t></is></c>" + tag + b"<c>" + b"fff " * (before % 7)
    assert formula_tag(data) is found
    assert formula_tag(data) == any(needle in data for needle in _NEEDLES[2:])



_READ_AND_REAP = """
import os, sys, time
from csat.sheets import pieces, worker
record = worker.read_workbook(sys.argv[1], [], True)
assert record["split"]["pieces"] == 2 and record["split"]["why"] is None, record["split"]
slow = os.fork()            # a piece's process still ending when its Split is done with
if slow == 0:
    time.sleep(0.5)
    os._exit(0)
split = pieces.Split(name="x", ending=[slow])
split.reap()
assert split.ending == [] and pieces._ending == [slow], pieces._ending
pieces.reap_all()
try:
    os.waitpid(-1, os.WNOHANG)
except ChildProcessError:
    print("no child left")
"""


def test_the_pieces_processes_are_all_reaped(tmp_path):
    """A piece's columns are taken before its process has ended (Split._results); the worker still reaps
    every one before it ends (Split.reap, then reap_all), leaving no zombie behind."""
    path = openpyxl_book(tmp_path / "mixed.xlsx", MIXED)
    env = dict(os.environ, CSAT_SPLIT_MIN_BYTES="1", CSAT_SPLIT_PIECES="2",
               PYTHONPATH=os.pathsep.join(filter(None, [PACKAGE_ROOT, os.environ.get("PYTHONPATH")])))
    done = subprocess.run([sys.executable, "-c", _READ_AND_REAP, str(path)], capture_output=True, text=True,
                          env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "no child left"
