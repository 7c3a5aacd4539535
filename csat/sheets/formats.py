"""What a spreadsheet file is, by content, and the guards for .xls and .ods.

Customers still send Excel 97-2003 workbooks (.xls) and LibreOffice/WPS
files (.ods); python-calamine reads both, in the same child process as xlsx
(worker.py), so they get the same cell-level errors. Each format gets the
checks its shape calls for before the parser runs:

- .ods is a zip like xlsx: the same entry count, true unpacked size and
  entity checks (guard.py), then the extent of each table's cells. ODS
  writes runs of equal cells as one element with table:number-columns-repeated
  and table:number-rows-repeated, so a few hundred bytes can describe billions
  of cells: the extent counts repeats, but only of cells that hold something
  (LibreOffice itself writes a million repeated empty rows for a formatted
  column, and calamine skips those).
- .xls is an OLE2 compound file, not a zip: no zip checks apply. Its format
  caps a sheet at 65,536 rows x 256 columns (16.7 million cells, inside the
  cell limit), so the grid calamine builds is bounded by the format; the file
  size limit and the child's memory and time limits do the rest.
- A password-protected xlsx is also an OLE2 file (holding an EncryptedPackage
  stream): it is named as what it is, not read as an .xls.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from csat.i18n import N_, _
from csat.sheets import not_sheets
from csat.sheets.guard import Limits, UnsafeFile, _scan_part, check_layout, check_size, check_xlsx

ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ODS_MIMETYPE = "application/vnd.oasis.opendocument.spreadsheet"
WORKBOOK_KINDS = ("xlsx", "xls", "ods")
XLSX_SUFFIXES = {".xlsx", ".xlsm"}
SUFFIXES = {"xlsx": (".xlsx", ".xlsm"), "xls": (".xls",), "ods": (".ods",)}
ENCRYPTED_PACKAGE = "EncryptedPackage".encode("utf-16-le")
CONVERT_HINT = N_("open it in Excel, WPS or LibreOffice and save it as .xlsx (or CSV UTF-8), then import that")
_TABLE = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
_OFFICE = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}"


def sniff(path: Path, limits: Limits = Limits()) -> str:
    """'xlsx', 'xls', 'ods' or 'csv' by content (a suffix can lie); CsatError for what cannot be read."""
    check_size(path, limits)
    with open(path, "rb") as handle:
        head = handle.read(8)
    suffix = path.suffix.lower()
    if head[:4] == ZIP_MAGIC:
        _refuse_packages(path)
        return _zip_kind(path)
    if head == OLE_MAGIC:
        if _is_encrypted_package(path):
            raise UnsafeFile(_("{path}: a password-protected workbook; remove the password"
                               " (Excel: File > Info > Protect Workbook) and save it again", path=path))
        if not_sheets.is_outlook_message(path):
            raise UnsafeFile(_("{path}: an Outlook message, not a sheet; save the form attached to it"
                               " (Outlook: File > Save Attachments) and import that file", path=path))
        return "xls"
    if head[:4] == OLE_MAGIC[:4] or suffix == ".xls":
        raise UnsafeFile(_("{path}: not an Excel 97-2003 workbook (no OLE2 header); {hint}", path=path, hint=_(CONVERT_HINT)))
    if suffix in XLSX_SUFFIXES:
        raise UnsafeFile(_("{path}: not an xlsx workbook (the content is not a zip package)", path=path))
    if suffix == ".ods":
        raise UnsafeFile(_("{path}: not an OpenDocument spreadsheet (the content is not a zip package); {hint}",
                           path=path, hint=_(CONVERT_HINT)))
    _refuse_documents(path, head)
    return "csv"


def _refuse_documents(path: Path, head: bytes) -> None:
    """What is neither a workbook nor a CSV but is often given as one: a saved e-mail, a PDF (not_sheets.py)."""
    if not_sheets.is_pdf(head):
        raise UnsafeFile(_("{path}: a PDF document, not a sheet; import the form or sheet itself"
                           " (.xlsx, .xls, .ods or .csv)", path=path))
    attachments = not_sheets.mail_attachments(path)
    if attachments is None:
        return
    sheets = not_sheets.sheets_among(attachments)
    if sheets:
        raise UnsafeFile(_("{path}: an e-mail message, not a sheet; save its attachment {names} and import that",
                           path=path, names=", ".join(sheets)))
    raise UnsafeFile(_("{path}: an e-mail message with no spreadsheet attached; import the form or sheet itself"
                       " (.xlsx, .xls, .ods or .csv)", path=path))


def _refuse_packages(path: Path) -> None:
    """Zips that are no workbook but are often given as one: a Word document, an archive of forms (not_sheets.py)."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = [not_sheets.entry_name(info) for info in archive.infolist()]
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError):
        return    # judged as an xlsx, and refused as a broken one by check_xlsx
    if "word/document.xml" in names:
        raise UnsafeFile(_("{path}: a Word document, not a sheet; import the form or sheet itself"
                           " (.xlsx, .xls, .ods or .csv)", path=path))
    sheets = not_sheets.sheets_in_archive(names)
    if sheets:
        raise UnsafeFile(_("{path}: a zip archive of files, not a workbook; unpack it and import the files in it"
                           " ({names})", path=path, names=", ".join(sheets)))


