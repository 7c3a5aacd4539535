"""What Excel would not show of an xlsx sheet's cells, read from its XML next to calamine.

calamine gives the values of a sheet, not how Excel shows them: a value in a
hidden row or column, a value under a merged cell (Excel shows only the
first cell of a merge), and a formula with no computed value (calamine drops
it, so it reads as blank) would all be imported as if a person had seen them.
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


def sheet_marks(archive: zipfile.ZipFile, part: str) -> dict:
    """hidden_rows, hidden_columns (first, last), merged ('B2:C3') and uncached (formula cells, 'B2')."""
    try:
        stream = archive.open(part)
    except KeyError:
        return marks_of_chunks(())
    with stream:
        return marks_of_chunks(iter(lambda: stream.read(_CHUNK), b""))


# What a chunk must hold for marks_of_chunks to look closer at it.
_NEEDLES = (b"hidden", b"mergeCell", b"<f", b":f")


def marks_of_bytes(data: bytes) -> dict:
    """sheet_marks of a sheet part's XML already in memory (the worker inflated it to cut it: pieces.py).

    Most sheets hold none of the needles at all: one search each over the whole part
    says so without copying it out chunk by chunk.
    """
    if not any(needle in data for needle in _NEEDLES):
        return marks_of_chunks(())
    return marks_of_chunks(data[start:start + _CHUNK] for start in range(0, len(data), _CHUNK))


def marks_of_chunks(chunks) -> dict:
    """sheet_marks of a sheet part's XML given as consecutive chunks."""
    hidden_rows: set[int] = set()
    hidden_columns: set[tuple[int, int]] = set()
    merged: set[str] = set()
    uncached: set[str] = set()
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
        tail = chunk[-4096:]
    return {"hidden_rows": sorted(hidden_rows), "hidden_columns": sorted(hidden_columns), "merged": sorted(merged),
            "uncached": sorted(uncached)}


def workbook_marks(path: str, names: list[str]) -> dict[str, dict]:
    """sheet_marks of the named sheets of an xlsx file ({} for a file that is not a readable zip)."""
    if not names:
        return {}
    try:
        with zipfile.ZipFile(path) as archive:
            parts = sheet_parts(archive)
            return {name: sheet_marks(archive, parts[name]) for name in names if name in parts}
    except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError, EOFError):
        return {}
