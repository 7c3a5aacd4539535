"""`csat remind`: chase customers who have not answered, tell staff what is due.

Built to run unattended from cron at any frequency:
- one run at a time (a workspace lock; the loser says so and exits 0);
- reminders follow a schedule per invitation (first after `remind_after` days,
  then every `remind_every` days, at most `max_reminders`); each reminder is
  written as pending before it is sent and marked sent or failed after, in its
  own transaction, so a re-run the same day sends nothing new and a failed
  send is retried by the next run;
- the staff digest is keyed by day in the notice table: at most one per day,
  none when nothing is due, retried while its send fails.
`today` lets a run act as if on another date (back-filling and tests).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from csat.i18n import _, staff_language, stored, use_language
from csat.survey.digest import DueLine, collect


@dataclass
class ReminderOutcome:
    code: str
    period: str
    number: int
    email: str
    error: str = ""


@dataclass
class RemindReport:
    today: date
    dry_run: bool
    destination: str = ""
    reminders: list[ReminderOutcome] = field(default_factory=list)
    digest_lines: list[DueLine] = field(default_factory=list)
    digest: str = "not_due"   # not_due, already_sent, sent, failed, printed, planned
    digest_error: str = ""
    staff: list[str] = field(default_factory=list)

    @property
    def sent(self) -> list[ReminderOutcome]:
        return [outcome for outcome in self.reminders if not outcome.error]

    @property
    def failed(self) -> list[ReminderOutcome]:
        return [outcome for outcome in self.reminders if outcome.error]

    @property
    def has_failures(self) -> bool:
        return bool(self.failed) or self.digest == "failed"

    @property
    def quiet(self) -> bool:
        """Nothing happened that a person needs to read."""
        return not self.reminders and self.digest in ("not_due", "already_sent")


def _moment(today: date) -> datetime:
    """Now, or the current time of day on the simulated date."""
    from csat.store.models import now

    current = now()
    return current if today == current.date() else datetime.combine(today, current.time())


def due_reminders(session, settings, today: date) -> list[tuple[Any, Any, Any]]:
    """(invitation, customer, round) of every customer to remind today, by the schedule.

    Only rounds still open to answers: a reminder states the round's due date, which must not have
    passed (after it, the staff digest reports the round; `csat survey extend` lets reminders resume).
    """
    from sqlmodel import select

    from csat.store.models import Customer, Invitation, SurveyRound

    schedule = settings.remind
    if schedule.max_reminders <= 0:
        return []
    rows = session.exec(
        select(Invitation, Customer, SurveyRound)
        .join(Customer, Customer.id == Invitation.customer_id)
        .join(SurveyRound, SurveyRound.id == Invitation.round_id)
        .where(SurveyRound.status == "open", SurveyRound.due_date >= today, Invitation.status == "sent", Invitation.responded_at.is_(None),
               Invitation.sent_at.is_not(None), Invitation.reminders < schedule.max_reminders,
               Customer.active == True)  # noqa: E712
        .order_by(SurveyRound.period, Customer.code)
    ).all()
    due = []
    for invitation, customer, round_ in rows:
        if not customer.email.strip():
            continue
        if invitation.sent_at.date() + timedelta(days=schedule.remind_after) > today:
            continue
        last = invitation.last_reminded_at
        if last is not None and last.date() + timedelta(days=schedule.remind_every) > today:
            continue
        due.append((invitation, customer, round_))
    return due


def _claim(session, invitation_id: int, today: date):
    """The Reminder row for this invitation's next reminder, (re)marked pending before sending;
    None when the invitation no longer needs one (answered meanwhile)."""
    from sqlmodel import select

    from csat.store.models import Invitation, Reminder

    invitation = session.get(Invitation, invitation_id)
    if invitation is None or invitation.responded_at is not None:
        return None
    number = invitation.reminders + 1
    reminder = session.exec(select(Reminder).where(Reminder.invitation_id == invitation.id,
                                                   Reminder.number == number)).first()
    if reminder is None:
        reminder = Reminder(invitation_id=invitation.id, number=number, scheduled_for=today)
        session.add(reminder)
    reminder.status, reminder.error, reminder.scheduled_for = "pending", "", today
    session.flush()
    return reminder.id, number


def _settle(store, reminder_id: int, invitation_id: int, moment: datetime, message_id: str, error: str) -> None:
    from csat.store.models import Invitation, Reminder

    with store.session() as session:
        reminder = session.get(Reminder, reminder_id)
        if error:
            reminder.status, reminder.error = "failed", stored(error)
            return
        reminder.status, reminder.message_id, reminder.sent_at = "sent", message_id, moment
        invitation = session.get(Invitation, invitation_id)
        invitation.reminders = reminder.number
        invitation.last_reminded_at = moment


def _reminder_subject(forms, language: str) -> str:
    """The invitation's subject as a reply: "Re: " is the prefix every common client strips to thread
    (Gmail and Outlook group a reply with its original only when the rest of the subject is the same;
    "Reminder: " would start a new conversation there). The letter itself says it is a reminder."""
    from csat.forms.html import subject

    return "Re: " + subject(forms.content(language))


def _thread_headers(message_id: str) -> dict[str, str]:
    """In-Reply-To and References to the invitation, so the reminder joins its thread (RFC 5322 3.6.4)."""
    message_id = (message_id or "").strip()
    if not message_id:
        return {}
    return {"In-Reply-To": message_id, "References": message_id}


def _send_reminders(workspace, store, transport, due, today: date, report: RemindReport) -> None:
    from csat.mail.transport import SendError
    from csat.survey.send import Recipient, RoundForms

    forms_by_round: dict[int, Any] = {}
    fatal = ""
    for invitation, customer, round_ in due:
        recipient = Recipient.of(invitation, customer)
        with store.session() as session:
            claimed = _claim(session, invitation.id, today)
            if claimed is None:
                continue
            reminder_id, number = claimed
            forms = forms_by_round.get(round_.id)
            if forms is None:
                forms = forms_by_round[round_.id] = RoundForms.load(session, workspace, round_)
        outcome = ReminderOutcome(customer.code, round_.period, number, customer.email)
        message_id = ""
        if fatal:
            outcome.error = fatal
        else:
            try:
                message = forms.message(
                    recipient, letter="reminder", subject_text=_reminder_subject(forms, recipient.language),
                    headers=_thread_headers(invitation.message_id), sent_on=invitation.sent_at.date().isoformat())
                message_id = transport.send(message, name=forms.message_name(recipient, f"reminder{number}"))
            except SendError as exc:
                outcome.error = exc.reason
                fatal = exc.reason if exc.fatal else ""
            except ValueError as exc:
                outcome.error = str(exc)
        _settle(store, reminder_id, invitation.id, _moment(today), message_id, outcome.error)
        report.reminders.append(outcome)


def _digest_message(workspace, lines: list[DueLine], today: date):
    from csat.mail.transport import address, build_message, sender_address

    settings = workspace.settings
    recipients = tuple(address(item) for item in settings.remind.staff)
    subject = _("csat: {n} item(s) due on {date}", n=len(lines), date=today)
    intro = _("The customer satisfaction procedure of {company} has these items due on {date}:",
              company=settings.company.name, date=today)
    text = intro + "\n\n" + "\n".join(f"- {line.text}" for line in lines) + "\n"
    return build_message(sender=sender_address(settings), recipient=recipients, subject=subject, text=text)


def _handle_digest(workspace, store, transport, today: date, dry_run: bool, report: RemindReport) -> None:
    from sqlmodel import select

    from csat.mail.transport import SendError
    from csat.store.models import Notice

    settings = workspace.settings
    key = f"digest:{today.isoformat()}"
    report.staff = list(settings.remind.staff)
    with store.read_session() as session, use_language(staff_language(settings.company.lang)):
        report.digest_lines = collect(session, settings, today)
        existing = session.exec(select(Notice).where(Notice.key == key)).first()
        done = existing is not None and existing.status in ("sent", "printed")
    if not report.digest_lines:
        report.digest = "not_due"
        return
    if done:
        report.digest = "already_sent"
        return
    if dry_run:
        report.digest = "planned"
        return
    body = "\n".join(line.text for line in report.digest_lines)
    status, error = "printed", ""
    if settings.remind.staff:
        try:
            with use_language(staff_language(settings.company.lang)):   # staff read it in the workspace's language
                message = _digest_message(workspace, report.digest_lines, today)
            transport.send(message, name=f"digest-{today}")
            status = "sent"
        except SendError as exc:
            status, error = "failed", exc.reason
        except ValueError as exc:
            status, error = "failed", _("remind.staff: {reason}", reason=exc)
    with store.session() as session:
        notice = session.exec(select(Notice).where(Notice.key == key)).first()
        if notice is None:
            notice = Notice(key=key, kind="digest")
            session.add(notice)
        notice.status, notice.error, notice.body = status, stored(error), body
        notice.recipients = ", ".join(settings.remind.staff)
        notice.sent_at = _moment(today) if status in ("sent", "printed") else None
        if status in ("sent", "printed"):
            _remember_told(session, report.digest_lines, notice, key)
    report.digest, report.digest_error = status, error


def _remember_told(session, lines: list[DueLine], digest, digest_key: str) -> None:
    """Keep the keys of the lines told once (new gaps, stale summaries), so no later digest tells them again."""
    from sqlmodel import select

    from csat.store.models import Notice
    from csat.survey.digest import TOLD_ONCE

    keys = [line.key for line in lines if line.key]
    known = set(session.exec(select(Notice.key).where(Notice.key.in_(keys))).all()) if keys else set()
    for line in lines:
        if line.key and line.key not in known:
            session.add(Notice(key=line.key, kind=TOLD_ONCE, status=digest.status, body=line.text,
                               recipients=digest_key, sent_at=digest.sent_at))
            known.add(line.key)


def run(workspace, store, today: date | None = None, dry_run: bool = False, transport=None) -> RemindReport:
    """One reminder run: customer reminders, then the staff digest. Caller holds the lock."""
    from csat.mail.transport import SendError, transport_for

    today = today or date.today()
    report = RemindReport(today=today, dry_run=dry_run)
    with store.read_session() as session:
        due = due_reminders(session, workspace.settings, today)
    if dry_run:
        report.reminders = [ReminderOutcome(customer.code, round_.period, invitation.reminders + 1, customer.email)
                            for invitation, customer, round_ in due]
        _handle_digest(workspace, store, None, today, True, report)
        return report
    transport = transport or transport_for(workspace)
    report.destination = getattr(transport, "description", "")
    needs_mail = bool(due) or bool(workspace.settings.remind.staff)
    if not needs_mail:
        _handle_digest(workspace, store, None, today, False, report)
        return report
    try:
        transport.__enter__()
    except SendError as exc:
        transport = _Broken(exc.reason)
    try:
        _send_reminders(workspace, store, transport, due, today, report)
        _handle_digest(workspace, store, transport, today, False, report)
    finally:
        transport.__exit__(None, None, None)
    return report


class _Broken:
    """Stands in for a transport that could not start: every send fails with its reason."""

    description = "unavailable"

    def __init__(self, reason: str):
        self.reason = reason

    def send(self, message, name=None) -> str:
        from csat.mail.transport import SendError

        raise SendError(self.reason, fatal=True)

    def __exit__(self, *exc_info) -> None:
        return None
