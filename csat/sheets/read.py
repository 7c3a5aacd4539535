"""Rows out of xlsx, xls, ods and csv files, with absolute cell addresses.

Values are normalised in one place: calamine gives whole numbers as floats
and dates as `date`; csv gives strings. Every row carries its real sheet row
number and every value its column letter, so an error can name the cell
exactly (`FILE!SHEET!C7`) even when calamine trimmed empty leading rows.
CSV is read as UTF-8 (with or without BOM), else GB18030 (which covers GBK),
the encodings Chinese Excel writes.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Iterator, Optional

from csat.errors import CsatError
from csat.i18n import _, language
from csat.sheets.columns import Column, columns_of, rows_of
from csat.sheets.formats import (CONVERT_HINT, OLE_MAGIC, WORKBOOK_KINDS, ZIP_MAGIC, check_workbook,
                                 content_kind, sniff)
from csat.sheets.guard import Limits, check_deferred, check_extent, check_size, column_letters, column_number

CSV_SUFFIXES = {".csv", ".txt"}


@dataclass
class Sheet:
    """One sheet: its name and its cells as columns (see columns.py), anchored at (first_row, first_column).

    `grid` gives the same cells as rows (None for blank), built on first use:
    fine for forms and lists of customers, too slow for a 100,000-row sheet,
    which the importer reads column by column.
    """

    name: str
    height: int
    columns: list[Column]
    first_row: int = 1
    first_column: int = 1
    visibility: str = "visible"
    marks: Optional[dict] = None    # what Excel would not show (marks.py): hidden rows and columns, merges, formulas
    _grid: Optional[list[list[Any]]] = field(default=None, repr=False)

    @classmethod
    def from_grid(cls, name: str, grid: list[list[Any]], **where) -> "Sheet":
        height, columns = columns_of(grid)
        return cls(name=name, height=height, columns=columns, **where)

    @property
    def width(self) -> int:
        return len(self.columns)

    @property
    def grid(self) -> list[list[Any]]:
        if self._grid is None:
            self._grid = rows_of(self.height, self.columns)
        return self._grid

    @property
    def rows(self) -> list[tuple[int, int, list[Any]]]:
        """(row_number, first_column_number, normalised values) for every row."""
        return [(self.first_row + offset, self.first_column, [normalise(value) for value in values])
                for offset, values in enumerate(self.grid)]

    def cell(self, row_number: int, column_number: int) -> str:
        return f"{column_letters(column_number)}{row_number}"

    def value(self, address: str) -> Any:
        """The normalised value at an address like C8, or None when the cell is empty or outside."""
        row_number, column_number = split_address(address)
        row_index, column_index = row_number - self.first_row, column_number - self.first_column
        if row_index < 0 or column_index < 0 or row_index >= self.height or column_index >= self.width:
            return None
        return normalise(self.columns[column_index].value(row_index))


def split_address(address: str) -> tuple[int, int]:
    """(row, column) numbers of an address like C8 or $C$8; ValueError if it is not one."""
    text = address.replace("$", "").strip().upper()
    letters = text.rstrip("0123456789")
    digits = text[len(letters):]
    if not letters or not digits or not letters.isalpha() or not letters.isascii() or len(letters) > 3:
        raise ValueError(_("{address!r} is not a cell address", address=address))
    return int(digits), column_number(letters)


def normalise(value: Any) -> Any:
    """One representation for every reader: str stripped, ints for whole floats, date for midnight datetimes.

    NUL characters are dropped from text: an xlsx cell can carry one as the escape _x0000_, SQLite
    would keep it invisibly and PostgreSQL cannot store it at all.
    """
    if value is None:
        return None
    if isinstance(value, str):
        value = value.replace("\x00", "").strip()
        return value or None
    if isinstance(value, bool):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else value
    if isinstance(value, datetime):
        return value.date() if value.time() == datetime.min.time() else value
    if isinstance(value, date):
        return value
    return value


def decode_csv(data: bytes, path: Path) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise CsatError(_("{path}: not UTF-8 or GBK/GB18030 text; save the file as CSV UTF-8", path=path))


def read_csv(path: Path, limits: Limits = Limits()) -> list[Sheet]:
    """The one sheet of a CSV file (UTF-8 with or without BOM, else GB18030), values as stripped text."""
    check_size(path, limits)
    data = path.read_bytes()
    if data[:4] == ZIP_MAGIC:
        raise CsatError(_("{path}: this is an xlsx workbook with a .csv name; rename it to .xlsx", path=path))
    if data[:8] == OLE_MAGIC:
        raise CsatError(_("{path}: this is an Excel 97-2003 workbook with a .csv name; rename it to .xls", path=path))
    if b"\0" in data:
        raise CsatError(_("{path}: not a text file (it contains NUL bytes); save the sheet as CSV UTF-8", path=path))
    text = decode_csv(data, path)
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    try:
        grid = [[value.strip() or None for value in values] for values in csv.reader(io.StringIO(text), dialect)]
    except csv.Error as exc:
        raise CsatError(_("{path}: not a readable CSV file ({error})", path=path, error=exc)) from None
    return [Sheet.from_grid(path.stem, grid)]


class WorkbookReader:
    """Reads xlsx, xls and ods workbooks with python-calamine in a child process (see worker.py).

    Start it early and collect later: the parse then overlaps whatever the caller
    does meanwhile (opening the store, running the guard). A worker that dies on a
    file (calamine aborting, the memory or time limit) costs that file an error and
    is restarted for the files after it.
    """

    def __init__(self, paths: list[Path], limits: Limits = Limits(), also: tuple[str, ...] = (),
                 visible_only: bool = True, lang: Optional[str] = None):
        self.paths = [Path(path) for path in paths]
        self.lang = lang      # the language of the worker's refusals; None: the one in force at each start
        self.limits = limits
        self.also = list(also)
        self.visible_only = visible_only
        self._records: dict[int, dict] = {}
        self._deferred: dict[int, tuple[list[str], Limits]] = {}    # see defer
        self._pending: list[int] = list(range(len(self.paths)))
        self._process = None
        self._output = None
        self._errors = None
        self._done: Optional[int] = None
        if self._pending:
            self._spawn()

    def _spawn(self) -> None:
        import json
        import os
        import subprocess
        import sys
        import tempfile

        from csat.sheets.pieces import scratch_file

        self._output = scratch_file()      # the sheets read: megabytes, best kept in memory
        self._errors = tempfile.TemporaryFile()
        request = {
            "lang": self.lang or language(),   # the worker's refusals are read by the same person
            "memory_bytes": self.limits.parse_memory_bytes, "seconds": self.limits.parse_seconds,
            "files": [{"path": str(self.paths[index]), "also": self.also, "visible_only": self.visible_only}
                      for index in self._pending],
        }
        # -P: the current folder is not put on the worker's path (a folder named csat there must
        # not shadow the package); the package this process runs from is named explicitly instead.
        package_root = str(Path(__file__).resolve().parent.parent.parent)
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH", "")]))
        # The worker writes a byte here once its records are all written: tearing down a process that
        # held a 100,000-row sheet takes a few hundredths of a second the importer need not wait for.
        # (POSIX: elsewhere a child inherits no descriptor but its standard streams, and the reader waits.)
        passed: tuple[int, ...] = ()
        if os.name == "posix":
            self._done, done = os.pipe()
            request["done_fd"], passed = done, (done,)
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-P", "-m", "csat.sheets.worker"],
                stdin=subprocess.PIPE, stdout=self._output, stderr=self._errors, env=env, pass_fds=passed,
            )
        finally:
            for descriptor in passed:
                os.close(descriptor)
        try:
            self._process.stdin.write(json.dumps(request).encode("utf-8"))
            self._process.stdin.close()
        except BrokenPipeError:
            pass

    def _harvest(self) -> None:
        """Take the complete records the worker wrote; a partial last one is left pending."""
        import pickle

        from csat.sheets.worker import HEADER

        self._output.seek(0)
        data = self._output.read()
        self._output.close()
        self._errors.close()
        self._close_done()
        offset = 0
        while self._pending and offset + HEADER.size <= len(data):
            (length,) = HEADER.unpack_from(data, offset)
            end = offset + HEADER.size + length
            if end > len(data):
                break
            self._records[self._pending.pop(0)] = pickle.loads(memoryview(data)[offset + HEADER.size:end])
            offset = end

    def _collect(self) -> None:
        """Wait for the worker; keep its records; restart it after a file it died on."""
        import signal
        import subprocess

        while self._pending:
            process = self._process
            try:
                wait_for(process, self.limits.parse_seconds + 30, self._done)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            self._harvest()
            if not self._pending:
                break
            code = process.returncode
            if code is not None and code < 0 and -code == getattr(signal, "SIGXCPU", None):
                why = _("it ran out of time")
            elif code is not None and code < 0 and -code == getattr(signal, "SIGKILL", None):
                why = _("it was stopped: out of time or memory")
            elif code in (-signal.SIGABRT, 128 + signal.SIGABRT):
                why = _("it ran out of memory: cells too far apart or too many")
            else:
                why = _("the reader stopped with code {code}", code=code)
            self._records[self._pending.pop(0)] = {"ok": False,
                                                          "error": _("the workbook could not be read ({why})", why=why)}
            if self._pending:
                self._spawn()
        # The worker may still be ending (it said it was done): close() reaps it, or stops it if it has not.

    def _close_done(self) -> None:
        import os

        if self._done is not None:
            os.close(self._done)
            self._done = None

    def drop(self, paths) -> None:
        """Do not read these (the guard refused them): stop the worker if it would, go on with the rest."""
        indexes = {self.paths.index(Path(path)) for path in paths if Path(path) in self.paths}
        if not indexes & set(self._pending):
            return
        if self._process is not None:
            if self._process.poll() is None:
                self._process.kill()
            self._process.wait()
            self._harvest()
        for index in indexes:
            self._records.setdefault(index, {"ok": False, "error": _("refused before reading")})
        self._pending = [index for index in self._pending if index not in indexes]
        self._process = None
        if self._pending:
            self._spawn()

    def defer(self, path: Path, parts: list[str], limits: Limits) -> None:
        """The guard left these parts of the file to the reader (guard.check_xlsx's defer_over): result()
        finishes their checks, from what the worker found while reading, before it hands the sheets over."""
        if parts and Path(path) in self.paths:
            self._deferred[self.paths.index(Path(path))] = (list(parts), limits)

    def result(self, path: Path) -> list[Sheet]:
        """The sheets read from one of the paths; CsatError if the worker could not read it (UnsafeFile
        if a check the guard deferred to the reader refuses it)."""
        index = self.paths.index(Path(path))
        if index not in self._records:
            self._collect()
        record = self._records[index]
        deferred, limits = self._deferred.get(index, ([], Limits()))
        checked = (record.get("split") or {}).get("checked")
        if not record["ok"]:
            # Whatever stopped the worker, a deferred check that refuses the file says why more exactly.
            check_deferred(Path(path), deferred, limits)
            hint = "; " + _(CONVERT_HINT) if _kind_of(path) in ("xls", "ods") else ""
            raise CsatError(f"{path}: {record['error']}{hint}")
        check_deferred(Path(path), [part for part in deferred if part != checked], limits)
        from csat.sheets.pieces import joined_columns

        sheets = [Sheet(name=sheet["name"], height=sheet["height"], columns=joined_columns(sheet),
                        first_row=sheet["first_row"], first_column=sheet["first_column"],
                        visibility=sheet["visibility"], marks=sheet.get("marks"))
                  for sheet in record["sheets"]]
        if checked in deferred:    # its extent, exactly, from the cells read (the guard would have bounded it)
            for sheet in sheets:
                if sheet.name == record["split"]["sheet"] and sheet.height and sheet.columns:
                    check_extent(Path(path), checked, (sheet.first_row, sheet.first_column),
                                 (sheet.first_row + sheet.height - 1, sheet.first_column + len(sheet.columns) - 1),
                                 limits)
        return sheets

    def close(self) -> None:
        """Stop the worker if it is still running (e.g. the caller refused a file meanwhile)."""
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        for handle in (self._output, self._errors):
            if handle is not None and not handle.closed:
                handle.close()
        self._close_done()
        self._process = None


def wait_for(process, timeout: float, done: Optional[int] = None) -> None:
    """Wait for a child process, waking as soon as it exits or writes a byte to the pipe `done`
    (it is done, and may still be ending: then it is not waited for).

    Popen.wait with a timeout polls, sleeping up to 50 ms between looks: an import would
    sit that long after its reader finished. On Linux a pidfd becomes readable at the exit.
    """
    import os
    import select
    import subprocess

    try:
        descriptor = os.pidfd_open(process.pid)
    except (AttributeError, OSError):      # not Linux, or already reaped
        process.wait(timeout=timeout)
        return
    try:
        ready, _, _ = select.select([descriptor] + ([done] if done is not None else []), [], [], timeout)
        if done in ready and os.read(done, 1):
            return                          # done; a pipe at its end without the byte: the process died
    finally:
        os.close(descriptor)
    if not ready:
        raise subprocess.TimeoutExpired(process.args, timeout)
    process.wait()


def _kind_of(path: Path) -> str | None:
    try:
        return content_kind(path)
    except OSError:
        return None


def read_workbook(path: Path, kind: str = "xlsx", limits: Limits = Limits(), also: tuple[str, ...] = (),
                  visible_only: bool = True) -> list[Sheet]:
    """The visible worksheets (plus any named in `also`) of an xlsx, xls or ods workbook, after its guard."""
    check_workbook(path, kind, limits)
    reader = WorkbookReader([path], limits, also=also, visible_only=visible_only)
    try:
        return reader.result(path)
    finally:
        reader.close()


def read_xlsx(path: Path, limits: Limits = Limits(), also: tuple[str, ...] = (),
              visible_only: bool = True) -> list[Sheet]:
    """The visible worksheets (plus any named in `also`), after the guard has passed the file."""
    return read_workbook(path, "xlsx", limits, also, visible_only)


def sniff_kind(path: Path, limits: Limits = Limits()) -> str:
    """'xlsx', 'xls', 'ods' or 'csv' by content (an xlsx is a zip whatever its name); CsatError for none."""
    return sniff(path, limits)


def read_table(path: Path, limits: Limits = Limits()) -> list[Sheet]:
    """Sheets of an xlsx, xls, ods or csv file, chosen by content, not by the file's name."""
    kind = sniff_kind(path, limits)
    if kind in WORKBOOK_KINDS:
        return read_workbook(path, kind, limits)
    return read_csv(path, limits)


def header_rows(sheet: Sheet) -> Iterator[tuple[int, dict[str, Any], dict[str, str]]]:
    """Rows of a sheet keyed by its first non-empty row (the header): (row_number, values, cells)."""
    header: list[str] | None = None
    first_column = 1
    for row_number, column, values in sheet.rows:
        if header is None:
            if any(value is not None for value in values):
                header = ["" if value is None else str(value).strip() for value in values]
                first_column = column
            continue
        if not any(value is not None for value in values):
            continue
        record, cells = {}, {}
        for index, name in enumerate(header):
            if not name:
                continue
            record[name] = values[index] if index < len(values) else None
            cells[name] = f"{column_letters(first_column + index)}{row_number}"
        yield row_number, record, cells


def file_bytes(path: Path, limits: Optional[Limits] = None) -> bytes:
    """A file's bytes for the archive, refused as the readers refuse it (no such file, not a file, too big)."""
    check_size(path, limits or Limits())
    try:
        return path.read_bytes()
    except OSError as exc:
        raise CsatError(_("{path}: cannot read it ({error})", path=path, error=exc.strerror or exc)) from exc


def archive_as_read(session, path: Path, content: bytes, kind: str, limits: Optional[Limits] = None) -> int:
    """Keep an imported file in the store's archive, in the import's transaction; its archived id.

    `content` is what the rows were read from; a file changed on disk since is refused, so the
    archive holds exactly what the records were made from.
    """
    from csat.store.sources import archive, sha256_of

    again = file_bytes(path, limits)
    if sha256_of(again) != sha256_of(content):
        raise CsatError(_("{file} changed while it was being imported; nothing was imported, import it again",
                          file=path.name))
    return archive(session.connection(), content, path.name, kind, sniff_kind(path, limits or Limits())).id
