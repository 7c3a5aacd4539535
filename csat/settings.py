"""The typed shape of csat.toml.

Every known key lives here with its type and default, so `csat config set`
can validate a value before writing it and every command reads settings the
same way. Unknown sections or keys are refused: a typo in csat.toml should
not silently fall back to a default.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from csat.i18n import _


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True, populate_by_name=True)


class CompanySettings(_Section):
    name: str = "Our Company"
    # The company's name for English-language customers (e-mails, forms, the sender); empty: `name`.
    name_en: str = ""
    lang: Literal["en", "zh"] = "en"
    contact: str = ""

    def name_for(self, language: str | None) -> str:
        """The company's name as a customer of this language reads it."""
        return (self.name_en or self.name) if language == "en" else self.name


class StoreSettings(_Section):
    url: str = "sqlite:///csat.db"
    # The environment variable holding the PostgreSQL password ("" : PGPASSWORD or ~/.pgpass, read by libpq).
    password_env: str = ""
    # Seconds a command waits for a lock another csat holds on a PostgreSQL store before it gives up.
    lock_timeout: float = Field(default=30, gt=0)


class MailSettings(_Section):
    smtp_host: str = ""
    smtp_port: int = Field(default=587, ge=1, le=65535)
    security: Literal["starttls", "ssl", "none"] = "starttls"
    username: str = ""
    password_env: str = "CSAT_SMTP_PASSWORD"
    sender: str = "quality@example.com"
    sender_name: str = ""
    reply_to: str = ""
    timeout: float = Field(default=30.0, gt=0)
    ca_file: str = ""  # PEM certificate of a private CA that signed the SMTP server's certificate


class SurveySettings(_Section):
    due_days: int = Field(default=30, ge=1)
    action_limit: float = Field(default=85.0, ge=0)
    margin: float = Field(default=3.0, ge=0)
    top_box: float = Field(default=90.0, ge=0)
    response_target: float = Field(default=0.6, ge=0, le=1)


# The lowest action limit the procedure allows, on a 0-100 scale: a company may raise it, never lower.
PROCEDURE_MIN_ACTION_LIMIT = 85.0


class ProcedureSettings(_Section):
    # Every item's action limit is at least this, on a 0-100 scale; on another scale it applies in
    # proportion: low + (high - low) * min_action_limit / 100 (85 on 0-100 is 4.4 on 1-5).
    min_action_limit: float = PROCEDURE_MIN_ACTION_LIMIT

    @field_validator("min_action_limit")
    @classmethod
    def _not_below_procedure(cls, value: float) -> float:
        if value < PROCEDURE_MIN_ACTION_LIMIT or value > 100:
            raise ValueError(_("{value:g} is not allowed: the procedure's minimum action limit is between"
                               " {least:g} and 100 (a company may raise it, never lower it)",
                               value=value, least=PROCEDURE_MIN_ACTION_LIMIT))
        return value


def least_limit(minimum: float, low: float = 0.0, high: float = 100.0) -> float:
    """The lowest action limit allowed on the scale low-high: the minimum (0-100) in proportion."""
    return round(low + (high - low) * minimum / 100.0, 6)


def limit_problem(limit: float, minimum: float, low: float = 0.0, high: float = 100.0) -> str | None:
    """Why an action limit breaks the procedure's minimum (None when it does not), in one phrase."""
    least = least_limit(minimum, low, high)
    if limit >= least - 1e-9:
        return None
    if (low, high) == (0.0, 100.0):
        return _("action limit {limit:g} is below the procedure's minimum {least:g}"
                 " ([procedure] min_action_limit)", limit=limit, least=least)
    return _("action limit {limit:g} is below the procedure's minimum {least:g} on the scale {low:g}-{high:g}"
             " ({low:g} + ({high:g} - {low:g}) x {minimum:g}%, [procedure] min_action_limit)",
             limit=limit, least=least, low=low, high=high, minimum=minimum)


class ReportSettings(_Section):
    # An item with fewer counted answers is marked a small sample: its mean and interval say little.
    min_n: int = Field(default=5, ge=1)
    # What the table, HTML and Markdown show (the xlsx and JSON carry every customer and comment).
    lowest_customers: int = Field(default=10, ge=0)
    comments: int = Field(default=30, ge=0)


class FormsSettings(_Section):
    # How a respondent's 10/07/2024 is read on a returned form: dmy, mdy, or auto (only when the
    # day tells, e.g. 25/07/2024; else the date is kept as written, with the comment).
    date_order: Literal["auto", "dmy", "mdy"] = "auto"


class ImportSettings(_Section):
    max_file_mb: float = Field(default=50.0, gt=0)
    max_unpacked_mb: float = Field(default=500.0, gt=0)
    max_zip_entries: int = Field(default=10_000, ge=1)


class FeedbackSettings(_Section):
    reply_days: int = Field(default=2, ge=0)
    unresolved_days: int = Field(default=30, ge=1)
    special_attention: int = Field(default=3, ge=1)
    # Public holidays that are not working days when counting the reply time (weekends never are).
    # Kept as ISO text so every reader (numpy, JSON, `csat config get`) takes it as is.
    holidays: list[str] = Field(default_factory=list)

    @field_validator("holidays", mode="before")
    @classmethod
    def _iso_dates(cls, value):
        return _iso_days(value)


