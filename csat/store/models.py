"""The store's tables.

One table per record the procedure keeps. Natural keys are NOT NULL and
UNIQUE (SQLite treats NULLs as distinct, so an optional part of a key is ''
rather than NULL). Times are the company's local wall-clock time, naive,
because every date in the procedure (received, due, replied) is local.
Schema changes go through alembic migrations in csat/store/migrations; the test
suite checks that the migrations produce exactly these tables.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Optional

from sqlalchemy import BigInteger, Column, DateTime, Index, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


def now() -> datetime:
    """Local wall-clock time to the second: what people read in records."""
    return datetime.now().replace(microsecond=0)


class Customer(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    code: str = Field(index=True, unique=True, max_length=64)
    name: str = Field(max_length=200)
    contact: str = Field(default="", max_length=200)
    email: str = Field(default="", max_length=254)
    phone: str = Field(default="", max_length=64)
    segment: str = Field(default="", max_length=100)
    language: str = Field(default="en", max_length=8)
    active: bool = Field(default=True)
    created_at: datetime = Field(default_factory=now, sa_type=DateTime)
    updated_at: datetime = Field(default_factory=now, sa_type=DateTime)
    # The archived customer list that added it or last changed it (csat.store.sources); NULL when typed in.
    source_file_id: Optional[int] = None    # SourceFile.id; no foreign key, see migration 0007


class Item(SQLModel, table=True):
    """A survey item of the current template. Answered items are retired, never deleted."""

    id: Optional[int] = Field(default=None, primary_key=True)
    code: str = Field(index=True, unique=True, max_length=64)
    label_en: str = Field(max_length=200)
    label_zh: str = Field(default="", max_length=200)
    description_en: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    description_zh: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    weight: float = Field(default=1.0)
    action_limit: float = Field(default=85.0)
    scale_min: float = Field(default=0.0)
    scale_max: float = Field(default=100.0)
    # JSON list of {"points", "label_en", "label_zh"} for a labelled choice scale; '' for numeric.
    choices: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    position: int = Field(default=0)
    active: bool = Field(default=True)


class SurveyRound(SQLModel, table=True):
    __tablename__ = "survey_round"

    id: Optional[int] = Field(default=None, primary_key=True)
    period: str = Field(index=True, unique=True, max_length=8)
    status: str = Field(default="open", max_length=16)
    opened_at: datetime = Field(default_factory=now, sa_type=DateTime)
    due_date: date
    closed_at: Optional[datetime] = Field(default=None, sa_type=DateTime)
    template_version: str = Field(default="", max_length=32)


class RoundItem(SQLModel, table=True):
    """The template as it stood when the round opened: later edits do not change an open round."""

    __tablename__ = "round_item"
    __table_args__ = (UniqueConstraint("round_id", "item_id"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    round_id: int = Field(foreign_key="survey_round.id", index=True)
    item_id: int = Field(foreign_key="item.id")
    position: int = Field(default=0)
    label_en: str = Field(max_length=200)
    label_zh: str = Field(default="", max_length=200)
    description_en: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    description_zh: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    weight: float = Field(default=1.0)
    action_limit: float = Field(default=85.0)
    scale_min: float = Field(default=0.0)
    scale_max: float = Field(default=100.0)
    choices: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))


class Invitation(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("round_id", "customer_id"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    round_id: int = Field(foreign_key="survey_round.id", index=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    token: str = Field(unique=True, max_length=64)
    email: str = Field(default="", max_length=254)
    status: str = Field(default="pending", max_length=16)  # pending, sent, failed
    message_id: str = Field(default="", max_length=255)
    sent_at: Optional[datetime] = Field(default=None, sa_type=DateTime)
    error: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    reminders: int = Field(default=0)
    last_reminded_at: Optional[datetime] = Field(default=None, sa_type=DateTime)
    responded_at: Optional[datetime] = Field(default=None, sa_type=DateTime)
    created_at: datetime = Field(default_factory=now, sa_type=DateTime)


class Reminder(SQLModel, table=True):
    """One reminder e-mail to a customer who has not answered, with its outcome."""

    __table_args__ = (UniqueConstraint("invitation_id", "number"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    invitation_id: int = Field(foreign_key="invitation.id", index=True)
    number: int = Field(default=1)
    scheduled_for: date
    status: str = Field(default="pending", max_length=16)  # pending, sent, failed
    message_id: str = Field(default="", max_length=255)
    sent_at: Optional[datetime] = Field(default=None, sa_type=DateTime)
    error: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))


class Response(SQLModel, table=True):
    """One customer's answers for a round, identified by round + customer + respondent."""

    __table_args__ = (UniqueConstraint("round_id", "customer_id", "respondent"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    # No index of its own: UNIQUE(round_id, customer_id, respondent) leads with round_id and
    # serves lookups by round; a second index would only slow every import down.
    round_id: int = Field(foreign_key="survey_round.id")
    customer_id: int = Field(foreign_key="customer.id", index=True)
    respondent: str = Field(default="", max_length=200)
    respondent_title: str = Field(default="", max_length=200)
    answered_on: Optional[date] = None
    comment: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    source: str = Field(default="", max_length=16)  # form, sheet, manual
    source_file: str = Field(default="", max_length=500)
    content_hash: str = Field(default="", max_length=64)
    created_at: datetime = Field(default_factory=now, sa_type=DateTime)
    updated_at: datetime = Field(default_factory=now, sa_type=DateTime)
    # A withdrawn response is kept with its answers but left out of every statistic.
    withdrawn_at: Optional[datetime] = Field(default=None, sa_type=DateTime)
    withdraw_reason: str = Field(default="", sa_column=Column(Text, nullable=False, default="", server_default=""))
    # Where the answers came from: the archived file (SourceFile), and within it the sheet and row
    # (a consolidated sheet) or the answer sheet (a returned form, whose token is its invitation's).
    # NULL / '' for answers typed in, and for responses stored before files were archived.
    source_file_id: Optional[int] = None    # SourceFile.id; no foreign key, see migration 0007
    source_sheet: str = Field(default="", max_length=200, sa_column_kwargs={"server_default": ""})
    source_row: Optional[int] = None


class Answer(SQLModel, table=True):
    """A score for one item; score NULL with not_applicable False means left blank."""

    # The natural key (response_id, item_id) is the primary key and, on SQLite, the table
    # itself (WITHOUT ROWID): one B-tree per answer instead of a rowid table plus a unique
    # index, which makes inserting a million answers about a third faster. It is the only
    # index: every other one costs bulk imports dearly, and reports reach a round's answers
    # through it (response ids first). Nothing refers to an answer by a surrogate id.
    __table_args__ = {"sqlite_with_rowid": False}

    response_id: int = Field(foreign_key="response.id", primary_key=True)
    item_id: int = Field(foreign_key="item.id", primary_key=True)
    score: Optional[float] = None
    not_applicable: bool = Field(default=False)
    raw: str = Field(default="", max_length=200)
    comment: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))


