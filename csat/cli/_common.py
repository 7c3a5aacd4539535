"""What every command shares: options, consoles, output formats, error handling.

This is the one place that turns a CsatError into `Error: ...` on stderr and
exit code 1; usage mistakes are typer.BadParameter (exit 2). Data goes to
stdout, messages to stderr, so `csat ... --format json | jq` always works.
"""

from __future__ import annotations

import functools

import json
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Callable, Optional

import typer
from typer.core import TyperGroup

from csat.i18n import N_, _
from csat.terminal_text import printable


class ListFormat(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"


class ShowFormat(str, Enum):
    table = "table"
    json = "json"


class Lang(str, Enum):
    en = "en"
    zh = "zh"


Home = Annotated[
    Optional[Path],
    typer.Option("--home", help="Workspace folder (default: CSAT_HOME, else the current folder or a parent with csat.toml).",
                 show_default=False, file_okay=False),
]
Format = Annotated[ListFormat, typer.Option("--format", "-f", help="Output format.")]
ShowFormatOption = Annotated[ShowFormat, typer.Option("--format", "-f", help="Output format.")]
LangOption = Annotated[Optional[Lang], typer.Option("--lang", help="Language: en or zh (default: the workspace's).")]
Reason = Annotated[Optional[str], typer.Option("--reason", help="Why this change is made (kept in the audit trail).",
                                               show_default=False)]


# Set by the `csat` command (csat.cli.main), which ends its process with os._exit: see keep_until_exit.
_kept: Optional[list] = None


def keep_until_exit(value: Any) -> None:
    """Hold a large result (an import's 100,000 responses) until the process ends.

    The `csat` command ends without freeing its objects one by one (csat.cli._leave); a result
    dropped when its command returns would still be freed that way first, a few hundredths of a
    second for nothing. Where the command runs inside a longer process (a test), nothing is held.
    """
    if _kept is not None:
        _kept.append(value)


def hold_results_until_exit() -> None:
    global _kept
    _kept = []


def require_reason(reason: Optional[str], what: str) -> str:
    """The --reason text, or a usage error (exit 2) saying what needs one."""
    if not reason or not reason.strip():
        raise typer.BadParameter(_("{what} needs a reason: add --reason TEXT (kept in the audit trail)", what=what),
                                 param_hint="--reason")
    return reason.strip()


class _State:
    home: Optional[Path] = None


state = _State()


def console(stderr: bool = False, **options: Any):
    """A rich console that shows text from records as it is: no markup emoji, no control characters.

    Every string it draws (table cells included) passes through csat.terminal_text.printable, so an
    escape sequence in a customer name never reaches the terminal; `:warning:` in a comment stays text.
    """
    options.setdefault("highlight", False)
    return _records_console_class()(stderr=stderr, emoji=False, **options)


@functools.cache
def _records_console_class():
    # The Console subclass behind console(), defined once (rich loads only when something is printed).
    from rich.console import Console

    class RecordsConsole(Console):
        def render_str(self, text: str, **kwargs: Any):
            return super().render_str(printable(text), **kwargs)

    return RecordsConsole


def _stderr_console():
    return console(stderr=True, soft_wrap=True)


def _stdout_console():
    return console()


def say(message: str) -> None:
    """A message for the person at the terminal (stderr, so stdout stays data); shown as plain text."""
    _stderr_console().print(message, markup=False)


def say_styled(markup: str) -> None:
    """A message with rich markup (colours); every piece of data in it must go through escape_markup."""
    _stderr_console().print(markup)


def fail(message: str, code: int = 1) -> None:
    """Print one error line and exit."""
    from rich.markup import escape

    label = escape(_("Error:"))
    _stderr_console().print(f"[bold red]{label}[/] {escape(message)}")
    raise typer.Exit(code)


def parse_or_usage(parse: Callable[[str], Any], text: Optional[str], option: str) -> Any:
    """Parse an option value, turning ValueError into a usage error (exit 2) naming the option."""
    if text is None:
        return None
    try:
        return parse(text)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint=option) from None


