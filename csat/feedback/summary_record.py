"""Quarterly summaries as records: versions kept as made, read back, and judged stale from the audit trail.

A version holds the summary's JSON exactly as `feedback summary --format json` printed it
(csat.feedback.summary builds and renders it). Staleness is read from the audit trail, not
from times alone: a feedback change is later than a record when its audit entry comes after
the record's own (two things done within the same second are still told apart).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from csat.errors import CsatError
from csat.feedback.summary import build, render_json
from csat.i18n import _
from csat.periods import Quarter

# The dates inside a recorded summary's JSON, read back as dates so every renderer works on a record.
_DATES = ("start", "end", "made_on")
_ENTRY_TIMES = ("received", "replied_at", "closed_at", "voided_at")


@dataclass
class Shown:
    """What `feedback summary` shows: the summary and where it comes from.

    `state` is "made" (recorded just now), "recorded" (an earlier version, as made), "preview"
    (a quarter not ended: never recorded) or "live" (computed now beside a version made before
    records were kept, whose figures are unknown). `changes` counts the quarter's entries added
    and changed since the record was made; `versions` is how many versions the quarter has.
    """

    summary: dict[str, Any]
    state: str
    record: Any = None
    changes: dict[str, int] = field(default_factory=lambda: {"added": 0, "changed": 0})
    versions: int = 0

    @property
    def stale(self) -> bool:
        return bool(self.changes["added"] or self.changes["changed"])


def versions(session, quarter: str) -> list:
    """The recorded versions of a quarter's summary, oldest first."""
    from sqlmodel import select

    from csat.store.models import QuarterSummary

    return list(session.exec(select(QuarterSummary).where(QuarterSummary.quarter == str(quarter))
                             .order_by(QuarterSummary.version)).all())


def _ended(quarter: Quarter, now: datetime) -> bool:
    return now.date() > quarter.end


def record(session, settings, quarter: Quarter, now: datetime | None = None):
    """Make and keep a new version of an ended quarter's summary: (row, summary).

    Taken under the store's feedback lock, so no entry is logged between the figures and
    the record, and two people summarising at once get versions 1 and 2, not two 1s.
    """
    from csat.feedback.log import lock_feedback
    from csat.store import audit
    from csat.store.models import QuarterSummary, now as local_now

    now = now or local_now()
    if not _ended(quarter, now):
        raise CsatError(_("quarter {quarter} has not ended (it ends on {end}); a summary is recorded only after the"
                          " quarter ends, `csat feedback summary --quarter {quarter}` shows a preview",
                          quarter=quarter, end=quarter.end.isoformat()))
    lock_feedback(session)
    summary = build(session, settings, quarter, today=now.date())
    existing = versions(session, str(quarter))
    made_by = audit.actor()[:100]
    summary |= {"recorded": True, "version": existing[-1].version + 1 if existing else 1, "summarised_at": now,
                "made_by": made_by}
    row = QuarterSummary(quarter=str(quarter), version=summary["version"], summarised_at=now, made_by=made_by,
                         total=summary["total"], complaints=summary["complaints"], figures=render_json(summary))
    session.add(row)
    session.flush()
    return row, summary


def recorded(row) -> dict[str, Any] | None:
    """The summary a version holds, as made (dates read back as dates); None for one made before records were kept."""
    if not row.figures:
        return None
    summary = json.loads(row.figures)
    for key in _DATES:
        if summary.get(key):
            summary[key] = date.fromisoformat(summary[key])
    summary["summarised_at"] = datetime.fromisoformat(summary["summarised_at"])
    for entry in summary["entries"]:
        for key in _ENTRY_TIMES:
            if entry.get(key):
                entry[key] = datetime.fromisoformat(entry[key])
        if entry.get("reply_due"):
            entry["reply_due"] = date.fromisoformat(entry["reply_due"])
    return summary


def _received_times(action: str, changes: str) -> list[str]:
    """The times received an audit entry of a feedback entry names (new, old and corrected)."""
    try:
        values = json.loads(changes or "{}")
    except ValueError:
        return []
    if action == "insert":
        return [values.get("new", {}).get("received_at") or ""]
    found = []
    for key in ("received_at", "received"):
        pair = values.get(key)
        if isinstance(pair, list):
            found += [str(value) for value in pair if value]
    return found