class Feedback(SQLModel, table=True):
    """Something a customer told sales or support between surveys."""

    id: Optional[int] = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    kind: str = Field(max_length=16)
    complaint: bool = Field(default=False)
    channel: str = Field(max_length=16)
    text: str = Field(sa_column=Column(Text, nullable=False))
    received_at: datetime = Field(index=True, sa_type=DateTime)
    product: str = Field(default="", max_length=200)
    owner: str = Field(default="", max_length=200)
    dept: str = Field(default="", max_length=64)
    status: str = Field(default="open", max_length=16)  # open, replied, closed
    reply_text: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    replied_at: Optional[datetime] = Field(default=None, sa_type=DateTime)
    closed_at: Optional[datetime] = Field(default=None, sa_type=DateTime)
    # Identity of an imported row, so importing a corrected log updates its entries instead of adding
    # new ones: the log's own number when it has a number column, else a hash of customer, time
    # received, kind and channel (csat.feedback.log.content_key).
    source_key: str = Field(default="", max_length=64, index=True)
    source_number: str = Field(default="", max_length=64, index=True)
    # A voided entry is kept (never deleted) but no longer counts anywhere; when and why.
    voided_at: Optional[datetime] = Field(default=None, sa_type=DateTime)
    void_reason: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    created_at: datetime = Field(default_factory=now, sa_type=DateTime)
    # A CAPA opened elsewhere (a survey item, an earlier complaint) that handles this entry too
    # (`csat feedback link`); a CAPA opened from the entry refers to it through capa.feedback_id.
    # No foreign key: capa already refers to feedback, and a cycle of keys would stop tables from being
    # ordered for creation and copying; `feedback link` checks the CAPA exists.
    capa_id: Optional[int] = Field(default=None)
    # Why this complaint needs no CAPA (`csat feedback no-capa`), and when that was recorded.
    no_capa_reason: str = Field(default="", sa_column=Column(Text, nullable=False, default="", server_default=""))
    no_capa_at: Optional[datetime] = Field(default=None, sa_type=DateTime)
    # The archived log file the entry was imported (or last corrected) from, its sheet and row.
    source_file_id: Optional[int] = None    # SourceFile.id; no foreign key, see migration 0007
    source_sheet: str = Field(default="", max_length=200, sa_column_kwargs={"server_default": ""})
    source_row: Optional[int] = None


class SourceFile(SQLModel, table=True):
    """An imported file kept whole, under its SHA-256 (csat.store.sources): what the records came from.

    Written in the transaction of the import that read it; the same bytes are kept once.
    """

    __tablename__ = "source_file"

    id: Optional[int] = Field(default=None, primary_key=True)
    sha256: str = Field(unique=True, max_length=64)
    name: str = Field(max_length=500)                 # the file's name as given to the import
    size: int = Field(sa_type=BigInteger)
    media_type: str = Field(max_length=100)
    kind: str = Field(max_length=16)                  # responses, feedback, customers
    content: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    imported_at: datetime = Field(default_factory=now, sa_type=DateTime)
    actor: str = Field(max_length=100)
    host: str = Field(default="", max_length=255)


