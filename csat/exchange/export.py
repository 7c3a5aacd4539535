"""`csat export`: every record of the store, streamed to JSON or xlsx.

The rows are read in one read transaction (on PostgreSQL at REPEATABLE READ), so the file is one
consistent moment of the store even while others write, and are written as they are read: the
store is never held in memory. The file is written beside its target and renamed into place, so
an export that fails leaves no half-written file.

`--half P` keeps the round of P and what hangs on it (its frozen template, invitations, reminders,
responses with their answers), the feedback received in P, the CAPAs opened from that round or
that feedback or opened in P (with their verifications), the quarter summaries of P's quarters and
the source files those records came from. Customers, items, settings and notices are exported whole
(they are small, and the records refer to them), and so is the audit trail, so that its chain still
verifies on the imported store.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from csat.errors import CsatError
from csat.exchange import FORMAT_VERSION
from csat.exchange import tables as shape
from csat.i18n import _

ROWS_PER_FETCH = 5_000
XLSX_MAX_ROWS = 1_048_576 - 1   # a worksheet's rows, less the header


@dataclass
class Exported:
    path: Path
    format: str
    half: str | None
    counts: dict[str, int] = field(default_factory=dict)


@contextmanager
def snapshot(store) -> Iterator[Any]:
    """A connection whose reads all see one moment of the store."""
    options = {"csat_read_only": True}
    if not store.is_sqlite:
        options.update(isolation_level="REPEATABLE READ", postgresql_readonly=True)
    with store.engine.connect().execution_options(**options) as connection, connection.begin():
        yield connection


def _selection(metadata, half: str | None) -> dict[str, Any]:
    """For --half, a WHERE clause per table (tables not named are exported whole)."""
    if half is None:
        return {}
    from sqlalchemy import and_, or_, select

    from csat.periods import Half, Quarter

    period = Half.parse(half)
    start = datetime.combine(period.start, datetime.min.time())
    end = datetime.combine(period.end + timedelta(days=1), datetime.min.time())
    quarters = [str(Quarter.containing(period.start)), str(Quarter.containing(period.end))]
    t = metadata.tables
    rounds = select(t["survey_round"].c.id).where(t["survey_round"].c.period == str(period))
    invitations = select(t["invitation"].c.id).where(t["invitation"].c.round_id.in_(rounds))
    responses = select(t["response"].c.id).where(t["response"].c.round_id.in_(rounds))
    feedback = select(t["feedback"].c.id).where(and_(t["feedback"].c.received_at >= start,
                                                     t["feedback"].c.received_at < end))
    capa = t["capa"].c
    capas = select(capa.id).where(or_(capa.round_id.in_(rounds), capa.feedback_id.in_(feedback),
                                      and_(capa.created_at >= start, capa.created_at < end)))
    source = t["source_file"].c.id
    from_sources = or_(source.in_(select(t["response"].c.source_file_id).where(t["response"].c.round_id.in_(rounds))),
                       source.in_(select(t["feedback"].c.source_file_id).where(t["feedback"].c.id.in_(feedback))),
                       source.in_(select(t["customer"].c.source_file_id)))
    return {
        "survey_round": t["survey_round"].c.period == str(period),
        "round_item": t["round_item"].c.round_id.in_(rounds),
        "invitation": t["invitation"].c.round_id.in_(rounds),
        "reminder": t["reminder"].c.invitation_id.in_(invitations),
        "response": t["response"].c.round_id.in_(rounds),
        "answer": t["answer"].c.response_id.in_(responses),
        "feedback": t["feedback"].c.id.in_(feedback),
        "capa": capa.id.in_(capas),
        "capa_verification": t["capa_verification"].c.capa_id.in_(capas),
        "quarter_summary": t["quarter_summary"].c.quarter.in_(quarters),
        "source_file": from_sources,
    }


def _rows(connection, table, columns, where) -> Iterator[list]:
    """The table's rows as JSON-ready lists, streamed, in primary key order."""
    from sqlalchemy import select

    query = select(*columns)
    if where is not None:
        query = query.where(where)
    if table.name == "setting":
        query = query.where(~_secret_keys(table))
    query = query.order_by(*(table.primary_key.columns or columns[:1]))
    encode = shape.encoders(columns)
    converted = [(index, function) for index, function in enumerate(encode) if function is not None]
    result = connection.execution_options(stream_results=True, yield_per=ROWS_PER_FETCH).execute(query)
    for row in result:
        values = list(row)
        for index, function in converted:
            if values[index] is not None:
                values[index] = function(values[index])
        yield values


def _secret_keys(table):
    from sqlalchemy import false, or_

    key = table.c.key
    return or_(false(), key.ilike("%secret%"),
               (key.ilike("%password%") & ~key.ilike("%password_env")))


