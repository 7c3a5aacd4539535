"""Hostile and wrong files: each refused with one clear line; the command survives, nothing is written."""

import zipfile
from pathlib import Path

import pytest

from csat.importer.run import run_import
from csat.sheets.guard import Limits, UnsafeFile, check_xlsx
from csat.sheets.read import WorkbookReader
from import_fixtures import count_rows, import_customers, rewrite_sheet, write_sheet_xlsx


@pytest.fixture
def customers(store, customers_csv):
    import_customers(store, customers_csv)


def refused(cli, path: Path, **settings: str) -> str:
    """Import one file after setting csat.toml keys (import.<key>); it must fail: returns stderr."""
    for key, value in settings.items():
        assert cli("config", "set", f"import.{key}", value).exit_code == 0
    result = cli("import", path, "--half", "2024H1")
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    return result.stderr


def far_apart(tmp_path: Path, spelling: bytes = b'<c r="XFD1048576" t="n"><v>2</v></c>') -> Path:
    source = write_sheet_xlsx(tmp_path / "source.xlsx", ["customer", "quality"], [["C-001", 90]])
    return rewrite_sheet(source, tmp_path / "far.xlsx", lambda xml: xml.replace(
        b"</sheetData>", b'<row r="1048576">' + spelling + b"</row></sheetData>"))


def test_far_apart_cells_are_refused_before_parsing(workspace, store, customers, tmp_path):
    report = run_import(workspace, [far_apart(tmp_path)], half="2024H1")
    assert report.problems == ["far.xlsx!xl/worksheets/sheet1.xml: cells span 1,048,576 rows x 16,384 columns, "
                               "more than 50,000,000 cells; refused"]
    assert count_rows(store, "response") == 0


@pytest.mark.parametrize("spelling", [b"<c r='XFD1048576' t='n'><v>2</v></c>",
                                      b'<c\tr="XFD1048576" t="n"><v>2</v></c>',
                                      b'<c t="n" r="XFD1048576"><v>2</v></c>'])
def test_unusual_spellings_of_far_cells_are_refused_too(tmp_path, spelling):
    with pytest.raises(UnsafeFile, match="cells span 1,048,576 rows x 16,384 columns"):
        check_xlsx(far_apart(tmp_path, spelling))


def test_the_parser_runs_in_a_child_that_may_die_alone(tmp_path):
    """Even unguarded, calamine's abort on far-apart cells costs one error, not the process."""
    good = write_sheet_xlsx(tmp_path / "good.xlsx", ["customer", "quality"], [["C-001", 90]])
    reader = WorkbookReader([far_apart(tmp_path), good], Limits(parse_memory_bytes=1 << 30))
    with pytest.raises(Exception, match="could not be read"):
        reader.result(tmp_path / "far.xlsx")
    assert reader.result(good)[0].grid == [["customer", "quality"], ["C-001", 90.0]]
    reader.close()


def test_a_wide_but_legitimate_sheet_passes(tmp_path):
    header = ["customer"] + [f"c{number}" for number in range(40)]
    rows = [[f"C-{row}"] + list(range(40)) for row in range(300)]
    check_xlsx(write_sheet_xlsx(tmp_path / "wide.xlsx", header, rows))


def test_zip_bomb_is_refused(workspace, store, customers, tmp_path, cli):
    source = write_sheet_xlsx(tmp_path / "source.xlsx", ["customer", "quality"], [["C-001", 90]])
    bomb = rewrite_sheet(source, tmp_path / "bomb.xlsx", lambda xml: xml.replace(
        b"</sheetData>", b"</sheetData>" + b" " * (3 << 20)))
    assert bomb.stat().st_size < 100_000
    assert "bomb.xlsx: unpacks to 3 MB (a zip bomb?); refused" in refused(cli, bomb, max_unpacked_mb="1")


def test_too_many_entries_are_refused(workspace, tmp_path, cli):
    source = write_sheet_xlsx(tmp_path / "source.xlsx", ["customer", "quality"], [["C-001", 90]])
    crowded = tmp_path / "crowded.xlsx"
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(crowded, "w") as copy:
        for info in original.infolist():
            copy.writestr(info, original.read(info.filename))
        for number in range(30):
            copy.writestr(f"xl/media/pad{number}.bin", b"x")
    assert "crowded.xlsx: 39 entries in the package, over 20; refused" in refused(cli, crowded, max_zip_entries="20")


