"""What Excel would not show of an xlsx sheet's cells, read from its XML next to calamine.

calamine gives the values of a sheet, not how Excel shows them: a value in a
hidden row or column, a value under a merged cell (Excel shows only the
first cell of a merge), and a formula with no computed value (calamine drops
it, so it reads as blank) would all be imported as if a person had seen them.
A number shown as a percentage is a mark too: a customer who types "90%" into
a score cell gets 0.9 in it, which calamine reads without the format, and 0.9
is a valid score on 0-100.
This module finds those marks by scanning the sheet's XML with regular
expressions (the sheet may be a million rows: no tree is built), so the
importer can refuse such a cell by its address. Standard library only: the
reading worker imports it.
"""

from __future__ import annotations

import re
import zipfile

_CHUNK = 1 << 20
_PREFIX = rb"(?:[A-Za-z_][\w.-]*:)?"
_SHEET = re.compile(rb"<" + _PREFIX + rb"sheet\b([^>]*)>")
_RELATION = re.compile(rb"<" + _PREFIX + rb"Relationship\b([^>]*)>")
_ATTRIBUTE = re.compile(rb"""([\w:]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_HIDDEN_ROW = re.compile(rb"<" + _PREFIX + rb"row\b[^>]*?\bhidden\s*=\s*[\"'](?:1|true)[\"'][^>]*>")
_COL = re.compile(rb"<" + _PREFIX + rb"col\b[^>]*>")
_MERGE = re.compile(rb"<" + _PREFIX + rb"mergeCell\b[^>]*?\bref\s*=\s*[\"']([A-Za-z]+[0-9]+:[A-Za-z]+[0-9]+)[\"']")
# A cell whose only content is a formula: <c r="B2"><f>...</f></c> or <f .../> (a shared formula), no <v>
# or an empty one (openpyxl writes <v />).
_UNCACHED = re.compile(rb"<(" + _PREFIX + rb")c\b([^>]*)>\s*<" + _PREFIX + rb"f\b[^>]*?(?:/>|>[^<]*</"
                       + _PREFIX + rb"f>)\s*(?:<" + _PREFIX + rb"v\s*/>|<" + _PREFIX + rb"v>\s*</" + _PREFIX
                       + rb"v>)?\s*</\1c>")


_NUMBER_FORMAT = re.compile(rb"<" + _PREFIX + rb"numFmt\b([^>]*)>")
_CELL_FORMATS = re.compile(rb"<" + _PREFIX + rb"cellXfs\b[^>]*>(.*?)</" + _PREFIX + rb"cellXfs>", re.DOTALL)
_FORMAT = re.compile(rb"<" + _PREFIX + rb"xf\b([^>]*?)/?>")
_PERCENT_BUILTIN = {"9", "10"}      # 0% and 0.00%
_QUOTED = re.compile(r'"[^"]*"|\\.')


def _shows_percent(code: str) -> bool:
    """A number format that multiplies by 100 and shows %: a % outside quoted text and escapes."""
    return "%" in _QUOTED.sub("", code)


def percent_styles(archive: zipfile.ZipFile) -> frozenset[bytes]:
    """The cell formats (the s="N" of a cell, as bytes) that show a number as a percentage."""
    from xml.sax.saxutils import unescape

    try:
        styles = archive.read("xl/styles.xml")
    except KeyError:
        return frozenset()
    if b"%" not in styles and b'numFmtId="9"' not in styles and b'numFmtId="10"' not in styles:
        return frozenset()
    percent = set(_PERCENT_BUILTIN)
    for match in _NUMBER_FORMAT.finditer(styles):
        attributes = _attributes(match.group(1))
        code = unescape(attributes.get("formatCode", ""), {"&quot;": '"', "&apos;": "'"})
        if _shows_percent(code):
            percent.add(attributes.get("numFmtId", ""))
    found = _CELL_FORMATS.search(styles)
    if not found:
        return frozenset()
    return frozenset(str(index).encode() for index, match in enumerate(_FORMAT.finditer(found.group(1)))
                     if _attributes(match.group(1)).get("numFmtId", "0") in percent)


def workbook_percent_styles(path: str) -> frozenset[bytes]:
    try:
        with zipfile.ZipFile(path) as archive:
            return percent_styles(archive)
    except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError, EOFError):
        return frozenset()


def _attributes(text: bytes) -> dict[str, str]:
    found = {}
    for name, double, single in _ATTRIBUTE.findall(text):
        key = name.decode("ascii", "replace").rsplit(":", 1)[-1]
        found[key] = (double if double or not single else single).decode("utf-8", "replace")
    return found


def sheet_parts(archive: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name -> the zip part of its worksheet XML."""
    try:
        workbook = archive.read("xl/workbook.xml")
        relations = archive.read("xl/_rels/workbook.xml.rels")
    except KeyError:
        return {}
    targets = {}
    for match in _RELATION.finditer(relations):
        attributes = _attributes(match.group(1))
        target = attributes.get("Target", "")
        targets[attributes.get("Id")] = target.lstrip("/") if target.startswith("/") else "xl/" + target
    parts = {}
    for match in _SHEET.finditer(workbook):
        attributes = _attributes(match.group(1))
        target = targets.get(attributes.get("id"))
        if target and "name" in attributes:
            parts[attributes["name"]] = target
    return parts


def _row_of(tag: bytes) -> int | None:
    number = _attributes(tag).get("r", "")
    return int(number) if number.isdigit() else None


def sheet_marks(archive: zipfile.ZipFile, part: str, percent: frozenset[bytes] = frozenset()) -> dict:
    """hidden_rows, hidden_columns (first, last), merged ('B2:C3'), uncached (formula cells, 'B2') and
    percent (cells in one of the `percent` formats, 'B2')."""
    try:
        stream = archive.open(part)
    except KeyError:
        return marks_of_chunks(())
    with stream:
        return marks_of_chunks(iter(lambda: stream.read(_CHUNK), b""), percent)


# What a chunk must hold for marks_of_chunks to look closer at it.
_NEEDLES = (b"hidden", b"mergeCell", b"<f", b":f")
_F_LOOKS = 1000    # 'f' bytes looked at one by one before formula_tag searches for its two-byte needles


def formula_tag(data: bytes) -> bool:
    """Whether `<f` or `:f` (a formula element, prefixed or not) is in the XML.

    A two-byte search starting with '<' crawls (every tag starts with one), but a one-byte
    search runs at memchr speed, and most sheets hold few 'f' bytes outside formulas, if any
    (shared strings keep the text elsewhere): the 'f's are looked at first, one by one.
    """
    start = 0
    for _ in range(_F_LOOKS):
        at = data.find(b"f", start)
        if at < 0:
            return False
        if at and data[at - 1] in b"<:":
            return True
        start = at + 1
    return data.find(b"<f", start - 1) >= 0 or data.find(b":f", start - 1) >= 0


def marks_of_bytes(data: bytes, percent: frozenset[bytes] = frozenset()) -> dict:
    """sheet_marks of a sheet part's XML already in memory (the worker inflated it to cut it: pieces.py).

    Most sheets hold none of the needles at all: one search each over the whole part
    says so without copying it out chunk by chunk.
    """
    if not percent and not (b"hidden" in data or b"mergeCell" in data or formula_tag(data)):
        return marks_of_chunks(())
    return marks_of_chunks((data[start:start + _CHUNK] for start in range(0, len(data), _CHUNK)), percent)


def _percent_cell(percent: frozenset[bytes]) -> re.Pattern:
    """A cell tag whose s attribute is one of these formats."""
    styles = b"|".join(sorted(percent))
    return re.compile(rb"<" + _PREFIX + rb"c\b([^>]*?\bs\s*=\s*[\"'](?:" + styles + rb")[\"'][^>]*)>")


def marks_of_chunks(chunks, percent: frozenset[bytes] = frozenset()) -> dict:
    """sheet_marks of a sheet part's XML given as consecutive chunks."""
    hidden_rows: set[int] = set()
    hidden_columns: set[tuple[int, int]] = set()
    merged: set[str] = set()
    uncached: set[str] = set()
    percent_cells: set[str] = set()
    percent_cell = _percent_cell(percent) if percent else None
    tail = b""
    for chunk in chunks:
        window = tail + chunk
        if b"hidden" in window:
            for match in _HIDDEN_ROW.finditer(window):
                row = _row_of(match.group(0))
                if row is not None:
                    hidden_rows.add(row)
            for match in _COL.finditer(window):
                attributes = _attributes(match.group(0))
                if attributes.get("hidden") in ("1", "true") and attributes.get("min", "").isdigit():
                    first = int(attributes["min"])
                    last = int(attributes["max"]) if attributes.get("max", "").isdigit() else first
                    hidden_columns.add((first, min(last, 16384)))
        if b"mergeCell" in window:
            merged.update(ref.decode("ascii").upper() for ref in _MERGE.findall(window))
        if b"<f" in window or b":f" in window:      # _NEEDLES: keep them in step
            for match in _UNCACHED.finditer(window):
                reference = _attributes(match.group(2)).get("r")
                if reference:
                    uncached.add(reference.upper())
        if percent_cell is not None:
            for match in percent_cell.finditer(window):
                reference = _attributes(match.group(1)).get("r")
                if reference:
                    percent_cells.add(reference.upper())
        tail = chunk[-4096:]
    return {"hidden_rows": sorted(hidden_rows), "hidden_columns": sorted(hidden_columns), "merged": sorted(merged),
            "uncached": sorted(uncached), "percent": sorted(percent_cells)}


def workbook_marks(path: str, names: list[str]) -> dict[str, dict]:
    """sheet_marks of the named sheets of an xlsx file ({} for a file that is not a readable zip)."""
    if not names:
        return {}
    try:
        with zipfile.ZipFile(path) as archive:
            parts = sheet_parts(archive)
            percent = percent_styles(archive)
            return {name: sheet_marks(archive, parts[name], percent) for name in names if name in parts}
    except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError, EOFError):
        return {}
