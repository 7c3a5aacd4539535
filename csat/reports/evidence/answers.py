"""Every response and answer of a half with where it came from, streamed from the store.

Two sheets: one row per response with its source and provenance, and one row per
answer with its response's number and file (withdrawn responses included and
marked: they are records too), both ordered by customer, respondent and response.
Keeping what belongs to a response on the response's row keeps the answers sheet
to a few cells a row: a half with a million answers writes in minutes. The rows
are read through a streaming cursor and written one at a time, so a half of any
size stays in bounded memory.

Where a response came from is its source columns (`SOURCE_KEYS`,
filled by `source_columns`): the file's name, its sheet and row or the form's
token, and the content hash. When and by whom it was imported comes from the
audit trail (`Provenance`): the response's own entry (a form, a typed-in
answer, a replacement), or the entry of the sheet import whose id ranges hold it.
"""

from __future__ import annotations

import bisect
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePath
from collections.abc import Iterator
from typing import Any, Optional

# The source columns of an answer row, in order (keys of csat.reports.evidence.words).
# Rows fetched in batches through a server-side cursor on PostgreSQL: per statement, because
# Connection.execution_options() would change the session's connection for every later statement
# (the report's DDL then fails inside a cursor declaration).
STREAMED = {"stream_results": True, "yield_per": 5000}

SOURCE_KEYS = ("file", "file_sha256", "file_sheet", "file_row", "token", "hash")


@dataclass
class ResponseRow:
    response_id: int
    customer: str
    name: str
    respondent: str
    answered_on: Any
    comment: str
    source: str
    source_file: str
    content_hash: str
    created_at: datetime
    withdrawn_at: datetime | None
    withdraw_reason: str
    token: str
    source_sha256: str          # the archived file's (csat.store.sources); "" for answers typed in
    source_name: str
    source_sheet: str
    source_row: int | None


@dataclass
class AnswerRow:
    response_id: int
    customer: str
    item: str
    score: float | None
    not_applicable: bool
    raw: str
    comment: str
    source_file: str


def source_columns(row: ResponseRow) -> list[Any]:
    """The SOURCE_KEYS cells of a response: file name and SHA-256, sheet, row, form token, content hash.

    The file is the one archived in the store when the response was imported (its name as given);
    a response imported before files were archived names only its path. The form token is the
    invitation's (a returned form carries it in its signed identity).
    """
    return [file_name(row.source_name or row.source_file), row.source_sha256, row.source_sheet, row.source_row,
            row.token if row.source == "form" else "", row.content_hash]


def file_name(source_file: str) -> str:
    return PurePath(source_file).name if source_file else ""


def _ordered_responses(query):
    from csat.store.models import Customer, Response

    return query.order_by(Customer.code, Response.respondent, Response.id)


def responses(session, round_id: int) -> Iterator[ResponseRow]:
    """The round's responses (withdrawn ones too), by customer and respondent, streamed."""
    from sqlalchemy import and_, select

    from csat.store.models import Customer, Invitation, Response, SourceFile

    query = _ordered_responses(
        select(Response.id, Customer.code, Customer.name, Response.respondent, Response.answered_on, Response.comment,
               Response.source, Response.source_file, Response.content_hash, Response.created_at,
               Response.withdrawn_at, Response.withdraw_reason, Invitation.token,
               SourceFile.sha256, SourceFile.name, Response.source_sheet, Response.source_row)
        .join(Customer, Customer.id == Response.customer_id)
        .outerjoin(SourceFile, SourceFile.id == Response.source_file_id)
        .outerjoin(Invitation, and_(Invitation.round_id == Response.round_id,
                                    Invitation.customer_id == Response.customer_id))
        .where(Response.round_id == int(round_id)))
    for values in session.connection().execute(query, execution_options=STREAMED):
        values = list(values)
        for position in (5, 11, 12, 13, 14, 15):
            values[position] = values[position] or ""
        yield ResponseRow(*values)


def stream(session, round_id: int) -> Iterator[AnswerRow]:
    """The round's answers, one at a time, in the order of `responses` and then of the form."""
    from sqlalchemy import and_, select

    from csat.store.models import Answer, Customer, Item, Response, RoundItem

    query = _ordered_responses(
        select(Response.id, Customer.code, Item.code, Answer.score, Answer.not_applicable, Answer.raw, Answer.comment,
               Response.source_file)
        .select_from(Answer)
        .join(Response, Response.id == Answer.response_id)
        .join(Customer, Customer.id == Response.customer_id)
        .join(Item, Item.id == Answer.item_id)
        .outerjoin(RoundItem, and_(RoundItem.round_id == Response.round_id, RoundItem.item_id == Answer.item_id))
        .where(Response.round_id == int(round_id))).order_by(RoundItem.position, Item.code)
    for values in session.connection().execute(query, execution_options=STREAMED):
        yield AnswerRow(*values)


class Provenance:
    """When and by whom each response of a round was last written, from the audit trail."""

    def __init__(self, session, round_id: int, period: str):
        from sqlalchemy import or_, select

        from csat.store.models import AuditLog, Response

        own = select(Response.id).where(Response.round_id == int(round_id)).scalar_subquery()
        query = (select(AuditLog.id, AuditLog.record_id, AuditLog.at, AuditLog.actor, AuditLog.changes)
                 .where(AuditLog.table_name == "response",
                        AuditLog.action.in_(("insert", "replace", "correct")),
                        or_(AuditLog.record_id.in_(own), AuditLog.record_id.is_(None)))
                 .order_by(AuditLog.id))
        self._single: dict[int, tuple[int, datetime, str]] = {}
        runs: list[tuple[int, int, int, datetime, str]] = []
        for entry_id, record_id, at, actor, changes in session.connection().execute(query):
            if record_id is not None:
                self._single[record_id] = (entry_id, at, actor)
                continue
            try:
                new = json.loads(changes or "{}").get("new", {})
            except ValueError:
                continue
            if period not in new.get("periods", []):
                continue
            for first, last in new.get("ids", []):
                runs.append((int(first), int(last), entry_id, at, actor))
        runs.sort()
        self._runs = runs
        self._starts = [run[0] for run in runs]

    def of(self, response_id: int) -> tuple[Optional[datetime], str]:
        """(when, who) of the last audit entry that wrote the response; (None, '') when none is found."""
        best = self._single.get(response_id)
        position = bisect.bisect_right(self._starts, response_id)
        # Ranges of different imports never overlap for a live id, but a deleted id may be reused: take the latest.
        for first, last, entry_id, at, actor in reversed(self._runs[:position]):
            if first <= response_id <= last and (best is None or entry_id > best[0]):
                best = (entry_id, at, actor)
                break
        return (best[1], best[2]) if best else (None, "")