def test_xml_entities_are_refused(workspace, tmp_path, cli):
    source = write_sheet_xlsx(tmp_path / "source.xlsx", ["customer", "quality"], [["C-001", 90]])
    hostile = rewrite_sheet(source, tmp_path / "entities.xlsx", lambda xml: xml.replace(
        b"<worksheet", b'<!DOCTYPE lol [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]><worksheet', 1))
    assert ("entities.xlsx!xl/worksheets/sheet1.xml: XML declares a DOCTYPE or entities; refused"
            in refused(cli, hostile))


def test_text_with_an_xlsx_name_is_refused(workspace, tmp_path, cli):
    fake = tmp_path / "results.xlsx"
    fake.write_text("customer,quality\nC-001,90\n", encoding="utf-8")
    assert "results.xlsx: not an xlsx workbook (the content is not a zip package)" in refused(cli, fake)


def test_a_zip_that_is_not_a_workbook_is_refused(workspace, tmp_path, cli):
    archive = tmp_path / "photos.xlsx"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("a.txt", "hello")
    assert "photos.xlsx: a zip file but not an xlsx workbook (no xl/workbook.xml)" in refused(cli, archive)


def test_old_xls_and_missing_files(workspace, tmp_path, cli):
    old = tmp_path / "old.xls"
    old.write_bytes(b"\xd0\xcf\x11\xe0" + b"\0" * 100)
    result = cli("import", old, tmp_path / "missing.csv", "--half", "2024H1")
    assert result.exit_code == 1
    assert "old.xls: not an Excel 97-2003 workbook (no OLE2 header); open it in Excel" in result.stderr
    assert "missing.csv: no such file" in result.stderr


def test_file_over_the_size_limit(workspace, tmp_path, cli):
    big = tmp_path / "big.csv"
    big.write_text("customer,quality\n" + "C-001,90\n" * 200_000, encoding="utf-8")
    assert ("big.csv: 1.7 MB is over the 1 MB limit (import.max_file_mb in csat.toml)"
            in refused(cli, big, max_file_mb="1"))


def test_binary_junk_with_a_csv_name(workspace, tmp_path, cli):
    junk = tmp_path / "junk.csv"
    junk.write_bytes(bytes(range(256)) * 10)
    assert "junk.csv: not a text file (it contains NUL bytes); save the sheet as CSV UTF-8" in refused(cli, junk)


@pytest.mark.parametrize("cell", [b'<c r="A1048577" t="n"><v>2</v></c>',     # deeper than any row tag says
                                  b'<c r="a1048577" t="n"><v>2</v></c>'])    # and in lower case
def test_a_cell_deeper_than_its_row_tag_is_refused(tmp_path, cell):
    source = write_sheet_xlsx(tmp_path / "source.xlsx", ["customer", "quality"], [["C-001", 90]])
    deep = rewrite_sheet(source, tmp_path / "deep.xlsx", lambda xml: xml.replace(
        b"</sheetData>", b'<row r="3">' + cell + b"</row></sheetData>"))
    with pytest.raises(UnsafeFile, match="cells span 1,048,577 rows"):
        check_xlsx(deep)


# A sheet big enough to be cut into pieces (pieces.py) is checked by the reader, which inflates its XML anyway:
# the guard defers it (check_xlsx's defer_over), and the import refuses what the guard would have refused.
# CSAT_SPLIT_MIN_BYTES=1 makes every sheet big enough.

def ten_rows(tmp_path: Path, name: str = "ten.xlsx") -> Path:
    rows = [[f"C-{number:03d}", 80 + number] for number in range(1, 11)]
    return write_sheet_xlsx(tmp_path / name, ["customer", "quality"], rows)


def test_a_big_sheet_is_left_to_its_reader_and_imported(workspace, store, customers, tmp_path, monkeypatch):
    monkeypatch.setenv("CSAT_SPLIT_MIN_BYTES", "1")
    path = ten_rows(tmp_path)
    assert check_xlsx(path, defer_over=1) == ["xl/worksheets/sheet1.xml"]
    assert check_xlsx(path, defer_over=10 ** 9) == []
    reader = WorkbookReader([path])
    reader.defer(path, ["xl/worksheets/sheet1.xml"], Limits())
    assert [sheet.height for sheet in reader.result(path)] == [11]
    assert reader._records[0]["split"]["checked"] == "xl/worksheets/sheet1.xml"    # no second scan needed
    reader.close()
    report = run_import(workspace, [path], half="2024H1")
    assert report.problems == [] and report.responses_new == 10
    assert count_rows(store, "answer") == 10