def workspace(home: Optional[Path] = None):
    from csat.config import Workspace

    return Workspace.open(home or state.home)


def workspace_and_store(home: Optional[Path] = None):
    from csat.store.engine import open_store

    opened = workspace(home)
    return opened, open_store(opened)


def write_stdout(text: str) -> None:
    """UTF-8 to stdout, whatever the locale (CSV needs its BOM intact); control characters made
    visible when stdout is a terminal (a CSV or Markdown of records read on screen)."""
    if sys.stdout.isatty():
        text = printable(text)
    sys.stdout.flush()
    buffer = getattr(sys.stdout, "buffer", None)
    if buffer is not None:
        buffer.write(text.encode("utf-8"))
        buffer.flush()
    else:
        sys.stdout.write(text)


def to_json(data: Any) -> str:
    def default(value):
        if hasattr(value, "isoformat"):
            return value.isoformat()
        if isinstance(value, Path):
            return str(value)
        raise TypeError(f"not JSON serialisable: {type(value).__name__}")

    return json.dumps(data, ensure_ascii=False, indent=2, default=default) + "\n"


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, float):
        return f"{value:.2f}".rstrip("0").rstrip(".") if not value.is_integer() else f"{value:.0f}"
    if hasattr(value, "isoformat"):
        return value.isoformat(sep=" ") if hasattr(value, "hour") else value.isoformat()
    if isinstance(value, (list, tuple)):
        return ", ".join(_cell(part) for part in value)
    return str(value)


def emit(records: list[dict[str, Any]], columns: list[tuple[str, str]], fmt: Any,
         title: Optional[str] = None, empty: str = N_("nothing to show")) -> None:
    """Show records as a rich table, JSON (all keys) or CSV with a BOM (the given columns).

    Headings, title and the empty line are catalog messages (marked with N_ where they are
    defined) and are shown in the staff language; CSV and JSON keep the keys.
    """
    fmt = getattr(fmt, "value", fmt)
    if fmt == "json":
        write_stdout(to_json(records))
        return
    if fmt == "csv":
        from csat.sheets.write import csv_text

        columns = _with_label_columns(records, columns)

        rows = ([record.get(key) if not isinstance(record.get(key), bool) else str(record.get(key)).lower()
                 for key, _heading in columns] for record in records)
        write_stdout(csv_text([key for key, _heading in columns], rows))
        return
    if not records:
        say_styled(f"[dim]{escape_markup(_(empty))}[/]")
        return
    from rich.table import Table

    table = Table(title=_(title) if title else None, header_style="bold", title_justify="left")
    for _key, heading in columns:
        table.add_column(_(heading), overflow="fold")
    for record in records:
        table.add_row(*(escape_markup(_cell(_shown(record, key))) for key, _heading in columns))
    _stdout_console().print(table)


# Codes are a machine's words: a person reads `<key>_label` (csat.vocabulary) where the record has it.
LABEL_SUFFIX = "_label"


def _shown(record: dict[str, Any], key: str) -> Any:
    """What a table cell shows: the word for a coded field when the record carries it, else the value."""
    label = record.get(key + LABEL_SUFFIX)
    return label if label not in (None, "") else record.get(key)


