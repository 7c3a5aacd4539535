"""`csat import FILE.json`: an export (csat.exchange.export) back into a new, empty workspace.

All or nothing, in one transaction: the file is read as a stream (ijson) and its rows go to the
store in bulk as they are read, keeping every id as exported so that references hold; anything
wrong with the file (not an export, a newer format, a table or column this store does not have, a
value of the wrong type, a truncated file) rolls it all back and is reported in one line.

"Empty" means what `csat init` leaves: no customer, round, response, feedback, CAPA or any other
record, only the default items, the company settings and their audit entries. Those are replaced
by the export's (the trail of the new workspace's set-up is dropped, so the imported trail reads,
and its chain verifies, as it did in the exported store), and one audit entry is then written
through the normal writer saying which file was imported, its format and its counts.
Invitations get fresh tokens: tokens are never exported (csat.exchange).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from csat.errors import CsatError
from csat.exchange import FORMAT_VERSION
from csat.exchange import tables as shape
from csat.i18n import N_, _

SNIFF_BYTES = 4096


class ExportFileError(CsatError):
    """The file is not a csat export this csat can read; nothing was written."""


@dataclass
class Imported:
    path: Path
    format_version: int
    exported_at: str
    half: str | None
    counts: dict[str, int] = field(default_factory=dict)


def is_export(path: Path) -> bool:
    """Whether a file looks like a csat export: JSON whose first key is format_version."""
    try:
        with open(path, "rb") as stream:
            start = stream.read(SNIFF_BYTES)
    except OSError:
        return False
    return start.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{") and b'"format_version"' in start


class _Reader:
    """Pulls an export's header, then its tables one by one, from ijson's event stream."""

    def __init__(self, stream):
        import ijson

        self.events = ijson.parse(stream, use_float=True)

    def _next(self) -> tuple[str, str, Any]:
        try:
            return next(self.events)
        except StopIteration:
            raise ValueError("the file ends early") from None

    def header(self) -> dict[str, Any]:
        _prefix, event, value = self._next()
        if event != "start_map":
            raise ValueError("not an object")
        found: dict[str, Any] = {}
        while True:
            _prefix, event, value = self._next()
            if event == "end_map":
                raise ValueError("no tables")
            if event != "map_key":
                raise ValueError("unexpected")
            if value == "tables":
                return found
            _prefix, event, scalar = self._next()
            if event in ("start_map", "start_array"):
                raise ValueError(f"{value} is not a plain value")
            found[value] = scalar

    def tables(self) -> Iterator[tuple[str, list[str], Iterator[list], _Reader]]:
        _prefix, event, value = self._next()
        if event != "start_array":
            raise ValueError("tables is not a list")
        while True:
            _prefix, event, value = self._next()
            if event == "end_array":
                return
            if event != "start_map":
                raise ValueError("a table is not an object")
            name = self._expect_key("name", "string")
            columns = self._columns()
            self._expect_key_only("rows")
            self.count = 0
            yield name, columns, self._rows()

    def finish_table(self, name: str) -> int:
        """After a table's rows: its declared row count."""
        declared = self._expect_key("count", "number")
        _prefix, event, value = self._next()
        if event != "end_map":
            raise ValueError(f"table {name}: unexpected {value!r}")
        return declared

    def _expect_key_only(self, key: str) -> None:
        _prefix, event, value = self._next()
        if event != "map_key" or value != key:
            raise ValueError(f"expected {key}")

    def _expect_key(self, key: str, kind: str) -> Any:
        self._expect_key_only(key)
        _prefix, event, value = self._next()
        if event != kind:
            raise ValueError(f"{key} is not a {kind}")
        return value

    def _columns(self) -> list[str]:
        self._expect_key_only("columns")
        _prefix, event, value = self._next()
        if event != "start_array":
            raise ValueError("columns is not a list")
        names = []
        for _prefix, event, value in self.events:
            if event == "end_array":
                return names
            if event != "string":
                raise ValueError("a column name is not text")
            names.append(value)
        raise ValueError("the file ends early")

    def _rows(self) -> Iterator[list]:
        _prefix, event, value = self._next()
        if event != "start_array":
            raise ValueError("rows is not a list")
        row: list | None = None
        for _prefix, event, value in self.events:
            if row is not None:
                if event == "end_array":
                    self.count += 1
                    yield row
                    row = None
                elif event in ("start_map", "start_array"):
                    raise ValueError("a value is not plain")
                else:
                    row.append(value)
            elif event == "start_array":
                row = []
            elif event == "end_array":
                return
            else:
                raise ValueError("a row is not a list")
        raise ValueError("the file ends early")


def _refusal(path: Path, reason: str) -> ExportFileError:
    return ExportFileError(_("{path} is not a csat export this csat can import ({reason}); nothing was written",
                             path=path, reason=reason))


def import_export(workspace, path: Path) -> Imported:
    """Load an export file into the workspace's empty store, all or nothing."""
    from csat.store.engine import open_store

    store = open_store(workspace)
    try:
        with open(path, "rb") as stream:
            return _load(store, path, _Reader(stream))
    except OSError as exc:
        raise CsatError(_("cannot read {path}: {error}", path=path, error=exc.strerror or exc)) from None