def test_far_apart_cells_in_a_big_sheet_are_refused_alike(workspace, store, customers, tmp_path, monkeypatch):
    """calamine aborts on them in the reader; the deferred check then says why, as the guard would have."""
    far = rewrite_sheet(ten_rows(tmp_path), tmp_path / "far.xlsx", lambda xml: xml.replace(
        b"</sheetData>", b'<row r="1048576"><c r="XFD1048576" t="n"><v>2</v></c></row></sheetData>'))
    problems = []
    for threshold in ("1", str(10 ** 12)):
        monkeypatch.setenv("CSAT_SPLIT_MIN_BYTES", threshold)
        problems.append(run_import(workspace, [far], half="2024H1").problems)
    assert problems[0] == problems[1] == [
        "far.xlsx!xl/worksheets/sheet1.xml: cells span 1,048,576 rows x 16,384 columns, more than 50,000,000 cells;"
        " refused"]
    assert count_rows(store, "response") == 0


@pytest.mark.parametrize("change", [
    lambda xml: xml.replace(b"</sheetData>", b"</sheetData><!-- x --><!DOCTYPE x>"),   # calamine reads it
    lambda xml: xml.replace(b"<worksheet", b'<!DOCTYPE lol [<!ENTITY lol "lol">]><worksheet', 1),  # not cut
], ids=["after the rows", "before the rows"])
def test_entities_in_a_big_sheet_are_refused(workspace, store, customers, tmp_path, monkeypatch, cli, change):
    monkeypatch.setenv("CSAT_SPLIT_MIN_BYTES", "1")
    hostile = rewrite_sheet(ten_rows(tmp_path), tmp_path / "entities.xlsx", change)
    assert ("entities.xlsx!xl/worksheets/sheet1.xml: XML declares a DOCTYPE or entities; refused"
            in refused(cli, hostile))
    assert count_rows(store, "response") == 0


def test_a_big_sheet_past_the_cell_limit_is_refused_by_what_was_read(tmp_path, monkeypatch):
    monkeypatch.setenv("CSAT_SPLIT_MIN_BYTES", "1")
    path = ten_rows(tmp_path)
    reader = WorkbookReader([path])
    reader.defer(path, ["xl/worksheets/sheet1.xml"], Limits(max_cells=21))
    with pytest.raises(UnsafeFile, match=r"ten.xlsx!xl/worksheets/sheet1.xml: cells span 11 rows x 2 columns, "
                                         r"more than 21 cells; refused"):
        reader.result(path)
    reader.close()


def test_a_part_unpacking_past_its_declared_size_is_not_cut(tmp_path):
    from csat.sheets.pieces import NotSplit, inflate

    path = ten_rows(tmp_path)
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("xl/worksheets/sheet1.xml")
    info.file_size -= 10
    with pytest.raises(NotSplit, match="more than its declared size"):
        inflate(str(path), info)


def test_the_reader_takes_the_records_once_the_worker_says_it_is_done():
    """A worker that has written its records says so (a byte on a pipe): the reader does not wait for it to
    end. One that ends without saying so (it died) is waited for, and its exit code is known."""
    import os
    import subprocess
    import sys
    import time

    from csat.sheets.read import wait_for

    for says_done, code in ((True, None), (False, 3)):
        done_read, done_write = os.pipe()
        script = (f"import os, sys, time\nos.write({done_write}, b'.')\ntime.sleep(30)" if says_done else
                  f"import os\nos.close({done_write})\nos._exit(3)")
        process = subprocess.Popen([sys.executable, "-c", script], pass_fds=(done_write,))
        os.close(done_write)
        started = time.monotonic()
        try:
            wait_for(process, 20, done_read)
            assert time.monotonic() - started < 15
            assert process.returncode == code
        finally:
            process.kill()
            process.wait()
            os.close(done_read)
