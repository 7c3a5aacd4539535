"""Sending a survey round: invitations, signed forms, e-mails, and what happened to each.

The plan (open the round, create missing invitations) is one transaction.
Then every message is sent and its outcome (sent with Message-ID and time, or
failed with the server's reason) is committed in its own transaction, so a
crash, a dropped connection or Ctrl-C leaves each invitation either as it
was or with its true outcome. Ctrl-C is deferred to the end of the current
message; a second one stops at once (that message then stays pending).
A re-run sends only what is pending or failed: never twice unless --resend.
"""

from __future__ import annotations

import base64
import contextlib
import secrets
import signal
import threading
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Callable, Iterator

from csat.mail.builder import PARALLEL_BUILD_MIN, Builder, built_messages, can_fork
from csat.errors import Conflict, CsatError
from csat.files import write_bytes
from csat.i18n import _, stored
from csat.forms.content import FormContent, build_content
from csat.forms.html import Addressee, render_form, render_letter, subject
from csat.mail.skeleton import MessageSkeleton
from csat.mail.transport import (Attachment, Prepared, SendError, address, build_message, reply_to_address,
                         safe_filename, sender_address, transport_for)
from csat.mail.outcomes import OutcomeLog, record_outcome  # noqa: F401 - record_outcome is public here
from csat.periods import Half

LANGUAGES = ("en", "zh")


def new_token() -> str:
    """An unguessable invitation token (120 random bits) that no spreadsheet reads as a number or formula."""
    return "t" + base64.b32encode(secrets.token_bytes(15)).decode("ascii").lower()


@dataclass(frozen=True)
class Recipient:
    """One invitation with its customer, detached from the session."""

    invitation_id: int
    token: str
    code: str
    name: str
    contact: str
    email: str
    language: str
    phone: str = ""

    @classmethod
    def of(cls, invitation, customer) -> "Recipient":
        return cls(invitation_id=invitation.id, token=invitation.token, code=customer.code, name=customer.name,
                   contact=customer.contact, email=customer.email, language=customer.language,
                   phone=customer.phone)

    @property
    def addressee(self) -> Addressee:
        return Addressee(code=self.code, name=self.name, contact=self.contact, token=self.token)


class RoundForms:
    """A round's forms and letters. Contents are read once; each language's xlsx template is built once."""

    def __init__(self, contents: dict[str, FormContent], settings, secret: bytes):
        self.contents = contents
        self.settings = settings
        self.secret = secret
        # From and Reply-To name the company as each language's customers know it (company.name_en).
        self.senders = {language: sender_address(settings, language) for language in LANGUAGES}
        self.replies_to = {language: reply_to_address(settings, language) for language in LANGUAGES}
        self._templates: dict[str, object] = {}
        self._skeletons: dict[str, MessageSkeleton] = {}

    @classmethod
    def load(cls, session, workspace, round_) -> "RoundForms":
        from csat.survey.rounds import round_items

        items = round_items(session, round_)
        contents = {language: build_content(round_, items, workspace.settings, language) for language in LANGUAGES}
        return cls(contents, workspace.settings, workspace.secret())

    @property
    def period(self) -> str:
        return self.contents["en"].period

    def content(self, language: str) -> FormContent:
        return self.contents["zh" if language == "zh" else "en"]

    def xlsx_template(self, language: str):
        from csat.forms.xlsx import FormTemplate

        content = self.content(language)
        built = self._templates.get(content.language)
        if built is None:
            built = self._templates[content.language] = FormTemplate(content)
        return built

    def xlsx(self, recipient: Recipient) -> bytes:
        """The customer's signed xlsx form."""
        return self.xlsx_template(recipient.language).render(
            token=recipient.token, customer_code=recipient.code, customer_name=recipient.name,
            contact=recipient.contact, secret=self.secret)

    def html(self, recipient: Recipient) -> str:
        """The customer's printable form (A4)."""
        return render_form(self.content(recipient.language), recipient.addressee)

    def attachment_name(self, recipient: Recipient) -> str:
        return f"survey-{self.period}-{safe_filename(recipient.code)}.xlsx"

    def message_name(self, recipient: Recipient, letter: str = "invitation") -> str:
        """A file name for the message in the outbox: stable per invitation and letter."""
        suffix = "" if letter == "invitation" else f"-{letter}"
        return f"{self.period}-{safe_filename(recipient.code)}-{recipient.token[:8]}{suffix}"

    def _parts(self, recipient: Recipient, letter: str, subject_text: str | None, extra: dict):
        """(recipient address, subject, text, HTML, attachment) of a letter; ValueError for an unusable address."""
        content = self.content(recipient.language)
        filename = self.attachment_name(recipient)
        to = address(recipient.email, recipient.contact or recipient.name)
        text, html = render_letter(content, recipient.addressee, letter, filename=filename, **extra)
        return to, subject_text or subject(content), text, html, Attachment(filename, self.xlsx(recipient))

    def message(self, recipient: Recipient, letter: str = "invitation", subject_text: str | None = None,
                headers: dict[str, str] | None = None, **extra):
        """The e-mail for an invitation (or another letter, e.g. a reminder) with the form attached;
        `headers` adds some (a reminder's In-Reply-To and References).

        Raises ValueError when the customer's address cannot be used.
        """
        to, subject_line, text, html, attachment = self._parts(recipient, letter, subject_text, extra)
        language = self.content(recipient.language).language
        return build_message(sender=self.senders[language], recipient=to, subject=subject_line, text=text, html=html,
                             reply_to=self.replies_to[language], attachments=[attachment], headers=headers)

    def prepared(self, recipient: Recipient, letter: str = "invitation", subject_text: str | None = None,
                 **extra) -> Prepared:
        """The same e-mail serialised for sending: `prepare(self.message(...))`, stamped from a skeleton
        built once per subject, which costs a fraction of a plain build."""
        to, subject_line, text, html, attachment = self._parts(recipient, letter, subject_text, extra)
        language = self.content(recipient.language).language
        skeleton = self._skeletons.get((language, subject_line))
        if skeleton is None:
            skeleton = self._skeletons[(language, subject_line)] = MessageSkeleton(
                sender=self.senders[language], subject=subject_line, reply_to=self.replies_to[language])
        return skeleton.prepare(recipient=to, text=text, html=html, attachment=attachment)


