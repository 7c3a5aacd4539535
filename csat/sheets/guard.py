"""Checks that run before a spreadsheet parser touches a file.

python-calamine builds a dense grid and aborts the whole process (a signal,
not an exception) when a tiny sheet names far-apart cells; openpyxl without
defusedxml expands XML entities; a zip bomb unpacks to gigabytes. So every
file is checked first, by streaming: its size, that an .xlsx is really a zip
of a workbook, the zip's entry count and true unpacked size, entity
declarations in any XML part, and the extent of every worksheet's cells.
The parser itself then runs in a child process with memory and time limits
(see worker.py), so a trick these checks miss costs a clear error, not the
whole command. An import leaves the streaming of a sheet big enough to be
cut into pieces to that reader, which inflates it anyway (check_xlsx's
defer_over, check_deferred).
"""

from __future__ import annotations

import re
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from csat.errors import CsatError
from csat.i18n import _

# Any attribute r="A1" (single or double quotes, any case): the general form, used for exact extents.
_ANY_CELL_REF = re.compile(rb'\sr\s*=\s*["\']([A-Za-z]+)([0-9]+)["\']')
# The spelling every known writer uses; with its literal prefix the scan runs at memchr speed.
_ROW_TAG = re.compile(rb'<row r="([0-9]+)"')
# Other spellings of an r attribute (tabs or line breaks around it, single quotes) are looked
# for only in the rare chunks that contain those bytes at all.
_ODD_SPELLING = re.compile(rb"[\t\n\r]r[ \t\n\r]*=|r[ \t\n\r]+=|r=[ \t\n\r]*'|r=[\t\n\r]")
_ODD_BYTES = (b"\t", b"\n", b"\r", b"'")
_CHUNK = 1 << 20
_ENTITY = re.compile(rb"<!(?:DOCTYPE|ENTITY)", re.IGNORECASE)
_odd_ref_patterns: dict[int, re.Pattern] = {}


def _odd_ref(digits: int) -> re.Pattern:
    """A cell ref past column Z or not in upper case, or whose row number has more digits than the
    row tags show. One pattern, so the scan visits each of a big sheet's million refs once
    (possessive: "A1" never backtracks into a match)."""
    pattern = _odd_ref_patterns.get(digits)
    if pattern is None:
        pattern = re.compile(rb' r="(?:[A-Z]?+[^0-9]|[A-Z][0-9]{%d})' % (digits + 1))
        _odd_ref_patterns[digits] = pattern
    return pattern


class UnsafeFile(CsatError):
    """A file refused before parsing."""


@dataclass(frozen=True)
class Limits:
    max_file_bytes: int = 50 * 1024 * 1024
    max_unpacked_bytes: int = 500 * 1024 * 1024
    max_entries: int = 10_000
    max_cells: int = 50_000_000
    max_rows: int = 1_048_576
    max_columns: int = 16_384
    parse_memory_bytes: int = 4 * 1024 * 1024 * 1024
    parse_seconds: int = 300

    @classmethod
    def from_settings(cls, settings) -> "Limits":
        section = settings.import_
        return cls(
            max_file_bytes=int(section.max_file_mb * 1024 * 1024),
            max_unpacked_bytes=int(section.max_unpacked_mb * 1024 * 1024),
            max_entries=section.max_zip_entries,
        )


def column_number(letters: str) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + (ord(letter) - 64)
    return number