def _with_label_columns(records: list[dict[str, Any]], columns: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """CSV keeps the codes and adds each `<key>_label` right after its code column."""
    present = set(records[0]) if records else set()
    widened = []
    for key, heading in columns:
        widened.append((key, heading))
        if key + LABEL_SUFFIX in present:
            widened.append((key + LABEL_SUFFIX, heading))
    return widened


def escape_markup(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def show_record(record: dict[str, Any], fmt: Any, labels: Optional[dict[str, str]] = None) -> None:
    """One record as key/value lines or JSON; labels (catalog messages) name the keys people read."""
    if getattr(fmt, "value", fmt) == "json":
        write_stdout(to_json(record))
        return
    from rich.table import Table

    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for key in record:
        if key.endswith(LABEL_SUFFIX) and key[: -len(LABEL_SUFFIX)] in record:
            continue
        table.add_row(_((labels or {}).get(key, key)), escape_markup(_cell(_shown(record, key))))
    _stdout_console().print(table)


def _describe_unexpected(exc: BaseException) -> Optional[str]:
    """One line for errors that are the environment's, not a bug's (locked store, full disk)."""
    module = type(exc).__module__
    if module.startswith("sqlalchemy") or module == "sqlite3":   # sqlite3: the importer's raw bulk writes
        original = getattr(exc, "orig", None) or exc
        text = str(original).splitlines()[0]
        if "locked" in text:
            return _("the store is busy (another csat is writing): {error}; try again", error=text)
        if "readonly" in text or "read-only" in text:
            return _("the store is read-only: {error}", error=text)
        if any(sign in text for sign in ("disk is full", "disk I/O error", "No space left", "could not extend")):
            # SQLite says "disk I/O error" when a write hits the file size limit; the transaction rolled back.
            return _("the store could not be written (is the disk full?): {error}; nothing of this change was"
                     " stored", error=text)
        return _("database error: {error}", error=text)
    if isinstance(exc, PermissionError):
        return _("permission denied: {path}", path=exc.filename or exc)
    if isinstance(exc, OSError) and exc.errno is not None:
        return f"{exc.strerror}: {exc.filename}" if exc.filename else str(exc)
    return None


def _name_the_command(group, ctx) -> None:
    """Tell the store which command runs ("survey send"), so others waiting for our locks can say so."""
    from csat.store import locking

    words = [*getattr(ctx, "_protected_args", []), *ctx.args]
    locking.command = ""
    if not words or words[0].startswith("-"):
        return
    named = [words[0]]
    command = group.get_command(ctx, words[0])
    if command is not None and hasattr(command, "list_commands") and len(words) > 1 \
            and words[1] in command.list_commands(ctx):
        named.append(words[1])
    locking.command = " ".join(named)


def _refuse_undecodable(args: list[str], parent) -> None:
    """A usage error for an argument that is not text in the terminal's encoding.

    Python keeps such bytes as lone surrogates; stored, they would fail later (an invalid byte
    in a customer name or a complaint's text), so the command stops before it starts.
    """
    for position, arg in enumerate(args, start=1):
        bad = next((char for char in arg if "\udc80" <= char <= "\udcff"), None)
        if bad is not None:
            shown = arg.encode("utf-8", "surrogateescape").decode("ascii", "backslashreplace")
            raise typer.BadParameter(_("argument {position} is not UTF-8 text (byte 0x{byte:02x} in \"{text}\"); "
                                       "check the terminal's encoding", position=position, byte=ord(bad) - 0xDC00,
                                       text=shown[:60]))


class CsatGroup(TyperGroup):
    """Root command group: speaks the workspace's language; turns domain errors into one line and exit 1."""

    def main(self, args=None, *rest, **options):
        from csat.cli._language import choose, translate_help
        from csat.i18n import language, set_language

        previous = language()   # one run's language; a caller in the same process (tests) keeps its own
        try:
            choose(sys.argv[1:] if args is None else list(args))
            translate_help(self)
            return super().main(args, *rest, **options)
        finally:
            set_language(previous)

    def make_context(self, info_name, args, parent=None, **extra):
        from csat.cli._usage import UsageError, translated

        _refuse_undecodable(args, parent)
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except UsageError as exc:   # `csat --bogus`: Click's English, told again from the catalog
            raise translated(exc) from exc.__cause__

    def invoke(self, ctx):
        from csat.cli._usage import UsageError, translated
        from csat.errors import CsatError

        _name_the_command(self, ctx)
        try:
            return super().invoke(ctx)
        except UsageError as exc:   # a sub-command's usage mistake, raised while its options are parsed
            raise translated(exc) from exc.__cause__
        except CsatError as exc:
            fail(str(exc), exc.exit_code)
        except Exception as exc:  # noqa: BLE001 - only known environment errors are turned into lines
            message = _describe_unexpected(exc)
            if message is None:
                raise
            fail(message)