@dataclass
class SendReport:
    period: str
    due_date: date
    destination: str
    dry_run: bool = False
    opened: bool = False
    sent: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    no_email: list[Recipient] = field(default_factory=list)
    planned: list[Recipient] = field(default_factory=list)
    interrupted: bool = False
    pending: list[str] = field(default_factory=list)


def choose_period(session, period: str | Half | None, today: date | None = None) -> str:
    """The period to work on: the one given, else the latest open round, else the current half year."""
    from csat.survey.rounds import latest_round

    if period is not None:
        return str(period)
    latest = latest_round(session, open_only=True)
    if latest is not None:
        return latest.period
    return str(Half.containing(today or date.today()))


def _open_for_sending(session, period: str, settings, today: date | None):
    """The round, opened now if it does not exist; (round, opened)."""
    from csat.survey.rounds import find_round, open_round

    existing = find_round(session, period)
    if existing is not None and existing.status == "closed":
        raise Conflict(_("the {period} round is closed; reopen it with `csat survey open --half {period} --reopen --reason TEXT`",
                         period=period))
    if existing is not None:
        day = today or date.today()
        if existing.due_date < day:  # the e-mail would ask for answers by a date that has passed
            raise Conflict(_("the {period} round was due on {due}; give it a new due date first:"
                             " `csat survey extend --half {period} --due YYYY-MM-DD --reason TEXT`",
                             period=period, due=existing.due_date.isoformat()))
        return existing, False
    return open_round(session, Half.parse(period), due_days=settings.survey.due_days, today=today,
                      minimum=settings.procedure.min_action_limit), True


def _chosen_customers(session, codes: list[str] | None):
    from csat.registry import customers

    if not codes:
        return customers.list_customers(session)
    chosen, seen = [], set()
    for code in codes:
        customer = customers.get(session, code)
        if not customer.active:
            raise Conflict(_("customer {customer} is deactivated; activate it with `csat customer activate {code}`",
                                 customer=repr(code), code=code))
        if customer.id not in seen:
            seen.add(customer.id)
            chosen.append(customer)
    return chosen


def ensure_invitation(session, round_, customer):
    """The customer's invitation for the round, created (pending) if missing."""
    from sqlmodel import select

    from csat.store.models import Invitation

    invitation = session.exec(select(Invitation).where(Invitation.round_id == round_.id,
                                                       Invitation.customer_id == customer.id)).first()
    if invitation is None:
        invitation = Invitation(round_id=round_.id, customer_id=customer.id, token=new_token(), email=customer.email)
        session.add(invitation)
        session.flush()
    return invitation