def column_letters(number: int) -> str:
    letters = ""
    while number:
        number, remainder = divmod(number - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def check_size(path: Path, limits: Limits) -> int:
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise UnsafeFile(_("{path}: no such file", path=path)) from None
    except OSError as exc:
        raise UnsafeFile(_("{path}: cannot read: {error}", path=path, error=exc.strerror)) from None
    if not path.is_file():
        raise UnsafeFile(_("{path}: not a file", path=path))
    if size > limits.max_file_bytes:
        raise UnsafeFile(
            _("{path}: {size} MB is over the {limit} MB limit (import.max_file_mb in csat.toml)", path=path,
              size=f"{size / 1048576:.1f}", limit=f"{limits.max_file_bytes / 1048576:g}")
        )
    return size


def _over_budget(budget: list[int], size: int, path: Path, limits: Limits) -> None:
    budget[0] -= size
    if budget[0] < 0:
        raise UnsafeFile(
            _("{path}: unpacks to more than {limit} MB (a zip bomb?); refused", path=path,
              limit=f"{limits.max_unpacked_bytes / 1048576:g}")
        )


def _scan_part(archive: zipfile.ZipFile, info: zipfile.ZipInfo, path: Path, budget: list[int],
               is_sheet: bool, limits: Limits) -> None:
    """Stream one XML part: count real unpacked bytes, refuse entities, bound a sheet's cell extent.

    Reading every cell reference of a 100,000-row sheet costs seconds in Python, so the
    first pass only looks for what would make the extent large: row numbers with more
    digits than the row tags show, columns past Z, or an unusual spelling of the r
    attribute. Only then (or when the cheap bound is over the limits) is the sheet
    read again to measure its exact extent.
    """
    digits = 0
    needs_exact = False
    tail = b""
    with archive.open(info) as stream:
        first = True
        while True:
            chunk = stream.read(_CHUNK)
            if not chunk:
                break
            _over_budget(budget, len(chunk), path, limits)
            window = tail + chunk
            if (first or b"!" in window) and declares_entities(window):
                raise _entities(path, info.filename)
            first = False
            if is_sheet and not needs_exact:
                tags = _ROW_TAG.findall(window)
                if tags:
                    digits = max(digits, max(map(len, tags)))
                needs_exact = bool(_odd_ref(digits).search(window)) or (
                    any(odd in window for odd in _ODD_BYTES) and bool(_ODD_SPELLING.search(window))
                )
            tail = chunk[-256:]
    if not is_sheet or (digits == 0 and not needs_exact):
        return
    rows_bound, columns_bound = 10 ** digits - 1, 26
    if needs_exact or rows_bound > limits.max_rows or rows_bound * columns_bound > limits.max_cells:
        _exact_extent(archive, info, path, limits)


def declares_entities(xml: bytes) -> bool:
    """Whether XML bytes hold a DOCTYPE or ENTITY declaration (the one-byte test first runs at memchr speed)."""
    return b"!" in xml and _ENTITY.search(xml) is not None


def _entities(path: Path, part: str) -> UnsafeFile:
    return UnsafeFile(_("{where}: XML declares a DOCTYPE or entities; refused", where=f"{path}!{part}"))


def check_extent(path: Path, part: str, first: tuple[int, int], last: tuple[int, int], limits: Limits) -> None:
    """Refuse cells spanning rows first[0]..last[0] and columns first[1]..last[1] (1-based) past the limits."""
    row_span, column_span = last[0] - first[0] + 1, last[1] - first[1] + 1
    if last[0] > limits.max_rows or last[1] > limits.max_columns or row_span * column_span > limits.max_cells:
        raise UnsafeFile(
            _("{path}!{part}: cells span {rows} rows x {columns} columns, more than {cells} cells; refused",
              path=path, part=part, rows=f"{row_span:,}", columns=f"{column_span:,}",
              cells=f"{limits.max_cells:,}")
        )


def _exact_extent(archive: zipfile.ZipFile, info: zipfile.ZipInfo, path: Path, limits: Limits) -> None:
    """Measure a sheet's real cell extent from every cell reference and refuse an absurd one."""
    rows: set[bytes] = set()
    columns: set[bytes] = set()
    tail = b""
    with archive.open(info) as stream:
        while True:
            chunk = stream.read(_CHUNK)
            if not chunk:
                break
            for letters, digits in _ANY_CELL_REF.findall(tail + chunk):
                rows.add(digits)
                columns.add(letters)
            tail = chunk[-256:]
    if not rows:
        return
    row_numbers = [int(digits) for digits in rows]
    column_numbers = [column_number(letters.decode("ascii").upper()) for letters in columns]
    check_extent(path, info.filename, (min(row_numbers), min(column_numbers)),
                 (max(row_numbers), max(column_numbers)), limits)


def check_xlsx(path: Path, limits: Limits = Limits(), defer_over: Optional[int] = None) -> list[str]:
    """Refuse anything that is not a plausible, bounded xlsx workbook.

    `defer_over`: worksheet parts declaring more unpacked bytes than this are not streamed here but
    returned, their declared sizes counted against the limit: the caller's reader inflates such a part
    anyway (csat.sheets.pieces), checks it there (declares_entities, its real size) and parses it in a
    child process with memory and time limits, and the caller finishes the checks from what it read
    (check_deferred). Streaming 50 MB of XML twice, once here and once in the reader, costs an
    import of a 100,000-row sheet a quarter of a second.
    """
    check_size(path, limits)
    if not zipfile.is_zipfile(path):
        raise UnsafeFile(_("{path}: not an xlsx workbook (the content is not a zip package)", path=path))
    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
            if len(entries) > limits.max_entries:
                raise UnsafeFile(_("{path}: {entries:,} entries in the package, over {limit:,}; refused", path=path,
                                   entries=len(entries), limit=limits.max_entries))
            check_layout(path, archive)
            names = {info.filename for info in entries}
            if "xl/workbook.xml" not in names and not any(name.endswith("/workbook.xml") for name in names):
                raise UnsafeFile(_("{path}: a zip file but not an xlsx workbook (no xl/workbook.xml)", path=path))
            declared = sum(info.file_size for info in entries)
            if declared > limits.max_unpacked_bytes:
                raise UnsafeFile(_("{path}: unpacks to {size:,.0f} MB (a zip bomb?); refused", path=path,
                                   size=declared / 1048576))
            budget = [limits.max_unpacked_bytes]
            deferred = []
            for info in entries:
                name = info.filename.lower()
                if name.endswith((".xml", ".rels", ".vml")):
                    is_sheet = name.startswith("xl/worksheets/") and name.endswith(".xml")
                    if is_sheet and defer_over is not None and info.file_size > defer_over:
                        _over_budget(budget, info.file_size, path, limits)
                        deferred.append(info.filename)
                        continue
                    _scan_part(archive, info, path, budget, is_sheet, limits)
            if "xl/workbook.xml" in names:
                check_sheet_list(path, archive)
            return deferred
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, NotImplementedError) as exc:
        raise UnsafeFile(_("{path}: damaged xlsx package ({error})", path=path, error=exc)) from None
    except RuntimeError as exc:  # encrypted entries
        raise UnsafeFile(_("{path}: cannot read the xlsx package ({error})", path=path, error=exc)) from None


