"""The one rule for due dates: a due date is after the record's own date.

A survey round is due after the day it opened, a CAPA after the day it was
opened: a due date on or before that day would make a record overdue the
moment it exists, or (for a round) send customers a deadline that has passed.
Every place that takes a due date (`survey open --due`, `survey extend --due`,
`capa open --due`, `capa update --due`) checks it here, so the rule is one.
"""

from __future__ import annotations

from datetime import date

from csat.errors import CsatError
from csat.i18n import _


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