def _plan(session, round_, chosen, resend: bool, report: SendReport) -> list[Recipient]:
    from sqlmodel import select

    from csat.store.models import Invitation

    existing = {invitation.customer_id: invitation
                for invitation in session.exec(select(Invitation).where(Invitation.round_id == round_.id)).all()}
    answered = _answered(session, round_)
    to_send, new = [], []
    for customer in chosen:
        invitation = existing.get(customer.id)
        if not customer.email.strip():
            if customer.id in answered or (invitation is not None and invitation.responded_at is not None):
                report.skipped.append(customer.code)   # answered already (by phone, a form, a sheet): nobody to reach
                continue
            report.no_email.append(Recipient(0, invitation.token if invitation else "", customer.code, customer.name,
                                             customer.contact, "", customer.language, customer.phone))
            continue
        if customer.id in answered or (invitation is not None and (
                invitation.responded_at is not None or (invitation.status == "sent" and not resend))):
            report.skipped.append(customer.code)
            continue
        if invitation is None:
            new.append(customer)
        to_send.append((invitation, customer))
    created = _create_invitations(session, round_, new)
    return [Recipient.of(invitation, customer) if invitation is not None
            else Recipient(*created[customer.id], customer.code, customer.name, customer.contact, customer.email,
                           customer.language, customer.phone)
            for invitation, customer in to_send]


def _answered(session, round_) -> set[int]:
    """Ids of the customers with a live response in the round, however it came in."""
    from sqlmodel import select

    from csat.store.models import Response

    return set(session.exec(select(Response.customer_id).where(Response.round_id == round_.id,
                                                               Response.withdrawn_at.is_(None))).all())


def _create_invitations(session, round_, new_customers) -> dict[int, tuple[int, str]]:
    """Pending invitations for these customers in one bulk insert, with their audit entries: customer id -> (id, token).

    A first send of a large round creates thousands; through the ORM that alone takes a noticeable part of the run.
    """
    from sqlalchemy import insert

    from csat.store import audit
    from csat.store.models import Invitation, now

    if not new_customers:
        return {}
    moment = now()
    rows = [{"round_id": round_.id, "customer_id": customer.id, "token": new_token(), "email": customer.email,
             "status": "pending", "message_id": "", "sent_at": None, "error": "", "reminders": 0,
             "last_reminded_at": None, "responded_at": None, "created_at": moment} for customer in new_customers]
    session.flush()
    table = Invitation.__table__
    ids = session.connection().execute(insert(table).returning(table.c.id, sort_by_parameter_order=True),
                                       rows).scalars().all()
    for row, invitation_id in zip(rows, ids):
        row["id"] = invitation_id
    audit.record_inserts(session.connection(), Invitation, rows)
    return {row["customer_id"]: (row["id"], row["token"]) for row in rows}


@contextmanager
def deferred_interrupt() -> Iterator[Callable[[], bool]]:
    """Turn the first Ctrl-C into a flag checked between messages; a second one interrupts at once."""
    if threading.current_thread() is not threading.main_thread():
        yield lambda: False
        return
    requested: list[bool] = []

    def handler(signum, frame):
        if requested:
            signal.default_int_handler(signum, frame)
        requested.append(True)

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield lambda: bool(requested)
    finally:
        signal.signal(signal.SIGINT, previous)


def _fail_all(store, recipients: list[Recipient], reason: str) -> None:
    from sqlmodel import select

    from csat.store.models import Invitation

    ids = [recipient.invitation_id for recipient in recipients]
    by_id = {recipient.invitation_id: recipient for recipient in recipients}
    with store.session() as session:
        for invitation in session.exec(select(Invitation).where(Invitation.id.in_(ids))).all():
            invitation.status, invitation.error = "failed", stored(reason)
            invitation.email = by_id[invitation.id].email


Progress = Callable[[Recipient, str, int, int], None]  # (recipient, "sent" or "failed", done, total)


