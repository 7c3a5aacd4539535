"""Which tables an export carries, in what order, and how their values are written as JSON.

Values in JSON: text, numbers, booleans and null as they are; dates as YYYY-MM-DD; times as
YYYY-MM-DDTHH:MM:SS.ffffff (naive, exactly as stored, microseconds kept); bytes as base64.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

# Parents before children (every foreign key points backwards); audit_log last, so that the trail
# lands after the records it speaks of. Tables a later schema adds go before audit_log.
ORDER = ("customer", "item", "survey_round", "round_item", "invitation", "reminder", "source_file", "response",
         "answer", "feedback", "capa", "capa_verification", "quarter_summary", "notice", "setting", "audit_log")
# Never exported: the schema stamp (in the header instead) and the store's own state, which holds the
# form-signing secret (its settings revision goes in the header).
LEFT_OUT_TABLES = {"alembic_version", "store_state"}
# Columns never exported: bearer credentials. An import writes fresh ones.
SECRET_COLUMNS = {("invitation", "token"), ("store_state", "secret")}
# Tables an import into a new workspace replaces: what `csat init` writes before anything else exists.
SEEDED_TABLES = ("item", "setting", "audit_log")


def secret_setting(key: str) -> bool:
    """A shared setting that names a secret (none should: passwords come from the environment)."""
    lowered = key.lower()
    return "password" in lowered.replace("password_env", "") or "secret" in lowered


def reflect(connection):
    """The store's tables as it holds them (MetaData reflected), so new columns come along."""
    from sqlalchemy import MetaData

    metadata = MetaData()
    metadata.reflect(connection)
    return metadata


def ordered(metadata) -> list:
    """The tables to export, parents first, audit_log last."""
    known = [metadata.tables[name] for name in ORDER if name in metadata.tables and name != "audit_log"]
    others = [table for table in metadata.sorted_tables
              if table.name not in ORDER and table.name not in LEFT_OUT_TABLES]
    audit = [metadata.tables["audit_log"]] if "audit_log" in metadata.tables else []
    return known + others + audit


def exported_columns(table) -> list:
    return [column for column in table.columns if (table.name, column.name) not in SECRET_COLUMNS]


def _kind(column) -> str:
    from sqlalchemy import Date, DateTime, LargeBinary

    kind = column.type
    if isinstance(kind, DateTime):
        return "datetime"
    if isinstance(kind, Date):
        return "date"
    if isinstance(kind, LargeBinary):
        return "bytes"
    return ""


def _datetime_text(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat(timespec="microseconds")
    return value


def _date_text(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def _bytes_text(value: Any) -> Any:
    return base64.b64encode(bytes(value)).decode("ascii") if value is not None else None


def encoders(columns) -> list[Callable[[Any], Any] | None]:
    """For each column, what turns its Python value into JSON (None: written as it is)."""
    return [{"datetime": _datetime_text, "date": _date_text, "bytes": _bytes_text}.get(_kind(column))
            for column in columns]


def _datetime_value(text: Any) -> Any:
    value = datetime.fromisoformat(text)
    if value.tzinfo is not None:
        raise ValueError(text)
    return value


def _bytes_value(text: Any) -> Any:
    return base64.b64decode(text.encode("ascii"), validate=True)


def decoders(columns) -> list[Callable[[Any], Any] | None]:
    """For each column, what turns its JSON value back into the Python value stored."""
    return [{"datetime": _datetime_value, "date": date.fromisoformat, "bytes": _bytes_value}.get(_kind(column))
            for column in columns]