def content_kind(path) -> str | None:
    """'xlsx', 'xls' or 'ods' from a workbook's first bytes (and a zip's names); None for anything else."""
    with open(path, "rb") as handle:
        head = handle.read(8)
    if head[:4] == ZIP_MAGIC:
        return _zip_kind(Path(path))
    if head == OLE_MAGIC:
        return "xls"
    return None


def named_as(path, kind: str | None) -> bool:
    """The file's name says what its content is (calamine picks its reader by the name)."""
    return str(path).lower().endswith(SUFFIXES.get(kind or "", ()))


def _zip_kind(path: Path) -> str:
    """An OpenDocument package names its content.xml and has no xl/workbook.xml; any other zip is
    judged as an xlsx (and refused by check_xlsx if it is not one)."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError):
        return "ods" if path.suffix.lower() == ".ods" else "xlsx"
    if "content.xml" in names and "xl/workbook.xml" not in names:
        return "ods"
    return "xlsx"


def _is_encrypted_package(path: Path) -> bool:
    """The OLE2 directory of an encrypted OOXML file names an EncryptedPackage stream (UTF-16)."""
    tail = b""
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            if ENCRYPTED_PACKAGE in tail + chunk:
                return True
            tail = chunk[-len(ENCRYPTED_PACKAGE):]
    return False


def check_xls(path: Path, limits: Limits = Limits()) -> None:
    """An .xls passes on its size and OLE2 header; the format itself bounds a sheet's grid (see above)."""
    check_size(path, limits)
    with open(path, "rb") as handle:
        if handle.read(8) != OLE_MAGIC:
            raise UnsafeFile(_("{path}: not an Excel 97-2003 workbook (no OLE2 header); {hint}", path=path, hint=_(CONVERT_HINT)))


def check_ods(path: Path, limits: Limits = Limits()) -> None:
    """Refuse anything that is not a plausible, bounded OpenDocument spreadsheet."""
    check_size(path, limits)
    if not zipfile.is_zipfile(path):
        raise UnsafeFile(_("{path}: not an OpenDocument spreadsheet (the content is not a zip package)", path=path))
    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
            if len(entries) > limits.max_entries:
                raise UnsafeFile(_("{path}: {entries:,} entries in the package, over {limit:,}; refused", path=path,
                                   entries=len(entries), limit=limits.max_entries))
            check_layout(path, archive)     # one reading for every zip reader (guard.py)
            names = {info.filename: info for info in entries}
            if "content.xml" not in names:
                raise UnsafeFile(_("{path}: a zip file but not an OpenDocument spreadsheet (no content.xml)", path=path))
            if "mimetype" in names:
                mimetype = archive.read("mimetype")[:200].decode("ascii", "replace").strip()
                if mimetype != ODS_MIMETYPE:
                    raise UnsafeFile(_("{path}: an OpenDocument file of type {type!r}, not a spreadsheet", path=path,
                                       type=mimetype))
            manifest = names.get("META-INF/manifest.xml")
            if manifest is not None and manifest.file_size < 10 << 20 and b"encryption-data" in archive.read(manifest):
                raise UnsafeFile(_("{path}: a password-protected spreadsheet; save it again without a password", path=path))
            declared = sum(info.file_size for info in entries)
            if declared > limits.max_unpacked_bytes:
                raise UnsafeFile(_("{path}: unpacks to {size:,.0f} MB (a zip bomb?); refused", path=path,
                                   size=declared / 1048576))
            budget = [limits.max_unpacked_bytes]
            for info in entries:
                if info.filename.lower().endswith((".xml", ".rdf")):
                    _scan_part(archive, info, path, budget, False, limits)
            _check_extents(archive, names["content.xml"], path, limits)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, NotImplementedError) as exc:
        raise UnsafeFile(_("{path}: damaged ods package ({error})", path=path, error=exc)) from None
    except RuntimeError as exc:  # encrypted entries
        raise UnsafeFile(_("{path}: cannot read the ods package ({error})", path=path, error=exc)) from None