def send_round(workspace, store, period: str | Half | None = None, customers: list[str] | None = None,
               dry_run: bool = False, resend: bool = False, transport=None, on_progress: Progress | None = None,
               today: date | None = None) -> SendReport:
    """Send the round's invitations (opening the round if needed) and record each outcome.

    `transport` defaults to SMTP when mail.smtp_host is set, else the outbox;
    `on_progress(recipient, outcome, done, total)` is called after each message, outcome "sent" or "failed".
    """
    from csat.store.locking import AlreadyRunning, exclusive

    settings = workspace.settings
    if transport is None and not dry_run:
        transport = transport_for(workspace)  # configuration problems stop here, before anything is written
    with ExitStack() as stack:
        if not dry_run:
            # Two people sending at once would both plan the same pending invitations and send them twice.
            try:
                stack.enter_context(exclusive(workspace.root, "send", store))
            except AlreadyRunning as running:
                if running.holder:
                    raise Conflict(_("another `csat survey send` is running on this store (from this workspace or"
                                     " another one sharing its database), held by {holder}; run it again when it"
                                     " has finished", holder=running.holder)) from None
                raise Conflict(_("another `csat survey send` is running on this store (from this workspace or another"
                                 " one sharing its database); run it again when it has finished")) from None
        builder = None
        if not dry_run and _likely_count(store, customers) >= PARALLEL_BUILD_MIN and can_fork():
            builder = stack.enter_context(Builder())  # forked before the plan's transaction, starts up meanwhile
        with store.session() as session:
            chosen_period = choose_period(session, period, today)
            round_, opened = _open_for_sending(session, chosen_period, settings, today)
            chosen = _chosen_customers(session, customers)
            report = SendReport(period=round_.period, due_date=round_.due_date, opened=opened, dry_run=dry_run,
                                destination=getattr(transport, "description", "dry run"))
            recipients = _plan(session, round_, chosen, resend, report)
            forms = RoundForms.load(session, workspace, round_)
            if dry_run:
                for recipient in recipients:
                    try:
                        forms.message(recipient)  # prove every message builds
                        report.planned.append(recipient)
                    except ValueError as exc:
                        report.failed.append((recipient.code, str(exc)))
                session.rollback()
                return report
        _deliver(store, forms, transport, recipients, report, on_progress, builder)
    return report


def _likely_count(store, codes: list[str] | None) -> int:
    """How many messages a send may build: the customers named, else the active ones."""
    if codes:
        return len(set(codes))
    from sqlalchemy import func, select

    from csat.store.models import Customer

    with store.read_session() as session:
        return session.execute(select(func.count()).where(Customer.active == True)).scalar_one()  # noqa: E712


def _deliver(store, forms: RoundForms, transport, recipients: list[Recipient], report: SendReport,
             on_progress: Progress | None, builder: Builder | None = None) -> None:
    """Send in order, committing each outcome before the next message; after a fatal error
    (no server, login refused) the rest fail with the same reason instead of each waiting it out."""
    fatal = ""
    with deferred_interrupt() as interrupted, OutcomeLog(store) as outcomes, ExitStack() as stack:
        try:
            stack.enter_context(transport)
        except SendError as exc:
            fatal = exc.reason
        messages = stack.enter_context(contextlib.closing(built_messages(forms, recipients, builder)))
        for index, (recipient, built) in enumerate(messages):
            if interrupted() or fatal:
                left = recipients[index:]
                if fatal:
                    _fail_all(store, left, fatal)
                    report.failed.extend((other.code, fatal) for other in left)
                else:
                    report.interrupted = True
                    report.pending = [other.code for other in left]
                break
            error, message_id = "", ""
            if isinstance(built, str):
                error = built
            else:
                name, message = built
                try:
                    message_id = transport.send(message, name=name)
                except SendError as exc:
                    error = exc.reason
                    fatal = exc.reason if exc.fatal else ""
            outcomes.record(recipient.invitation_id, recipient.email, message_id, error)
            if error:
                report.failed.append((recipient.code, error))
            else:
                report.sent.append(recipient.code)
            if on_progress is not None:
                on_progress(recipient, "failed" if error else "sent", index + 1, len(recipients))


@dataclass
class WrittenForm:
    path: Path
    period: str
    opened: bool
    token: str


def write_form(workspace, store, code: str, path: Path, period: str | Half | None = None,
               today: date | None = None) -> WrittenForm:
    """Write one customer's form (xlsx by default, html for a printable page) for phone, visit or fax."""
    from csat.registry import customers

    suffix = path.suffix.lower()
    if suffix not in (".xlsx", ".html", ".htm"):
        raise CsatError(_("{path}: the form can be written as .xlsx or .html", path=path))
    with store.session() as session:
        chosen_period = choose_period(session, period, today)
        customer = customers.get(session, code)
        if not customer.active:
            raise Conflict(_("customer {customer} is deactivated; activate it with `csat customer activate {code}`",
                                 customer=repr(code), code=code))
        round_, opened = _open_for_sending(session, chosen_period, workspace.settings, today)
        invitation = ensure_invitation(session, round_, customer)
        recipient = Recipient.of(invitation, customer)
        forms = RoundForms.load(session, workspace, round_)
    data = forms.xlsx(recipient) if suffix == ".xlsx" else forms.html(recipient).encode("utf-8")
    write_bytes(path, data)
    return WrittenForm(path=path, period=forms.period, opened=opened, token=recipient.token)
