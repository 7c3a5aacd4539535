"""Storing a validated plan: one transaction, bulk statements, an audit entry per source.

Responses go in with multi-row INSERT ... VALUES statements run through
executemany (csat.store.bulk), answers a block at a time (answer_rows.py), some of
them already while the import was being checked (early.py): a million answers
as a million ORM objects (or a million one-row statements) would cost many
times the time it takes to read the workbook. Response ids are reserved up
front (under SQLite's write lock the next ids are max(id)+1; PostgreSQL hands
them out from the sequence), so answers can refer to them without reading
anything back. The caller's session began with BEGIN IMMEDIATE, so this runs
while holding the write lock it validated under: all of it commits, or none.
On PostgreSQL a large load checks the foreign keys of the responses and
answers once, at the end, instead of row by row (csat.store.bulk.
foreign_keys_checked_once): the row-by-row checks of a 100,000-row sheet cost
several times the rest of its import.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from operator import attrgetter
from pathlib import Path
from typing import Any, Iterable, Optional

import numpy as np

from csat.i18n import N_
from csat.importer.answer_rows import delete_answers, insert_block
from csat.importer.answers import AnswerBlock
from csat.importer.context import Candidate, Context, Plan
from csat.store.bulk import foreign_keys_checked_once, insert_rows, placeholder


@dataclass
class WriteResult:
    answers_stored: int = 0
    rounds_opened: list[str] = field(default_factory=list)


def _binder(connection, sa_type) -> Any:
    """How the dialect stores a value of this type (SQLite: text in SQLAlchemy's own format)."""
    processor = sa_type.dialect_impl(connection.dialect).bind_processor(connection.dialect)
    return processor or (lambda value: value)


def first_free_response_id(connection) -> int:
    """SQLite: the next response id, max(id) + 1 (safe while the transaction holds the write lock)."""
    return connection.exec_driver_sql("SELECT coalesce(max(id), 0) + 1 FROM response").scalar()


def _reserve_ids(connection, count: int, after: Optional[int] = None) -> list[int]:
    """Ids for `count` new responses, safe because the transaction holds the write lock (SQLite).

    `after`: the first id not reserved already by answers stored early. On PostgreSQL the
    sequence moves past the whole range in one statement (a nextval per response costs a
    second for a large sheet); every csat writer of responses holds the store's response
    lock (lock_responses), so no other nextval comes between, and an id some other tool took
    meanwhile would fail the COPY on the primary key, not be shared.
    """
    if count == 0:
        return []
    if connection.dialect.name == "sqlite":
        start = max(first_free_response_id(connection), after or 0)
        return list(range(start, start + count))
    last = connection.exec_driver_sql(
        "SELECT setval(pg_get_serial_sequence('response', 'id'),"
        " nextval(pg_get_serial_sequence('response', 'id')) + %s - 1)", (count,)).scalar()
    return list(range(last - count + 1, last + 1))


def record_key(context: Context, candidate: Candidate) -> str:
    key = f"{candidate.period}/{context.code_of[candidate.customer_id]}"
    return f"{key}/{candidate.respondent}" if candidate.respondent else key


def _fields(context: Context, candidate: Candidate, sources: Optional[dict[str, Any]] = None) -> dict[str, Any]:
    fields = {
        "period": candidate.period, "customer": context.code_of[candidate.customer_id],
        "respondent": candidate.respondent, "respondent_title": candidate.title,
        "answered_on": candidate.answered_on.isoformat() if candidate.answered_on else None,
        "comment": candidate.comment, "source": candidate.source, "source_file": candidate.source_file,
    }
    archived = (sources or {}).get(candidate.source_file)
    if archived is not None:
        fields.update(source_sha256=archived.sha256, source_sheet=candidate.sheet, source_row=candidate.row_number)
    return fields


def _answers_record(context: Context, answers: Iterable[tuple]) -> dict[str, list]:
    return {context.item_code.get(item_id, str(item_id)): [score, bool(not_applicable), raw, note]
            for item_id, score, not_applicable, raw, note in answers}


def lock_responses(session) -> None:
    """Take the store's response and round locks for this transaction, before anything is read to plan with.

    Two imports (or an import and `response add`) at once on PostgreSQL would otherwise both
    plan against a store without the other's responses and both insert them. The second waits,
    then plans against what the first committed: identical rows are unchanged, differing ones a
    problem. Rounds are locked too, so a round the plan will open is still missing when it is opened.
    """
    from csat.store.locking import hold_for_transaction
    from csat.survey.rounds import lock_rounds

    hold_for_transaction(session, "responses", N_("another import or response entry on this store"))
    lock_rounds(session)


def opens_closed(period: str, today: Optional[date] = None) -> bool:
    """Whether a round an import opens is stored closed: its half year has ended, so nothing will be sent for it."""
    from csat.periods import Half

    return Half.parse(period).end < (today or date.today())


def open_rounds(session, context: Context, plan: Plan, due_days: int, close_ended: bool = True) -> list[str]:
    """Open the rounds that new answers need (freezing the current template), in period order.

    A round for a half year that has already ended is opened closed (see `opens_closed`), unless
    `close_ended` is False: answers typed in one at a time (`response add`) would otherwise
    find the round closed from the second customer on.
    """
    from csat.periods import Half
    from csat.survey.rounds import open_round

    wanted = sorted(period for period in {candidate.period for candidate in plan.new}
                    if context.round_for(period).opens)
    for period in wanted:
        round_ = open_round(session, Half.parse(period), due_days=due_days, closed=close_ended and opens_closed(period))
        context.rounds[period].round_id = round_.id
        context.rounds[period].status = round_.status
    return wanted


def _grouped(keys: list, items: Iterable) -> dict[Any, list]:
    """The items by key, in order; a sheet's rows, which all share one key, as one group at once."""
    items = list(items)
    if keys and keys.count(keys[0]) == len(keys):
        return {keys[0]: items}
    groups: dict[Any, list] = {}
    for key, item in zip(keys, items):
        groups.setdefault(key, []).append(item)
    return groups


def _assign_ids(connection, candidates: list[Candidate], early) -> tuple[list[int], list[bool]]:
    """Response ids for new candidates (the one reserved early for their answers, else a fresh one),
    and whether each one's answers were stored early (see early.py)."""
    reserved_at = attrgetter("block.response_ids", "block_row")
    ids = [None if reserved is None else reserved[row] for reserved, row in map(reserved_at, candidates)]
    stored = [response_id is not None for response_id in ids]
    fresh = ids.count(None)
    if fresh:
        reserved = iter(_reserve_ids(connection, fresh, after=early.next_id if early is not None else None))
        ids = [next(reserved) if response_id is None else response_id for response_id in ids]
    return ids, stored


@dataclass
class PreparedWrite:
    """What write_plan works out from the plan alone, in Python, without a statement on the store.

    The importer makes it while the early thread (early.py) is still storing answers on the
    connection, so that this tenth of a second of a 100,000-row sheet is not spent after the
    thread is done, when every statement left waits for it.
    """

    ids: list[int]                         # the new responses' ids, all reserved early for their answers
    rows: dict[tuple, list[tuple]]         # (period, source, source_file, sheet) -> rows (_insert_responses)
    unused: list[int]                      # ids whose answers were stored early but that are not new responses
    audit: list[tuple]                     # _new_groups: the audit entries of the new responses, but their archive


def prepare_write(connection, context: Context, plan: Plan, early) -> Optional[PreparedWrite]:
    """PreparedWrite for write_plan, or None when a new response has no id yet (one is reserved under the lock).

    Touches the connection's dialect only, never its database: another thread may be running a statement.
    """
    from sqlalchemy import Date

    if early is None or not plan.new:
        return None
    reserved_at = attrgetter("block.response_ids", "block_row")
    ids = []
    for reserved, row in map(reserved_at, plan.new):
        if reserved is None:
            return None
        ids.append(reserved[row])
    return PreparedWrite(ids=ids, rows=_response_rows(ids, plan.new, _binder(connection, Date())),
                         unused=early.unused(set(ids)), audit=_new_groups(context, ids, plan.new))


def write_plan(session, context: Context, plan: Plan, due_days: int = 30, early=None,
               close_ended: bool = True, sources: Optional[dict[str, Any]] = None,
               prepared: Optional[PreparedWrite] = None) -> WriteResult:
    """Store new and replaced responses with their answers, mark invitations, audit the changes.

    `early` (see early.py) has stored some blocks' answers already: new responses take
    the ids those answers refer to, and answers stored for rows that are not new go.
    `sources`: the archived file (csat.store.sources.Archived) of each candidate's source_file;
    every response written refers to it, with the sheet and row it came from. `prepared`:
    prepare_write's work for this plan, made beforehand.
    """
    from sqlalchemy import Date, DateTime

    from csat.store import audit
    from csat.store.models import now

    result = WriteResult(rounds_opened=open_rounds(session, context, plan, due_days, close_ended))
    connection = session.connection()
    moment = now()
    stamp = _binder(connection, DateTime())(moment)
    as_date = _binder(connection, Date())
    if early is not None:
        early.join()
    if prepared is not None:
        ids, stored = prepared.ids, [True] * len(prepared.ids)
    else:
        ids, stored = _assign_ids(connection, plan.new, early)
    rounds = {period: info.round_id for period, info in context.rounds.items()}
    sources = sources or {}
    file_ids = {source_file: archived.id for source_file, archived in sources.items()}

    with foreign_keys_checked_once(connection, "response", len(ids)):
        rows = prepared.rows if prepared is not None else _response_rows(ids, plan.new, as_date)
        _insert_responses(connection, rows, rounds, stamp, file_ids)

    replaced_ids = [existing.response_id for _, existing in plan.replaced]
    old = _snapshot(connection, context, replaced_ids)
    _remove(connection, context, plan.removed)
    for candidate, existing in plan.replaced:
        connection.exec_driver_sql(
            "UPDATE response SET respondent = {0}, respondent_title = {0}, answered_on = {0}, comment = {0}, "
            "source = {0}, source_file = {0}, content_hash = {0}, updated_at = {0}, withdrawn_at = NULL, "
            "withdraw_reason = '', source_file_id = {0}, source_sheet = {0}, source_row = {0} "
            "WHERE id = {0}".format(placeholder(connection)),
            (candidate.respondent, candidate.title, as_date(candidate.answered_on) if candidate.answered_on else None,
             candidate.comment, candidate.source, candidate.source_file, candidate.content_hash, stamp,
             file_ids.get(candidate.source_file), candidate.sheet, candidate.row_number, existing.response_id))
    delete_answers(connection, replaced_ids)

    if early is not None:
        early.drop_unused(connection, prepared.unused if prepared is not None else early.unused(set(ids)))
    to_store = [] if prepared is not None else [
        pair for pair, early_stored in zip(zip(ids, plan.new), stored) if not early_stored]
    to_store += [(existing.response_id, candidate) for candidate, existing in plan.replaced]
    with foreign_keys_checked_once(connection, "answer", sum(candidate.block.width for _, candidate in to_store)):
        _insert_answers(connection, to_store)
    result.answers_stored = plan.answers          # every item of every new or replaced response, early or now
    _mark_invitations(connection, context, [*plan.new, *(candidate for candidate, _ in plan.replaced)], stamp)
    _audit_new(connection, context, prepared.audit if prepared is not None else _new_groups(context, ids, plan.new),
               sources)
    for candidate, existing in plan.replaced:
        before = old.get(existing.response_id, {})
        action = "correct" if existing.withdrawn else "replace"
        audit.record(connection, "response", action, existing.response_id, record_key(context, candidate), {
            "old": before,
            "new": _fields(context, candidate, sources) | {"answers": _answers_record(context, candidate.answers)},
        })
    return result


def _remove(connection, context: Context, removed: list[tuple[Candidate, Any]]) -> None:
    """Delete the extra responses of replaced forms' invitations, their old values kept in the audit trail.

    Removed before the replacement is written, so the form may take the respondent name of one of them.
    """
    from csat.store import audit

    if not removed:
        return
    ids = [existing.response_id for _, existing in removed]
    old = _snapshot(connection, context, ids)
    delete_answers(connection, ids)
    mark = placeholder(connection)
    connection.exec_driver_sql(f"DELETE FROM response WHERE id = {mark}", [(response_id,) for response_id in ids])
    entries = []
    for candidate, existing in removed:
        key = f"{candidate.period}/{context.code_of[candidate.customer_id]}"
        entries.append((existing.response_id, f"{key}/{existing.respondent}" if existing.respondent else key, {
            "old": old.get(existing.response_id, {}),
            "reason": f"another response of the invitation the form {Path(candidate.source_file).name} answers"}))
    audit.record_many(connection, "response", "delete", entries)


def _response_rows(ids: list[int], candidates: list[Candidate], as_date) -> dict[tuple, list[tuple]]:
    """The rows of new responses by what a whole sheet shares (period, source, source file, sheet)."""
    fields = attrgetter("customer_id", "respondent", "title", "answered_on", "comment", "content_hash", "row_number")
    values = [(response_id, customer_id, respondent, title, as_date(answered_on) if answered_on else None, comment,
               content_hash, row_number)
              for response_id, (customer_id, respondent, title, answered_on, comment, content_hash, row_number)
              in zip(ids, map(fields, candidates))]
    return _grouped(list(map(attrgetter("period", "source", "source_file", "sheet"), candidates)), values)


def _insert_responses(connection, grouped: dict[tuple, list[tuple]], rounds: dict[str, int], stamp: Any,
                      file_ids: dict[str, int]) -> None:
    """New responses; what is the same for a whole sheet (round, source file, time) is bound once per statement."""
    for (period, source, source_file, sheet), rows in grouped.items():
        insert_rows(connection, "response", (
            "id", "customer_id", "respondent", "respondent_title", "answered_on", "comment", "content_hash",
            "source_row"), rows,
            same={"round_id": rounds[period], "source": source, "source_file": source_file, "created_at": stamp,
                  "updated_at": stamp, "withdraw_reason": "", "source_file_id": file_ids.get(source_file),
                  "source_sheet": sheet})


def _insert_answers(connection, pairs: list[tuple[int, Candidate]]) -> int:
    """All answers of the given (response id, candidate) pairs, a block at a time; returns how many."""
    blocks: dict[int, tuple[AnswerBlock, list[int], list[int]]] = {}
    for response_id, candidate in pairs:
        entry = blocks.get(id(candidate.block))
        if entry is None:
            entry = blocks[id(candidate.block)] = (candidate.block, [], [])
        entry[1].append(candidate.block_row)
        entry[2].append(response_id)
    return sum(insert_block(connection, block, rows, response_ids) for block, rows, response_ids in blocks.values())


def _new_groups(context: Context, ids_of: list[int], candidates: list[Candidate]) -> list[tuple]:
    """The new responses by source (a file, or a manual entry), each as _audit_new records it: one response
    (its id and candidate), or a sheet's many (its file and what the audit entry says of them)."""
    keys = list(map(attrgetter("source", "source_file"), candidates))
    groups: list[tuple] = []
    for (source, source_file), members in _grouped(keys, range(len(candidates))).items():
        if len(members) == 1:
            groups.append((ids_of[members[0]], candidates[members[0]]))
            continue
        whole = len(members) == len(candidates)
        ids = ids_of if whole else [ids_of[position] for position in members]
        added = candidates if whole else [candidates[position] for position in members]
        groups.append((None, {
            "source": source, "source_file": source_file, "source_sha256": None,
            "sheets": sorted(set(map(attrgetter("sheet"), added))),
            "periods": sorted(set(map(attrgetter("period"), added))),
            "responses": len(members), "answers": sum(map(attrgetter("block.width"), added)),
            "ids": id_ranges(ids),
        }))
    return groups


def _audit_new(connection, context: Context, groups: list[tuple], sources: Optional[dict[str, Any]] = None) -> None:
    """One audit entry per source (a file, or a manual entry) for the responses it added (_new_groups).

    A source that added one response (a returned form, a manual entry) names that
    response, as the ORM hook would. A sheet's entry names the file, its archived copy
    (sha256) and the ids of the responses it added, whose rows carry the archived file,
    sheet and row and the time too: one audit row per response would cost a 100,000-row
    import more than its responses.
    """
    from csat.store import audit

    entries = []
    for response_id, added in groups:
        if response_id is not None:
            changes = {"new": _fields(context, added, sources) | {"answers": added.answer_count}}
            entries.append((response_id, record_key(context, added), changes))
            continue
        archived = (sources or {}).get(added["source_file"])
        new = {**added, "source_sha256": archived.sha256 if archived is not None else None}
        entries.append((None, f"import {Path(added['source_file']).name or added['source']}", {"new": new}))
    audit.record_many(connection, "response", "insert", entries)


def id_ranges(ids: list[int]) -> list[list[int]]:
    """[[first, last], ...] runs of consecutive ids (one run when ids were reserved together)."""
    if not ids:
        return []
    numbers = np.sort(np.asarray(ids, dtype=np.int64))
    breaks = np.flatnonzero(np.diff(numbers) != 1) + 1      # where a run ends and the next begins
    firsts = np.concatenate(([0], breaks))
    lasts = np.concatenate((breaks - 1, [len(numbers) - 1]))
    return [[first, last] for first, last in zip(numbers[firsts].tolist(), numbers[lasts].tolist())]


def _snapshot(connection, context: Context, response_ids: list[int]) -> dict[int, dict[str, Any]]:
    """The stored fields and answers of responses about to be replaced, for the audit trail."""
    from sqlalchemy import select

    from csat.store.models import Answer, Response

    if not response_ids:
        return {}
    snapshot: dict[int, dict[str, Any]] = {}
    for row in connection.execute(select(Response).where(Response.id.in_(response_ids))).mappings():
        snapshot[row["id"]] = {
            "respondent": row["respondent"], "respondent_title": row["respondent_title"],
            "answered_on": row["answered_on"].isoformat() if row["answered_on"] else None,
            "comment": row["comment"], "source": row["source"], "source_file": row["source_file"],
            "source_file_id": row["source_file_id"], "source_sheet": row["source_sheet"],
            "source_row": row["source_row"], "answers": {},
        }
        if row["withdrawn_at"] is not None:      # a correction of a withdrawn response: keep why it went
            snapshot[row["id"]].update(withdrawn_at=row["withdrawn_at"].isoformat(sep=" "),
                                       withdraw_reason=row["withdraw_reason"])
    for row in connection.execute(select(Answer).where(Answer.response_id.in_(response_ids))).mappings():
        snapshot[row["response_id"]]["answers"].update(_answers_record(
            context, [(row["item_id"], row["score"], row["not_applicable"], row["raw"], row["comment"])]))
    return snapshot


def _mark_invitations(connection, context: Context, candidates: list[Candidate], stamp: Any) -> None:
    """A response marks its customer's invitation for the round as responded (once)."""
    marked = []
    invitations = {period: context.round_for(period).invitations
                   for period in set(map(attrgetter("period"), candidates))}
    if not any(invitations.values()):
        return                                # nobody was invited (answers taken by phone or a sheet)
    for candidate in candidates:
        invitation = invitations[candidate.period].get(candidate.customer_id)
        if invitation is not None and not invitation[2]:
            marked.append((stamp, invitation[0]))
            invitations[candidate.period][candidate.customer_id] = (invitation[0], invitation[1], True)
    if marked:
        mark = placeholder(connection)
        connection.exec_driver_sql(
            f"UPDATE invitation SET responded_at = {mark} WHERE id = {mark} AND responded_at IS NULL", marked)