def _iso_days(value):
    if not isinstance(value, list):
        raise ValueError(_("expected a list of dates, e.g. [2024-10-01, 2024-10-02]"))
    days = []
    for day in value:
        try:
            days.append(day.isoformat() if isinstance(day, date) else date.fromisoformat(str(day)).isoformat())
        except ValueError:
            raise ValueError(_("{day} is not a date (YYYY-MM-DD)", day=repr(day))) from None
    return days


class CalendarSettings(_Section):
    # Whose working days count for reply deadlines (csat.workdays): auto (China for a zh
    # workspace, else Monday to Friday), CN, another ISO country code, or none.
    country: str = "auto"
    # The company's own closing days (factory shutdown), on top of the country's holidays.
    closing_days: list[str] = Field(default_factory=list)

    @field_validator("country")
    @classmethod
    def _known_country(cls, value: str) -> str:
        from csat.workdays import valid_country

        return valid_country(value)

    @field_validator("closing_days", mode="before")
    @classmethod
    def _iso_dates(cls, value):
        return _iso_days(value)


# Which department owns a CAPA by default: by survey item code, and by feedback kind.
DEFAULT_ITEM_DEPARTMENTS = {
    "quality": "quality", "delivery": "materials", "price": "sales", "responsiveness": "sales",
    "tech_support": "engineering", "after_sales": "engineering", "communication": "sales",
    "complaint_handling": "quality",
}
DEFAULT_KIND_DEPARTMENTS = {
    "quality": "quality", "requirement": "sales", "contract": "sales", "market": "sales",
    "conduct": "sales", "service": "engineering", "other": "quality",
}


class CapaSettings(_Section):
    due_days: int = Field(default=30, ge=1)
    default_dept: str = "quality"
    item_departments: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_ITEM_DEPARTMENTS))
    kind_departments: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_KIND_DEPARTMENTS))

    # A mapping in csat.toml changes the keys it names; the others keep their defaults.
    @field_validator("item_departments")
    @classmethod
    def _over_item_defaults(cls, value: dict[str, str]) -> dict[str, str]:
        return DEFAULT_ITEM_DEPARTMENTS | value

    @field_validator("kind_departments")
    @classmethod
    def _over_kind_defaults(cls, value: dict[str, str]) -> dict[str, str]:
        return DEFAULT_KIND_DEPARTMENTS | value


class RemindSettings(_Section):
    remind_after: int = Field(default=10, ge=0)
    remind_every: int = Field(default=7, ge=1)
    max_reminders: int = Field(default=2, ge=0)
    staff: list[str] = Field(default_factory=list)


class RecordsSettings(_Section):
    # Record control (ISO 9001 7.5.3, the procedure's clause 4.5): how long survey rounds, feedback and
    # closed CAPAs are kept; `csat records purge` never removes a record younger than this.
    keep_years: int = Field(default=3, ge=1)


class Department(_Section):
    en: str
    zh: str = ""


DEFAULT_DEPARTMENTS: dict[str, Department] = {
    code: Department(en=en, zh=zh)
    for code, en, zh in [
        ("gm", "General Manager's Office", "总经理办公室"),
        ("finance", "Finance", "财务部"),
        ("sales", "Sales", "业务部"),
        ("purchasing", "Purchasing", "采购部"),
        ("materials", "Materials Control", "物控部"),
        ("hr", "Human Resources", "人力资源部"),
        ("general_affairs", "General Affairs", "总务部"),
        ("production", "Production", "生产部"),
        ("quality", "Quality", "品质部"),
        ("engineering", "Process Engineering", "工程部"),
    ]
}


class Settings(_Section):
    company: CompanySettings = Field(default_factory=CompanySettings)
    store: StoreSettings = Field(default_factory=StoreSettings)
    mail: MailSettings = Field(default_factory=MailSettings)
    survey: SurveySettings = Field(default_factory=SurveySettings)
    report: ReportSettings = Field(default_factory=ReportSettings)
    procedure: ProcedureSettings = Field(default_factory=ProcedureSettings)
    import_: ImportSettings = Field(default_factory=ImportSettings, alias="import")
    forms: FormsSettings = Field(default_factory=FormsSettings)
    feedback: FeedbackSettings = Field(default_factory=FeedbackSettings)
    calendar: CalendarSettings = Field(default_factory=CalendarSettings)
    capa: CapaSettings = Field(default_factory=CapaSettings)
    remind: RemindSettings = Field(default_factory=RemindSettings)
    records: RecordsSettings = Field(default_factory=RecordsSettings)
    departments: dict[str, Department] = Field(default_factory=lambda: dict(DEFAULT_DEPARTMENTS))

    def department_name(self, code: str, lang: str = "en") -> str:
        department = self.departments.get(code)
        if department is None:
            return code
        return (department.zh or department.en) if lang == "zh" else department.en

    def resolve_department(self, text: str) -> str:
        """Map a department code or name (either language) to its code."""
        from csat.vocabulary import parse_department

        return parse_department(self, text)