def _repeat(element, name: str) -> int:
    text = element.get(_TABLE + name)
    if text is None:
        return 1
    try:
        return max(1, int(text))
    except ValueError:
        return 1


class _Table:
    """Where the cells that hold something lie in one table (0-based, repeats counted)."""

    def __init__(self, name: str, element):
        self.name = name
        self.element = element
        self.next_row = 0
        self.next_column = 0
        self.row_has_cells = False
        self.first_row = self.first_column = None
        self.last_row = self.last_column = -1

    def cell(self, repeat: int, holds_something: bool) -> None:
        if holds_something:
            last = self.next_column + repeat - 1
            self.first_column = self.next_column if self.first_column is None else min(self.first_column,
                                                                                      self.next_column)
            self.last_column = max(self.last_column, last)
            self.row_has_cells = True
        self.next_column += repeat

    def row(self, repeat: int) -> None:
        if self.row_has_cells:
            if self.first_row is None:
                self.first_row = self.next_row
            self.last_row = self.next_row + repeat - 1
        self.next_row += repeat
        self.next_column = 0
        self.row_has_cells = False


def _check_extents(archive: zipfile.ZipFile, info: zipfile.ZipInfo, path: Path, limits: Limits) -> None:
    """Stream content.xml and refuse a table whose filled cells span more than the limits allow."""
    from xml.etree.ElementTree import ParseError

    from defusedxml.ElementTree import iterparse

    tables: list[_Table] = []
    cells = (_TABLE + "table-cell", _TABLE + "covered-table-cell")
    try:
        with archive.open(info) as stream:
            for event, element in iterparse(stream, events=("start", "end")):
                tag = element.tag
                if event == "start":
                    if tag == _TABLE + "table":
                        tables.append(_Table(element.get(_TABLE + "name") or f"table {len(tables) + 1}", element))
                    continue
                if tag in cells and tables:
                    holds = (element.get(_OFFICE + "value-type") is not None or len(element) > 0
                             or bool((element.text or "").strip()))
                    tables[-1].cell(_repeat(element, "number-columns-repeated"), holds)
                    element.clear()
                elif tag == _TABLE + "table-row" and tables:
                    tables[-1].row(_repeat(element, "number-rows-repeated"))
                    tables[-1].element.clear()      # drop the rows read so far: memory stays flat
                elif tag == _TABLE + "table" and tables:
                    _refuse_wide(tables.pop(), path, limits)
    except ParseError as exc:
        raise UnsafeFile(_("{path}!content.xml: not readable XML ({error})", path=path, error=exc)) from None


def _refuse_wide(table: _Table, path: Path, limits: Limits) -> None:
    if table.first_row is None or table.first_column is None:
        return
    rows = table.last_row - table.first_row + 1
    columns = table.last_column - table.first_column + 1
    if table.last_row + 1 > limits.max_rows or table.last_column + 1 > limits.max_columns or rows * columns > limits.max_cells:
        raise UnsafeFile(_("{where}: cells span {rows:,} rows x {columns:,} columns, more than {limit:,} cells; refused",
                           where=f"{path}!{table.name}", rows=rows, columns=columns, limit=limits.max_cells))


def check_workbook(path: Path, kind: str, limits: Limits = Limits(), defer_over: int | None = None) -> list[str]:
    """The guard for a workbook of this kind (see sniff); returns the parts it left to the reader
    (an xlsx's worksheets over `defer_over` bytes: see check_xlsx)."""
    if kind == "xls":
        check_xls(path, limits)
    elif kind == "ods":
        check_ods(path, limits)
    else:
        return check_xlsx(path, limits, defer_over)
    return []
