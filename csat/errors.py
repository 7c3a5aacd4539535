"""Errors a user can act on.

Their messages come from the catalog (csat.i18n) in the staff language.

The core raises these with a message that says what and where; the CLI turns
them into one line on stderr and exit code 1. Anything else is a bug.
"""


from csat.i18n import ngettext


class CsatError(Exception):
    """A problem the user can fix; the message is shown as is."""

    exit_code = 1


class WorkspaceNotFound(CsatError):
    """No csat.toml here or above, and no --home / CSAT_HOME."""


class ConfigError(CsatError):
    """csat.toml is malformed or a value has the wrong type."""


class StoreError(CsatError):
    """The database cannot be opened, or its schema does not match."""


class NotFound(CsatError):
    """A record named by the user does not exist."""


class Conflict(CsatError):
    """The change would contradict a record that exists."""


class ValidationFailed(CsatError):
    """Input has problems; each one is listed, nothing was written."""

    def __init__(self, problems: list[str], summary: str | None = None):
        self.problems = list(problems)
        count = len(self.problems)
        head = summary or ngettext("{n} problem found, nothing written", "{n} problems found, nothing written", count)
        super().__init__(head if not self.problems else head + ":\n" + "\n".join(self.problems))


class ReasonRequired(CsatError):
    """A change the procedure wants explained (a limit, a due date, a closure) was asked for without --reason.

    A usage mistake found only once the store is read: exit 2, like a missing option.
    """

    exit_code = 2