def _load(store, path: Path, reader: _Reader) -> Imported:
    import ijson
    from sqlalchemy.exc import SQLAlchemyError

    try:
        head = reader.header()
    except (ValueError, ijson.JSONError, StopIteration, UnicodeDecodeError):
        raise _refusal(path, _("no format_version header")) from None
    version = head.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise _refusal(path, _("no format_version header"))
    if version > FORMAT_VERSION:
        raise ExportFileError(_("{path} has export format {version}, newer than this csat reads ({known}); upgrade csat"
                                " to import it; nothing was written", path=path, version=version, known=FORMAT_VERSION))
    result = Imported(path=path, format_version=version, exported_at=str(head.get("exported_at", "")),
                      half=head.get("half"))
    try:
        with store.session(bulk=True) as session:
            _write(session, path, head, reader, result)
    except ExportFileError:
        raise
    except (ValueError, TypeError, KeyError, ijson.JSONError, StopIteration, UnicodeDecodeError) as exc:
        raise _refusal(path, _("unreadable content: {error}", error=_short(exc))) from None
    except SQLAlchemyError as exc:
        raise _refusal(path, _("the store refused a row: {error}", error=_short(getattr(exc, "orig", None) or exc))) from None
    return result


def _short(exc: Any) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 160 else text[:159] + "…"


WRITER_LOCKS = (("responses", N_("an import of survey answers")), ("rounds", N_("a change to a survey round")),
                ("feedback", N_("a change to the feedback log")), ("capa", N_("a change to a CAPA")))


def _write(session, path: Path, head: dict, reader: _Reader, result: Imported) -> None:
    from sqlalchemy import delete, func, select, text

    from csat.store import audit
    from csat.store.bulk import insert_rows
    from csat.store.locking import hold_for_transaction

    for name, waiting_for in WRITER_LOCKS:
        hold_for_transaction(session, name, waiting_for)
    connection = session.connection()
    metadata = shape.reflect(connection)
    held = {table.name: connection.execute(select(func.count()).select_from(table)).scalar()
            for table in shape.ordered(metadata) if table.name not in shape.SEEDED_TABLES}
    held = {name: count for name, count in held.items() if count}
    if held:
        listed = ", ".join(f"{name} {count}" for name, count in held.items())
        raise CsatError(_("the store already holds records ({tables}); import an export only into a new workspace"
                          " (`csat init`); nothing was written", tables=listed))
    replaced = {}
    for name in reversed(shape.SEEDED_TABLES):
        replaced[name] = connection.execute(delete(metadata.tables[name])).rowcount
    seen: set[str] = set()
    for name, columns, rows in reader.tables():
        table = metadata.tables.get(name)
        if table is None or name in shape.LEFT_OUT_TABLES or name in seen:
            raise _refusal(path, _("table {table} is not one this store has", table=name))
        seen.add(name)
        missing = [column for column in columns if column not in table.c]
        if missing or len(set(columns)) != len(columns):
            raise _refusal(path, _("table {table} has columns this store does not: {columns}", table=name,
                                   columns=", ".join(missing) or "-"))
        targets = [table.c[column] for column in columns]
        names = list(columns)
        if name == "invitation" and "token" not in names:
            names.append("token")
        insert_rows(connection, name, names, _values(connection, name, targets, rows, len(names) > len(columns)))
        declared = reader.finish_table(name)
        if declared != reader.count:
            raise _refusal(path, _("table {table} says {declared} rows but holds {count}", table=name,
                                   declared=declared, count=reader.count))
        result.counts[name] = reader.count
    for _event in reader.events:   # the rest must still parse: a file cut or padded after its tables is refused
        pass
    if not seen:
        raise _refusal(path, _("it holds no tables"))
    if connection.dialect.name == "postgresql":
        for table in metadata.sorted_tables:
            if "id" in table.c and table.c.id.primary_key and table.name in result.counts:
                connection.execute(text(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                    f"COALESCE((SELECT MAX(id) FROM {table.name}), 1), "
                    f"(SELECT MAX(id) FROM {table.name}) IS NOT NULL)"))
    settings_revision = head.get("settings_revision")
    if isinstance(settings_revision, int):
        connection.execute(text("UPDATE store_state SET settings_revision = :revision"
                                " WHERE id = 1 AND settings_revision < :revision"), {"revision": settings_revision})
    audit.record(connection, "export", "import", record_key=path.name, changes={
        "file": path.name, "format_version": result.format_version, "exported_at": result.exported_at,
        "csat_version": head.get("csat_version"), "schema_revision": head.get("schema_revision"),
        "half": result.half, "counts": result.counts,
        "replaced_initial": {name: count for name, count in replaced.items() if count}})


def _values(connection, name: str, columns, rows, with_token: bool) -> Iterator[tuple]:
    """Each JSON row as the tuple the driver takes: decoded (times, dates, bytes) and bound as SQLAlchemy binds them."""
    dialect = connection.dialect
    width = len(columns)
    steps = []
    for index, (column, decode) in enumerate(zip(columns, shape.decoders(columns))):
        bind = column.type.dialect_impl(dialect).bind_processor(dialect)
        if decode is not None or bind is not None:
            steps.append((index, decode, bind))
    new_token = None
    if with_token:
        from csat.survey.send import new_token
    for row in rows:
        if len(row) != width:
            raise ValueError(f"a row of {name} has {len(row)} values for {width} columns")
        for index, decode, bind in steps:
            value = row[index]
            if value is not None:
                if decode is not None:
                    value = decode(value)
                if bind is not None:
                    value = bind(value)
                row[index] = value
        if new_token is not None:
            row.append(new_token())
        yield tuple(row)