class Capa(SQLModel, table=True):
    """A corrective and preventive action report (ISO 9001 10.2)."""

    id: Optional[int] = Field(default=None, primary_key=True)
    number: str = Field(unique=True, max_length=32)
    source_kind: str = Field(max_length=16)  # item, feedback, other
    round_id: Optional[int] = Field(default=None, foreign_key="survey_round.id")
    item_id: Optional[int] = Field(default=None, foreign_key="item.id")
    feedback_id: Optional[int] = Field(default=None, foreign_key="feedback.id")
    title: str = Field(max_length=300)
    description: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    dept: str = Field(default="", max_length=64)
    due_date: Optional[date] = None
    root_cause: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    correction: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    corrective_action: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    preventive_action: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    status: str = Field(default="open", max_length=32)  # see csat.capa.records.STATUSES
    cancel_reason: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    created_at: datetime = Field(default_factory=now, sa_type=DateTime)
    updated_at: datetime = Field(default_factory=now, sa_type=DateTime)
    closed_at: Optional[datetime] = Field(default=None, sa_type=DateTime)


class CapaVerification(SQLModel, table=True):
    """One effectiveness check of a CAPA; every one is kept, the last one decides.

    verified_at is when the check was made: the time of entry, or for a record written
    after the fact the date the person states (at 00:00); entered_at is when it was
    typed into csat.
    """

    __tablename__ = "capa_verification"

    id: Optional[int] = Field(default=None, primary_key=True)
    capa_id: int = Field(foreign_key="capa.id", index=True)
    verified_at: datetime = Field(sa_type=DateTime)
    verified_by: str = Field(max_length=200)
    result: str = Field(max_length=16)  # effective, not-effective
    note: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    entered_at: datetime = Field(default_factory=now, sa_type=DateTime)


class QuarterSummary(SQLModel, table=True):
    """One version of a quarter's feedback summary, kept as made (reminders stop asking once one exists).

    `figures` is the summary's JSON exactly as `feedback summary --format json` printed it when
    made; '' for a summary made before csat kept records (0.7: only its counts and date were kept).
    """

    __tablename__ = "quarter_summary"

    id: Optional[int] = Field(default=None, primary_key=True)
    quarter: str = Field(index=True, max_length=8)
    version: int = Field(default=1)
    summarised_at: datetime = Field(default_factory=now, sa_type=DateTime)
    made_by: str = Field(default="", max_length=100)
    total: int = Field(default=0)
    complaints: int = Field(default=0)
    figures: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    __table_args__ = (UniqueConstraint("quarter", "version"),)


class Notice(SQLModel, table=True):
    """A staff notice sent once per key (e.g. the digest of one day)."""

    id: Optional[int] = Field(default=None, primary_key=True)
    key: str = Field(unique=True, max_length=100)
    kind: str = Field(max_length=32)
    status: str = Field(default="pending", max_length=16)
    recipients: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    body: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    sent_at: Optional[datetime] = Field(default=None, sa_type=DateTime)
    error: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))


class AuditLog(SQLModel, table=True):
    """Append-only trail of every change to records: who, when, what, old and new values."""

    __tablename__ = "audit_log"

    id: Optional[int] = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=now, index=True, sa_type=DateTime)
    actor: str = Field(max_length=100)
    # The machine the change came from: on a shared store the same OS user works on several.
    host: str = Field(default="", max_length=255)
    table_name: str = Field(max_length=64)
    record_id: Optional[int] = None
    record_key: str = Field(default="", max_length=200)
    action: str = Field(max_length=16)  # insert, update, delete, or a domain verb
    changes: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))  # JSON
    # The hash chain (csat.store.chain): SHA-256 hex of the entry before this one, and of this one.
    prev_hash: Optional[str] = Field(default=None, max_length=64)
    hash: Optional[str] = Field(default=None, max_length=64)
    __table_args__ = (Index("ix_audit_log_table_record", "table_name", "record_id"),)


class Setting(SQLModel, table=True):
    """One shared setting (a dotted csat.toml key such as mail.smtp_host), its value as JSON.

    Company settings live in the store so every machine on it behaves the same; csat.toml keeps
    only the store's address and what is truly per machine (csat.config.LOCAL_KEYS). `revision`
    is the settings revision (StoreState.settings_revision) at which the key was last set.
    """

    id: Optional[int] = Field(default=None, primary_key=True)
    key: str = Field(unique=True, max_length=200)
    value: str = Field(sa_column=Column(Text, nullable=False))
    revision: int = Field(default=0)
    updated_at: datetime = Field(default_factory=now, sa_type=DateTime)


class StoreState(SQLModel, table=True):
    """The store's own state, one row (id 1): the settings revision and the form-signing secret.

    Every form is signed with this secret, so a form sent from one machine imports on any other.
    The secret never reaches the audit trail, a report or `config show`.
    """

    __tablename__ = "store_state"

    id: Optional[int] = Field(default=None, primary_key=True)
    settings_revision: int = Field(default=0)
    secret: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=now, sa_type=DateTime)