def changes_since(session, row) -> dict[str, int]:
    """Entries of the row's quarter added, and changed (edited, replied, closed, voided), after it was made.

    "After" is read from the audit trail: entries written after the record's own audit entry
    (or, for a version made before records were kept, after its date). An entry counts for the
    quarter when it is received in it now, or was before a correction moved it out.
    """
    from sqlmodel import select

    from csat.feedback.log import quarter_bounds
    from csat.store.models import AuditLog, Feedback

    start, end = quarter_bounds(Quarter.parse(row.quarter))
    mark = None
    if row.figures:
        mark = session.exec(select(AuditLog.id).where(AuditLog.table_name == "quarter_summary",
                                                      AuditLog.record_id == row.id,
                                                      AuditLog.action == "insert")).first()
    query = select(AuditLog.record_id, AuditLog.action, AuditLog.changes).where(AuditLog.table_name == "feedback")
    query = query.where(AuditLog.id > mark) if mark is not None else query.where(AuditLog.at > row.summarised_at)
    trail = session.exec(query).all()
    if not trail:
        return {"added": 0, "changed": 0}
    numbers = {number for number, _action, _changes in trail if number is not None}
    current = dict(session.exec(select(Feedback.id, Feedback.received_at).where(Feedback.id.in_(numbers))).all())
    first_day, next_day = start.isoformat(), end.isoformat()
    added, changed = set(), set()
    for number, action, changes in trail:
        times = _received_times(action, changes)
        in_quarter = (number in current and start <= current[number] < end) or any(
            first_day <= moment.replace(" ", "T") < next_day for moment in times if moment)
        if in_quarter:
            (added if action == "insert" else changed).add(number)
    return {"added": len(added), "changed": len(changed - added)}


def stale_summaries(session) -> list[dict[str, Any]]:
    """The quarters whose latest summary version is stale, oldest first, with what changed since.

    For the staff digest and `csat check`: {"quarter", "version", "summarised_at", "added", "changed"}.
    """
    from sqlmodel import select

    from csat.store.models import QuarterSummary

    latest: dict[str, Any] = {}
    for row in session.exec(select(QuarterSummary).order_by(QuarterSummary.quarter, QuarterSummary.version)).all():
        latest[row.quarter] = row
    result = []
    for quarter, row in latest.items():
        changes = changes_since(session, row)
        if changes["added"] or changes["changed"]:
            result.append({"quarter": quarter, "version": row.version, "summarised_at": row.summarised_at} | changes)
    return result


def show(session, settings, quarter: Quarter, *, version: int | None = None, refresh: bool = False,
         now: datetime | None = None) -> Shown:
    """The summary `feedback summary` prints: a record as made, a new one, or a preview.

    An ended quarter never summarised gets its version 1 now; `refresh` records the next version;
    `version` picks an earlier one (else the latest). A quarter not ended is a preview, never
    recorded. A version made before records were kept has no figures: today's are shown beside it,
    marked as not recorded.
    """
    from csat.errors import NotFound
    from csat.store.models import now as local_now

    now = now or local_now()
    if quarter.start > now.date():
        raise CsatError(_("quarter {quarter} has not started yet (today is {today})", quarter=quarter,
                          today=now.date().isoformat()))
    if not _ended(quarter, now):
        if refresh or version is not None:
            raise CsatError(_("quarter {quarter} has not ended (it ends on {end}); it has no recorded summary yet,"
                              " `csat feedback summary --quarter {quarter}` shows a preview",
                              quarter=quarter, end=quarter.end.isoformat()))
        summary = build(session, settings, quarter, today=now.date())
        return Shown(summary | {"recorded": False, "version": None, "summarised_at": None, "made_by": ""}, "preview")
    kept = versions(session, str(quarter))
    if version is not None and refresh:
        raise CsatError(_("--refresh makes a new version; --version shows an existing one: give one of them"))
    if refresh or not kept:
        row, summary = record(session, settings, quarter, now)
        return Shown(summary, "made", row, versions=len(kept) + 1)
    if version is None:
        row = kept[-1]
    else:
        row = next((item for item in kept if item.version == version), None)
        if row is None:
            raise NotFound(_("{quarter} has no summary version {version}; it has {versions}", quarter=quarter,
                             version=version, versions=", ".join(str(item.version) for item in kept)))
    summary = recorded(row)
    changes = changes_since(session, row)
    if summary is None:
        summary = build(session, settings, quarter, today=now.date())
        summary |= {"recorded": False, "version": None, "summarised_at": None, "made_by": ""}
        return Shown(summary, "live", row, changes, len(kept))
    return Shown(summary, "recorded", row, changes, len(kept))


def version_list(session, quarter: Quarter) -> list[dict[str, Any]]:
    """Every version of a quarter's summary with its date, maker, counts and staleness (the JSON of --versions)."""
    kept = versions(session, str(quarter))
    latest = kept[-1].version if kept else None
    rows = []
    for row in kept:
        changes = changes_since(session, row)
        rows.append({"quarter": row.quarter, "version": row.version, "summarised_at": row.summarised_at,
                     "made_by": row.made_by, "total": row.total, "complaints": row.complaints,
                     "figures_kept": bool(row.figures), "latest": row.version == latest,
                     "stale": bool(changes["added"] or changes["changed"]), "added_since": changes["added"],
                     "changed_since": changes["changed"]})
    return rows
