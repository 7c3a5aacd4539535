"""What staff must be told is due: the triggers of the daily digest.

Each trigger is a plain query over the store for a given day, returning
`Notice` lines (a topic and a sentence). The digest is sent only when at least
one line exists, at most once per day (see csat.survey.remind).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from csat.i18n import _, language
from csat.periods import Half, Quarter
from csat.vocabulary import word

ROUND_WARNING_DAYS = 30
ROUND_INTERVAL_DAYS = 183  # "at least every half year"


@dataclass(frozen=True)
class DueLine:
    topic: str      # survey, response, summary, complaint, capa, gap
    text: str
    # A line told once (a new gap of `csat check`, a stale summary): the digest that lists it keeps this
    # key as a Notice, and no later digest lists it again.
    key: str = ""


# Gaps other digest lines already report: overdue replies, unsummarised quarters and overdue CAPAs
# every day they last, a stale summary once (stale_summary_lines); not a second time as a new gap.
_TOLD_ELSEWHERE = frozenset({"complaint_reply_overdue", "quarter_not_summarised", "capa_overdue", "summary_stale"})
TOLD_ONCE = "once"


def once_key(text: str) -> str:
    """A Notice key for a line told once (hashed when too long for the column)."""
    import hashlib

    return text if len(text) <= 100 else "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def told_keys(session) -> set[str]:
    """Keys of the lines told once that a digest already told."""
    from sqlmodel import select

    from csat.store.models import Notice

    return set(session.exec(select(Notice.key).where(Notice.kind == TOLD_ONCE)).all())


def _first_sent(session, round_id: int) -> datetime | None:
    from sqlmodel import func, select

    from csat.store.models import Invitation

    return session.exec(select(func.min(Invitation.sent_at)).where(
        Invitation.round_id == round_id, Invitation.status == "sent")).one()


def survey_lines(session, settings, today: date) -> list[DueLine]:
    """Rounds not sent in time, rounds overdue with too few answers."""
    from sqlmodel import func, select

    from csat.store.models import Invitation, SurveyRound

    lines: list[DueLine] = []
    rounds = session.exec(select(SurveyRound).order_by(SurveyRound.period)).all()
    sent_on = {round_.id: _first_sent(session, round_.id) for round_ in rounds}
    half = Half.containing(today)
    current = next((round_ for round_ in rounds if round_.period == str(half)), None)
    days_left = (half.end - today).days + 1
    if (current is None or sent_on.get(current.id) is None) and days_left < ROUND_WARNING_DAYS:
        lines.append(DueLine("survey", _(
            "the {half} survey round has not been sent and {n} day(s) of the half year remain: run `csat survey send --half {half}`",
            n=days_left, half=half)))
    sent_dates = [moment.date() for moment in sent_on.values() if moment is not None]
    if sent_dates:
        last = max(sent_dates)
        if (today - last).days > ROUND_INTERVAL_DAYS:
            lines.append(DueLine("survey", _("the last survey round was sent on {date}, more than six months ago", date=last)))
    target = settings.survey.response_target
    for round_ in rounds:
        if round_.status != "open" or round_.due_date >= today:
            continue
        invited = session.exec(select(func.count()).select_from(Invitation).where(
            Invitation.round_id == round_.id, Invitation.status == "sent")).one()
        if not invited:
            continue
        answered = session.exec(select(func.count()).select_from(Invitation).where(
            Invitation.round_id == round_.id, Invitation.responded_at.is_not(None))).one()
        rate = answered / invited
        if rate < target:
            lines.append(DueLine("response", _(
                "round {period} was due on {due} and has {answered} of {invited} answers ({rate:.0%}, target {target:.0%});"
                " its {silent} non-responder(s) are no longer reminded: `csat survey extend --half {period} --due YYYY-MM-DD --reason TEXT`"
                " to give them more time", period=round_.period, due=round_.due_date, answered=answered, invited=invited,
                rate=rate, target=target, silent=invited - answered)))
    return lines


def workspace_started(session) -> date | None:
    """The day the first record was written: quarters before it need no summary."""
    from sqlmodel import func, select

    from csat.store.models import AuditLog

    first = session.exec(select(func.min(AuditLog.at))).one()
    return first.date() if first else None


def summary_lines(session, settings, today: date) -> list[DueLine]:
    """Ended quarters without their feedback summary, from the day the workspace started."""
    from csat.feedback.summary import quarters_without_summary

    started = workspace_started(session)
    if started is None:
        return []
    missing = [Quarter.parse(text) for text in quarters_without_summary(session, settings, today)]
    return [
        DueLine("summary", _("quarter {quarter} ended on {date} without its feedback summary: run `csat feedback summary --quarter {quarter}`",
                             quarter=quarter, date=quarter.end))
        for quarter in missing if quarter.end >= started
    ]


def stale_summary_lines(session, settings, today: date) -> list[DueLine]:
    """Quarters whose latest summary was made stale by later entries: each told once per version."""
    from csat.feedback.summary_record import stale_summaries

    told = told_keys(session)
    lines = []
    for stale in stale_summaries(session):
        key = f"stale-summary:{stale['quarter']}:v{stale['version']}"
        if key in told:
            continue
        lines.append(DueLine("summary", _(
            "the {quarter} feedback summary (version {version}, made on {date}) is stale: entries were added ({added})"
            " or changed ({changed}) since; run `csat feedback summary --quarter {quarter} --refresh`",
            quarter=stale["quarter"], version=stale["version"], date=stale["summarised_at"].date(),
            added=stale["added"], changed=stale["changed"]), key))
    return lines


def _customer_codes(session, customer_ids: set[int]) -> dict[int, str]:
    from sqlmodel import select

    from csat.store.models import Customer

    if not customer_ids:
        return {}
    return dict(session.exec(select(Customer.id, Customer.code).where(Customer.id.in_(customer_ids))).all())


def complaint_lines(session, settings, today: date) -> list[DueLine]:
    """Complaints waiting for a reply past the reply time, and long-unresolved ones."""
    from csat.feedback.log import long_unresolved_complaints, overdue_complaints

    overdue = overdue_complaints(session, settings, today)
    unresolved = long_unresolved_complaints(session, settings, today)
    codes = _customer_codes(session, {entry.customer_id for entry in overdue + unresolved})
    lines = [
        DueLine("complaint", _(
            "complaint #{number} from {customer} (received {received}) has no reply after {n} working day(s)",
            n=settings.feedback.reply_days, number=entry.id, customer=codes.get(entry.customer_id, "?"),
            received=entry.received_at.date()))
        for entry in overdue
    ]
    lines += [
        DueLine("complaint", _("complaint #{number} from {customer} is still open after {days} days (limit {limit})",
                               number=entry.id, customer=codes.get(entry.customer_id, "?"),
                               days=(today - entry.received_at.date()).days, limit=settings.feedback.unresolved_days))
        for entry in unresolved
    ]
    return lines


def capa_lines(session, settings, today: date) -> list[DueLine]:
    from csat.capa.records import capas_past_due

    return [
        DueLine("capa", _("{number} \"{title}\" ({owner}) was due on {due} and is {status}", number=capa.number,
                          title=capa.title, due=capa.due_date, status=word("capa_status", capa.status, language()).lower(),
                          owner=settings.department_name(capa.dept, language()) if capa.dept else _("no owner")))
        for capa in capas_past_due(session, settings, today)
    ]


def gap_lines(session, settings, today: date) -> list[DueLine]:
    """Gaps of `csat check` no earlier digest reported, each with the command that fixes it."""
    from csat.procedure.check import find_gaps

    told = told_keys(session)
    lines = []
    for gap in find_gaps(session, settings, today=today).gaps:
        key = once_key(f"gap:{gap.key}")
        if gap.rule in _TOLD_ELSEWHERE or key in told:
            continue
        lines.append(DueLine("gap", _("new gap ({severity}): {what}: run `{fix}`", what=gap.what, fix=gap.fix,
                                      severity=word("gap_severity", gap.severity, language()).lower()), key))
    return lines


def collect(session, settings, today: date) -> list[DueLine]:
    """Everything the staff digest of `today` must list, in a fixed order."""
    return (survey_lines(session, settings, today) + summary_lines(session, settings, today)
            + stale_summary_lines(session, settings, today) + complaint_lines(session, settings, today)
            + capa_lines(session, settings, today) + gap_lines(session, settings, today))
