"""The one rule for due dates: a due date is after the record's own date.

A survey round is due after the day it opened, a CAPA after the day it was
opened: a due date on or before that day would make a record overdue the
moment it exists, or (for a round) send customers a deadline that has passed.
Every place that takes a due date (`survey open --due`, `survey extend --due`,
`capa open --due`, `capa update --due`) checks it here, so the rule is one.
"""

from __future__ import annotations

import re
from datetime import date

from csat.errors import CsatError
from csat.i18n import _, in_language, language

# A respondent's date that is not one (7月上旬) is kept with the response's comment under this
# marker. The marker is a code, stored the same whatever language imported the form (so the
# same form imported again compares equal, and records imported before stay as they are);
# people read it in their own language through shown_comment().
DATE_AS_WRITTEN = "date as written"
_AS_WRITTEN = re.compile(r"\[" + DATE_AS_WRITTEN + r": (?P<text>[^\]\n]*)\]")


class DueDateError(CsatError):
    """A due date on or before the date of the record it belongs to."""


def require_due_after(due: date, own: date, what: str) -> date:
    """Return `due` when it is after `own`, the record's own date; else raise DueDateError.

    `what` names that date in the message, e.g. "the day the 2024H1 round opened" gives
    "due date 2024-07-31 must be after the day the 2024H1 round opened (2026-11-30)".
    """
    if due <= own:
        raise DueDateError(_("due date {due} must be after {what} ({own})", due=due.isoformat(), what=what,
                             own=own.isoformat()))
    return due


def with_date_as_written(comment: str, written: str) -> str:
    """A response's comment with the respondent's date as written added under the stored marker."""
    return "\n".join(part for part in (comment, f"[{DATE_AS_WRITTEN}: {written}]") if part)


def shown_comment(comment: str | None, lang: str | None = None) -> str | None:
    """A stored comment as a person reads it: the date-as-written marker in their language (default: now's)."""
    if not comment or "[" + DATE_AS_WRITTEN not in comment:
        return comment
    lang = lang or language()
    return _AS_WRITTEN.sub(lambda found: in_language(lang, "[date as written: {date}]", date=found["text"]), comment)