def check_deferred(path: Path, parts: list[str], limits: Limits = Limits()) -> None:
    """The checks check_xlsx deferred for these parts (see defer_over), made now, by streaming them."""
    if not parts:
        return
    try:
        with zipfile.ZipFile(path) as archive:
            infos = {info.filename: info for info in archive.infolist()}
            # What the other parts declare was counted already; these count by what they really unpack to.
            budget = [limits.max_unpacked_bytes - sum(info.file_size for name, info in infos.items()
                                                      if name not in parts)]
            for part in parts:
                _scan_part(archive, infos[part], path, budget, True, limits)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, NotImplementedError, KeyError) as exc:
        raise UnsafeFile(_("{path}: damaged xlsx package ({error})", path=path, error=exc)) from None
    except RuntimeError as exc:  # encrypted entries
        raise UnsafeFile(_("{path}: cannot read the xlsx package ({error})", path=path, error=exc)) from None


def _outside(path: Path) -> UnsafeFile:
    return UnsafeFile(_("{path}: bytes outside the zip's entries (another file appended or hidden inside?); refused",
                        path=path))


def check_layout(path: Path, archive: zipfile.ZipFile) -> None:
    """Refuse a package that two zip readers could read differently.

    zipfile (and Excel) read the central directory at the end; a streaming reader walks the local
    headers from the start. They agree only when every part has one name (compared without case,
    as an Office package compares them), the entries follow each other from byte 0 with nothing
    between them, the directory comes right after the last one, and nothing follows the end record.
    """
    seen: set[str] = set()
    for info in archive.infolist():
        key = info.filename.replace("\\", "/").lower()
        if key in seen:
            raise UnsafeFile(_("{path}: the package holds {part} twice; refused", path=path, part=info.filename))
        seen.add(key)
    with open(path, "rb") as handle:
        position = 0
        slack: set[int] = set()
        for info in sorted(archive.infolist(), key=lambda entry: entry.header_offset):
            if info.header_offset != position and info.header_offset not in slack:
                raise _outside(path)
            position = info.header_offset
            handle.seek(position)
            header = handle.read(30)
            if len(header) < 30 or header[:4] != b"PK\x03\x04":
                raise _outside(path)
            flags, = struct.unpack_from("<H", header, 6)
            name_length, extra_length = struct.unpack_from("<HH", header, 26)
            position += 30 + name_length + extra_length + info.compress_size
            # A data descriptor after the data (flag bit 3): 12 or 20 bytes, with or without its signature.
            slack = {position + size for size in (12, 16, 20, 24)} if flags & 0x08 else set()
        if archive.start_dir != position and archive.start_dir not in slack:
            raise _outside(path)
        comment = archive.comment or b""
        size = handle.seek(0, 2)
        handle.seek(max(0, size - 22 - len(comment)))
        end = handle.read(22)
        if end[:4] != b"PK\x05\x06" or struct.unpack_from("<H", end, 20)[0] != len(comment):
            raise _outside(path)


def check_sheet_list(path: Path, archive: zipfile.ZipFile) -> None:
    """Refuse two tabs with one name (Excel forbids it, case-insensitively) or two tabs on one worksheet."""
    from defusedxml import ElementTree

    main = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
    relation = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
    try:
        workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
        targets = {}
        if "xl/_rels/workbook.xml.rels" in archive.namelist():
            for rel in ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels")):
                targets[rel.get("Id")] = (rel.get("Target") or "").lstrip("/").removeprefix("xl/")
    except ElementTree.ParseError as exc:
        raise UnsafeFile(_("{path}: damaged xlsx package ({error})", path=path, error=exc)) from None
    names: dict[str, str] = {}
    parts: dict[str, str] = {}
    for sheet in workbook.iter(f"{main}sheet"):
        name = sheet.get("name") or ""
        if name.casefold() in names:
            raise UnsafeFile(_("{path}: two sheets are named {name!r}; refused", path=path, name=name))
        names[name.casefold()] = name
        target = targets.get(sheet.get(relation))
        if target is None:
            continue
        if target.lower() in parts:
            raise UnsafeFile(_("{path}: sheets {first!r} and {second!r} are the same worksheet; refused", path=path,
                               first=parts[target.lower()], second=name))
        parts[target.lower()] = name


def defusedxml_active() -> bool:
    """True when openpyxl parses with defusedxml (entity attacks refused)."""
    from openpyxl.xml import DEFUSEDXML

    return bool(DEFUSEDXML)