def header(connection, half: str | None) -> dict[str, Any]:
    from sqlalchemy import text

    from csat import __version__

    revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    settings_revision = connection.execute(text("SELECT settings_revision FROM store_state WHERE id = 1")).scalar()
    return {"format_version": FORMAT_VERSION, "csat_version": __version__, "schema_revision": revision,
            "exported_at": datetime.now().isoformat(timespec="seconds"), "half": half,
            "settings_revision": settings_revision or 0,
            "blobs_included": True, "secrets_included": False}


def export(workspace, target: Path, half: str | None = None) -> Exported:
    """Write every record (or one half's) to target, a .json or .xlsx file."""
    from csat.store.engine import open_store

    suffix = target.suffix.lower()
    if suffix not in (".json", ".xlsx"):
        raise CsatError(_("{path}: export writes .json or .xlsx files", path=target))
    store = open_store(workspace)
    target = target.expanduser().resolve()
    if target.is_dir():
        raise CsatError(_("{path} is a folder; give a file name", path=target))
    if not target.parent.is_dir():
        raise CsatError(_("the folder {path} does not exist", path=target.parent))
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    result = Exported(path=target, format=suffix[1:], half=half)
    try:
        with snapshot(store) as connection:
            metadata = shape.reflect(connection)
            selection = _selection(metadata, half)
            if half is not None:
                _refuse_empty_half(connection, metadata, half, selection)
            head = header(connection, half)
            parts = [(table, shape.exported_columns(table), selection.get(table.name))
                     for table in shape.ordered(metadata)]
            if suffix == ".json":
                _write_json(connection, partial, head, parts, result.counts)
            else:
                _write_xlsx(connection, partial, head, parts, result.counts)
        os.replace(partial, target)
    except OSError as exc:
        raise CsatError(_("cannot write {path}: {error}", path=target, error=exc.strerror or exc)) from None
    finally:
        partial.unlink(missing_ok=True)
    return result


def _refuse_empty_half(connection, metadata, half: str, selection) -> None:
    from sqlalchemy import func, select

    rounds = connection.execute(select(func.count()).select_from(metadata.tables["survey_round"])
                                .where(selection["survey_round"])).scalar()
    feedback = connection.execute(select(func.count()).select_from(metadata.tables["feedback"])
                                  .where(selection["feedback"])).scalar()
    if not rounds and not feedback:
        raise CsatError(_("nothing to export for {half}: the store has no round and no feedback in that half", half=half))


def _write_json(connection, path: Path, head: dict, parts, counts: dict[str, int]) -> None:
    dumps = json.JSONEncoder(ensure_ascii=False, allow_nan=False).encode
    with open(path, "w", encoding="utf-8", newline="\n") as out:
        write = out.write
        write("{\n")
        for key, value in head.items():
            write(f"{dumps(key)}: {dumps(value)},\n")
        write('"tables": [')
        for number, (table, columns, where) in enumerate(parts):
            write(",\n" if number else "\n")
            write(f'{{"name": {dumps(table.name)}, "columns": {dumps([column.name for column in columns])}, "rows": [')
            count = 0
            for row in _rows(connection, table, columns, where):
                write(",\n" if count else "\n")
                write(dumps(row))
                count += 1
            write(f'\n], "count": {count}}}')
            counts[table.name] = count
        write("\n]\n}\n")


def _write_xlsx(connection, path: Path, head: dict, parts, counts: dict[str, int]) -> None:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from csat.sheets.write import is_dangerous, set_text_cell, xlsx_text

    book = Workbook(write_only=True)

    def cells(sheet, values):
        """Plain values as they are (fast); text a spreadsheet would run as a formula as a text cell.

        Control characters no xlsx can hold are shown as their escapes, as in every workbook csat writes
        (the JSON export keeps them).
        """
        row = []
        for value in values:
            if isinstance(value, str):
                value = xlsx_text(value)
                if is_dangerous(value):
                    cell = WriteOnlyCell(sheet)
                    set_text_cell(cell, value)
                    value = cell
            row.append(value)
        return row

    about = book.create_sheet("export")
    for key, value in head.items():
        if key == "blobs_included":
            value = False   # a cell holds at most 32,767 characters: the archived files stay in the JSON export
        about.append(cells(about, [key, value]))
    for table, columns, where in parts:
        kept = [index for index, column in enumerate(columns) if shape._kind(column) != "bytes"]
        names = [columns[index].name for index in kept]
        sheet, count, in_sheet, number = book.create_sheet(table.name[:31]), 0, 0, 1
        sheet.append(cells(sheet, names))
        for row in _rows(connection, table, columns, where):
            if in_sheet == XLSX_MAX_ROWS:
                number += 1
                sheet, in_sheet = book.create_sheet(f"{table.name[:27]} ({number})"), 0
                sheet.append(cells(sheet, names))
            sheet.append(cells(sheet, [row[index] for index in kept]))
            count += 1
            in_sheet += 1
        counts[table.name] = count
    book.save(path)
