"""The child process that runs python-calamine: `python -m csat.sheets.worker`.

calamine aborts the whole process (a signal, not an exception) when a sheet's
cells are far apart, and a hostile file can make it take gigabytes. So it runs
here, under memory and CPU limits, never in the csat process itself: a crash
costs one clear error for one file, never the command. The worker reads one
JSON request from stdin and writes, per workbook and in order, an 8-byte
length and a pickle of what it read, flushing after each, so the parent knows
exactly which file a crash happened in; after the last, a byte on the request's
`done_fd` tells the parent it need not wait for this process to end. A big sheet is parsed as pieces by
forked children, one per core (see pieces.py). It imports only the standard
library, python-calamine, csat.i18n (its messages) and small csat.sheets modules (columns, pieces,
formats with its guard), so it starts in a few milliseconds.
"""

from __future__ import annotations

import gc
import json
import os
import pickle
import struct
import sys

from csat.i18n import _, set_language
from csat.sheets import pieces
from csat.sheets.columns import columns_of
from csat.sheets.formats import content_kind, named_as

HEADER = struct.Struct("<Q")


def _set_limits(memory_bytes: int, seconds: int) -> None:
    try:
        import resource
    except ImportError:  # not on POSIX: the child still shields the parent from a crash
        return
    for which, wanted in ((resource.RLIMIT_AS, memory_bytes), (resource.RLIMIT_CPU, seconds)):
        if wanted <= 0:
            continue
        _soft, hard = resource.getrlimit(which)
        value = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        try:
            resource.setrlimit(which, (value, hard))
        except (ValueError, OSError):
            pass


def _visibility(meta) -> str:
    """'visible', 'hidden' or 'veryhidden', whatever the enum's spelling in this calamine."""
    return str(meta.visible).rsplit(".", 1)[-1].lower()


def read_workbook(path: str, also: list[str], visible_only: bool) -> dict:
    """The worksheets wanted from one workbook: visible ones (or all) plus those named in `also`.

    A big sheet is parsed as pieces in parallel (pieces.py), with the same result; the
    record's "split" says how (sheet, pieces) or why not, when some sheet was big.
    """
    from python_calamine import CalamineWorkbook

    kind = content_kind(path)
    # Only an xlsx sheet is cut into pieces (an .ods has no xl/worksheets, an .xls is no zip).
    split = pieces.start(path, also, visible_only) if kind == "xlsx" else None   # forks before calamine parses
    try:
        if named_as(path, kind):
            workbook = CalamineWorkbook.from_path(path)
        else:       # calamine picks its reader by the name: an .xls saved as "x.xlsx" is read by content
            with open(path, "rb") as handle:
                workbook = CalamineWorkbook.from_filelike(handle)
        try:
            sheets, names = [], []
            for meta in workbook.sheets_metadata:
                visibility = _visibility(meta)
                names.append((meta.name, visibility))
                if "work" not in str(meta.typ).lower():
                    continue
                if meta.name not in also and visible_only and visibility != "visible":
                    continue
                record = split.collect() if split is not None and split.children and meta.name == split.name else None
                if record is None:
                    record = _plain(workbook, meta.name)
                sheets.append({"name": meta.name, "visibility": visibility, **record})
        finally:
            workbook.close()
    finally:
        if split is not None:
            split.abandon()
            split.reap()
    if kind == "xlsx":   # what Excel would not show of the cells (marks.py)
        from csat.sheets.marks import sheet_parts, workbook_marks

        scanned = {}
        if split is not None and split.marks is not None:   # the split sheet's, scanned while its pieces parsed
            import zipfile

            with zipfile.ZipFile(path) as archive:
                if sheet_parts(archive).get(split.name) == split.part:
                    scanned[split.name] = split.marks
        marks = workbook_marks(path, [sheet["name"] for sheet in sheets if sheet["name"] not in scanned])
        marks.update(scanned)
        for sheet in sheets:
            sheet["marks"] = marks.get(sheet["name"])
    result = {"ok": True, "sheets": sheets, "names": names}
    if split is not None:
        used = next((sheet["pieces"] for sheet in sheets if sheet["name"] == split.name), 1)
        result["split"] = {"sheet": split.name, "pieces": used, "why": split.why, "checked": split.checked}
    return result


def _plain(workbook, name: str) -> dict:
    sheet = workbook.get_sheet_by_name(name)
    start = sheet.start or (0, 0)
    height, columns = columns_of(sheet.to_python(skip_empty_area=True))
    return {"first_row": start[0] + 1, "first_column": start[1] + 1, "height": height, "columns": columns,
            "pieces": 1}


def main() -> None:
    # The cells are a million small objects without cycles: the cyclic collector would scan
    # them again and again as they are made, which costs more than making them.
    gc.disable()
    request = json.loads(sys.stdin.buffer.read().decode("utf-8"))
    set_language(request.get("lang"))
    _set_limits(int(request.get("memory_bytes", 0)), int(request.get("seconds", 0)))
    output = sys.stdout.buffer
    for entry in request["files"]:
        try:
            record = read_workbook(entry["path"], list(entry.get("also", [])), bool(entry.get("visible_only", True)))
        except MemoryError:
            record = {"ok": False, "error": _("out of memory while reading (cells too far apart or too many)")}
        except Exception as exc:  # noqa: BLE001 - calamine's own error classes; reported per file
            message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            record = {"ok": False, "error": message}
        data = pickle.dumps(record, protocol=pickle.HIGHEST_PROTOCOL)
        output.write(HEADER.pack(len(data)))
        output.write(data)
        output.flush()
    done = request.get("done_fd")
    if done is not None:    # every record is written: the reader need not wait for this process to end
        os.write(done, b".")


if __name__ == "__main__":
    main()
    pieces.reap_all()       # after the parent was told the records are written: it does not wait for this
    # The parent takes the output once this process says it is done (or has ended): end it without
    # freeing the sheets read object by object first (a million cells).
    sys.stderr.flush()
    os._exit(0)
