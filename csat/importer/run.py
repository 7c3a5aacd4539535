"""`csat import`: read every file, check every cell, then write all of it or nothing.

The order is chosen for safety first and speed second. Files are told apart
by content (a zip is a workbook whatever its name; a workbook with the signed
identity sheet is a returned form). Workbooks are parsed by a child process
(see csat.sheets.worker) that starts at once, so the guard's checks, opening
the store and loading customers and rounds run while it parses. Then one
write transaction (BEGIN IMMEDIATE) validates every response against the
store and, only if no file has a problem, stores them.
"""

from __future__ import annotations


import gc
import re
from collections import Counter
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from operator import attrgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

from csat.errors import CsatError
from csat.i18n import _
from csat.importer.validate import Problems

if TYPE_CHECKING:
    # Not imported at run time before start_reading has started the worker: context.py imports
    # numpy, which alone takes longer than the worker needs to start parsing.
    from csat.importer.context import Candidate, Context, Plan


@dataclass
class RoundSummary:
    """A round after the import. As in `csat report`: the response rate is invited customers who
    answered over customers invited, None when nobody was invited (a phone-only round)."""

    period: str
    opened: bool
    invited: int
    responded: int                   # invited customers with at least one response
    customers_answered: int          # customers with at least one response, invited or not
    response_rate: Optional[float]
    closed: bool = False             # the round is closed (an import opens the round of an ended half closed)


@dataclass
class SourceSummary:
    file: str
    kind: str            # form, sheet (xlsx, xls, ods or csv), or unreadable
    responses: int


@dataclass
class ResponseLine:
    """One response an import stored, replaced, found unchanged, left withdrawn, removed or refused:
    whose answers they were (customer code, period, respondent) and the file they came from."""

    customer: str
    period: str
    respondent: str
    status: str          # stored, replaced, unchanged, withdrawn (left withdrawn), removed, refused;
                         # a dry run also: differs, missing (a closed round's answers unlike the file's)
    file: str
    # A dry run: what the file says that the stored response does not ({"what", "stored", "file"}),
    # for responses it would replace or that differ from a closed round's.
    differences: list[dict[str, Any]] = field(default_factory=list)

    def record(self) -> dict[str, Any]:
        return {"customer": self.customer, "period": self.period, "respondent": self.respondent,
                "status": self.status, "file": self.file, "differences": list(self.differences)}


RESPONSE_STATUSES = ("stored", "replaced", "unchanged", "withdrawn", "removed", "refused", "differs", "missing")


@dataclass
class ImportReport:
    """What an import did (or, with dry_run, would do). `record()` is the JSON contract."""

    files: int = 0
    responses_new: int = 0
    responses_unchanged: int = 0
    responses_replaced: int = 0
    responses_withdrawn: int = 0     # the same answers as a withdrawn response: left withdrawn
    responses_removed: int = 0      # extra responses of a replaced form's invitation (see context.Plan.removed)
    answers_stored: int = 0
    # A dry run: responses whose answers differ from what their closed round holds, or that it lacks.
    responses_differing: int = 0
    problems: list[str] = field(default_factory=list)
    problem_count: int = 0          # every problem found, also those past the lines kept per file
    dry_run: bool = False
    rounds: list[RoundSummary] = field(default_factory=list)
    sources: list[SourceSummary] = field(default_factory=list)
    # Whose answers: every response read, with what happened to it (all "refused" when there were problems).
    # Built when first asked for (see `responses`): the summary of a 100,000-row sheet needs only counts.
    lines: Optional[list[ResponseLine]] = field(default=None, repr=False)
    # The import that stored them, to build `lines` from: (context, plan, candidates).
    planned: Optional[tuple] = field(default=None, repr=False, compare=False)

    @property
    def responses(self) -> list[ResponseLine]:
        if self.lines is None:
            self.lines = response_lines(*self.planned) if self.planned is not None else []
            self.planned = None
        return self.lines

    @responses.setter
    def responses(self, lines: list[ResponseLine]) -> None:
        self.lines, self.planned = lines, None

    def outcomes(self) -> dict[str, int]:
        """How many responses had each outcome (a status of ResponseLine), in the order of the first of each
        as read: what `responses` would count, without building a line per response when none were built."""
        if self.planned is None:
            return dict(Counter(line.status for line in self.responses))
        return outcome_counts(*self.planned)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def identical(self) -> bool:
        """Every response read is the one stored: nothing would be added, replaced or removed."""
        return (not self.problems and not self.responses_new and not self.responses_replaced
                and not self.responses_removed and not self.responses_differing)

    @property
    def main_round(self) -> Optional[RoundSummary]:
        return max(self.rounds, key=lambda summary: summary.period) if self.rounds else None

    @property
    def period(self) -> Optional[str]:
        return self.main_round.period if self.main_round else None

    @property
    def response_rate(self) -> Optional[float]:
        return self.main_round.response_rate if self.main_round else None

    def record(self) -> dict[str, Any]:
        return {**self.totals(), "responses": [line.record() for line in self.responses]}

    def totals(self) -> dict[str, Any]:
        """record() without the line per response (a summary of 100,000 responses needs no 100,000 dicts)."""
        return {
            "files": self.files, "responses_new": self.responses_new,
            "responses_unchanged": self.responses_unchanged, "responses_replaced": self.responses_replaced,
            "responses_withdrawn": self.responses_withdrawn, "responses_removed": self.responses_removed,
            "answers_stored": self.answers_stored, "responses_differing": self.responses_differing,
            "identical": self.identical, "problems": list(self.problems),
            "response_rate": self.response_rate, "period": self.period, "dry_run": self.dry_run,
            "rounds_opened": [summary.period for summary in self.rounds if summary.opened],
            "rounds": [asdict(summary) for summary in self.rounds],
            "sources": [asdict(source) for source in self.sources],
        }


def add_file_problem(problems: Problems, path: Path, exc: Exception) -> None:
    """A reader's error ("PATH: ..." or "PATH!PART: ...") as a problem line naming the file by its name."""
    message = str(exc)
    prefix = str(path)
    rest = message[len(prefix):] if message.startswith(prefix) else ": " + message
    if rest.startswith("!"):   # the colon after the place is the catalog's: `: ` in English, `：` in Chinese
        where, _, text = (re.split(r"(: |：)", rest[1:], maxsplit=1) + ["", ""])[:3]
        problems.add(f"{path.name}!{where}", text)
    else:
        problems.add(path.name, re.sub(r"^(: |：)", "", rest))


def round_summaries(context: Context, result: Plan, candidates: list[Candidate],
                    opened: list[str], close_ended: bool = True) -> list[RoundSummary]:
    """Invitations and responses per round touched, counting what this import adds."""
    from csat.importer.write import opens_closed

    periods = sorted(set(map(attrgetter("period"), candidates)))
    adding: dict[str, set[int]] = {}
    added = [*result.new, *(candidate for candidate, existing in result.replaced if existing.withdrawn)]
    if len(periods) == 1:       # a sheet of one period: its customers at once
        adding[periods[0]] = set(map(attrgetter("customer_id"), added))
    else:
        for candidate in added:
            adding.setdefault(candidate.period, set()).add(candidate.customer_id)
    summaries = []
    for period in periods:
        info = context.round_for(period)
        responding = ({customer_id for (customer_id, _), existing in info.existing.items() if not existing.withdrawn}
                      | adding.get(period, set()))
        invited = len(info.invitations)
        responded = len(responding & info.invitations.keys())
        opens = period in opened or info.opens
        summaries.append(RoundSummary(period=period, opened=opens, invited=invited,
                                      responded=responded, customers_answered=len(responding),
                                      response_rate=responded / invited if invited else None,
                                      closed=info.closed or (close_ended and opens and opens_closed(period))))
    return summaries


def _line(context: Context, candidate: Candidate, status: str, existing=None, names=None) -> ResponseLine:
    """`names` caches each source's file name: a sheet's 100,000 responses share one path."""
    respondent = candidate.respondent if existing is None else existing.respondent
    source = candidate.source_file if existing is None else (existing.source_file or existing.source)
    name = None if names is None else names.get(source)
    if name is None:
        name = Path(source).name if source else ""
        if names is not None:
            names[source] = name
    return ResponseLine(customer=context.code_of[candidate.customer_id], period=candidate.period,
                        respondent=respondent, status=status, file=name)


def response_lines(context: Context, result: Optional[Plan], candidates: list[Candidate],
                   compare: bool = False) -> list[ResponseLine]:
    """Every response of the import with its outcome, in reading order; without a plan (the import
    had problems, nothing is written) every response read is refused. `compare` (a dry run) names
    what differs in each response the import would replace or that differs from a closed round."""
    from csat.importer.differences import changes

    names: dict[str, str] = {}
    if result is None:
        return [_line(context, candidate, "refused", names=names) for candidate in candidates]
    differences: dict[int, list[dict[str, Any]]] = {}
    if compare:
        for candidate, existing in [*result.replaced, *result.differing]:
            if existing is not None:
                differences[id(candidate)] = changes(context, candidate, existing)
    status = {id(candidate): outcome for outcome, members in _outcome_lists(result).items() for candidate in members}
    removed: dict[int, list] = {}
    for candidate, existing in result.removed:
        removed.setdefault(id(candidate), []).append(existing)
    lines = []
    code_of = context.code_of
    for candidate in candidates:      # _line, inlined: a sheet has 100,000 of them
        key = id(candidate)
        outcome = status.get(key)
        if outcome is not None:
            source = candidate.source_file
            name = names.get(source)
            if name is None:
                name = names[source] = Path(source).name if source else ""
            lines.append(ResponseLine(code_of[candidate.customer_id], candidate.period, candidate.respondent,
                                      outcome, name, differences.get(key) or []))
        if removed:
            lines.extend(_line(context, candidate, "removed", existing, names) for existing in removed.get(key, ()))
    return lines


def _outcome_lists(result: Plan) -> dict[str, list[Candidate]]:
    """The candidates of each outcome of a plan (a candidate is in one list at most)."""
    return {"stored": result.new,
            "differs": [candidate for candidate, existing in result.differing if existing is not None],
            "missing": [candidate for candidate, existing in result.differing if existing is None],
            "unchanged": result.unchanged, "replaced": [candidate for candidate, _ in result.replaced],
            "withdrawn": [candidate for candidate, _ in result.withdrawn]}


def outcome_counts(context: Context, result: Plan, candidates: list[Candidate]) -> dict[str, int]:
    """response_lines(...) counted by status in order of first appearance, for a plan without problems or
    comparisons: every candidate is then in exactly one of the plan's lists, and a removed response's
    line follows the line of the form that removed it."""
    lists = {**_outcome_lists(result), "removed": [candidate for candidate, _ in result.removed]}
    counts = {status: len(members) for status, members in lists.items() if members}
    firsts = {id(members[0]): status for status, members in lists.items() if members and status != "removed"}
    first_removed = id(lists["removed"][0]) if lists["removed"] else None
    order: list[str] = []
    for candidate in candidates:
        key = id(candidate)
        status = firsts.pop(key, None)
        if status is not None:
            order.append(status)
        if key == first_removed:
            order.append("removed")
            first_removed = None
        if not firsts and first_removed is None:
            break
    return {status: counts[status] for status in order}


def read_sources(paths: list[Path], kinds: dict[Path, str], reader, refused: set[Path], context: Context,
                 secret_source, half: Optional[str], problems: Problems,
                 report: ImportReport, limits, early=None) -> list[Candidate]:
    """Candidates from every readable file, in the order given (`early`: see early.py)."""
    from csat.importer.forms import is_form, read_form
    from csat.importer.sheets import read_consolidated
    from csat.sheets.read import read_csv

    candidates: list[Candidate] = []
    for path in paths:
        kind = kinds.get(path)
        if kind is None or path in refused:
            report.sources.append(SourceSummary(file=path.name, kind="unreadable", responses=0))
            continue
        try:
            sheets = read_csv(path, limits) if kind == "csv" else reader.result(path)
        except CsatError as exc:
            add_file_problem(problems, path, exc)
            report.sources.append(SourceSummary(file=path.name, kind="unreadable", responses=0))
            continue
        if kind != "csv" and is_form(sheets):
            if early is not None:
                early.join()                  # reading a form queries the store
            candidate = read_form(path.name, str(path), sheets, context, secret_source(), half, problems)
            found = [candidate] if candidate else []
            kind = "form"
        else:
            found = read_consolidated(path.name, str(path), sheets, context, half, problems, early)
            kind = f"sheet ({kind})"
        report.sources.append(SourceSummary(file=path.name, kind=kind, responses=len(found)))
        candidates.extend(found)
    return candidates


def archive_sources(connection, paths: list[Path], kinds: dict[Path, str], report: ImportReport,
                    digests: dict[Path, str]) -> dict[str, Any]:
    """Keep every file the import read in the store's archive (csat.store.sources), in its transaction.

    Returns the archived file of each path, keyed as candidates name their source_file. The bytes
    are read again here, after the checks, and must hash as they did when the import first opened
    the file (`digests`): a file changed while it was being imported is refused, so the archive
    never holds bytes other than those the records were read from.
    """
    from csat.store.sources import archive, sha256_of

    archived: dict[str, Any] = {}
    for path, summary in zip(paths, report.sources):
        if summary.kind == "unreadable" or str(path) in archived:
            continue
        try:
            content = path.read_bytes()
        except OSError as exc:
            raise CsatError(_("{file}: cannot read it again to archive it ({error}); nothing was imported",
                              file=path.name, error=exc.strerror or exc)) from exc
        if digests.get(path) != sha256_of(content):
            raise CsatError(_("{file} changed while it was being imported; nothing was imported, import it again",
                              file=path.name))
        archived[str(path)] = archive(connection, content, path.name, "responses", kinds.get(path, ""))
    return archived


@contextmanager
def no_cyclic_gc():
    """Pause the cyclic garbage collector while millions of small acyclic objects are made.

    Cells, answers and statement parameters are tuples and lists without cycles,
    freed by reference counting; left on, the collector re-scans them all again
    and again as they pile up, which costs more than the validation itself.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            # Everything made meanwhile is still in the youngest generation: the collector's first
            # pass after enable() would scan millions of objects at once. Moved to the oldest
            # generation instead, they are looked at in its next full collection, as any survivor is.
            gc.freeze()
            gc.unfreeze()
            gc.enable()


def start_reading(paths: list[Path], lang: Optional[str] = None):
    """Start parsing the workbooks among paths in the background, before anything else is loaded.

    Only the first bytes of each file are looked at here (a zip or an OLE2 file is a workbook); sizes,
    the guard's checks and the workspace's limits come after, while the worker parses,
    and a file they refuse is dropped from the worker. `lang`: the language of the reader's
    refusals, when the caller starts it before the command line has chosen one (early_start.py).
    """
    from csat.forms.identity import IDENTITY_SHEET
    from csat.sheets.formats import OLE_MAGIC, ZIP_MAGIC
    from csat.sheets.guard import Limits
    from csat.sheets.read import WorkbookReader

    workbooks = []
    for path in dict.fromkeys(Path(path) for path in paths):
        try:
            if path.is_file():
                with open(path, "rb") as handle:
                    head = handle.read(8)
                if head[:4] == ZIP_MAGIC or head == OLE_MAGIC:
                    workbooks.append(path)
        except OSError:
            continue
    # Hidden sheets too: one holding answers is refused, not passed over unseen (unseen.py).
    return WorkbookReader(workbooks, Limits(), also=(IDENTITY_SHEET,), visible_only=False, lang=lang)


def run_import(workspace, paths: list[Path], half: Optional[str] = None, dry_run: bool = False,
               replace: bool = False, reading=None) -> ImportReport:
    """Import returned forms and consolidated sheets, all or nothing; see the module docstring.

    `reading` is what start_reading returned, when the caller started the parse earlier.
    """
    reader = reading if reading is not None else start_reading(paths)
    try:
        with no_cyclic_gc():
            return _run_import(workspace, paths, half, dry_run, replace, reader)
    finally:
        reader.close()


def _run_import(workspace, paths: list[Path], half: Optional[str], dry_run: bool, replace: bool,
                reader) -> ImportReport:
    from csat.sheets.formats import WORKBOOK_KINDS, check_workbook
    from csat.sheets.guard import Limits, UnsafeFile
    from csat.sheets.pieces import split_threshold
    from csat.sheets.read import sniff_kind

    limits = Limits.from_settings(workspace.settings)
    problems = Problems()
    report = ImportReport(dry_run=dry_run)
    unique = list(dict.fromkeys(Path(path) for path in paths))
    report.files = len(unique)
    kinds: dict[Path, str] = {}
    digests: dict[Path, str] = {}
    for path in unique:
        try:
            kinds[path] = sniff_kind(path, limits)
        except CsatError as exc:
            add_file_problem(problems, path, exc)
            continue
        if not dry_run:   # what the file held when the import opened it (see archive_sources)
            digests[path] = file_digest(path)
    refused: set[Path] = {path for path in reader.paths if kinds.get(path) not in WORKBOOK_KINDS}
    for path in unique:
        if kinds.get(path) not in WORKBOOK_KINDS:
            continue
        try:
            # A sheet big enough for the reader to cut into pieces is checked there, on the XML it inflates
            # anyway, and by what it read (WorkbookReader.defer): the guard leaves it to the reader.
            reader.defer(path, check_workbook(path, kinds[path], limits, defer_over=split_threshold()), limits)
        except UnsafeFile as exc:
            add_file_problem(problems, path, exc)
            refused.add(path)
    reader.drop(refused)
    return _import_checked(workspace, unique, kinds, reader, refused, half, dry_run, replace, problems,
                           report, limits, digests)


def file_digest(path: Path) -> str:
    """SHA-256 of a file's bytes, read in blocks."""
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _import_checked(workspace, paths, kinds, reader, refused, half, dry_run, replace, problems, report,
                    limits, digests) -> ImportReport:
    from csat.importer.context import Context, plan
    from csat.importer.early import EarlyAnswers
    from csat.importer.write import lock_responses, prepare_write, write_plan
    from csat.store.engine import open_store

    store = open_store(workspace)
    secrets: list[tuple[bytes, ...]] = []

    def secret() -> tuple[bytes, ...]:
        if not secrets:   # the store's key, and this folder's own from before the store held one
            secrets.append(workspace.verifying_secrets())
        return secrets[0]

    with store.session(bulk=True) as session:
        lock_responses(session)
        context = Context(session)
        context.date_order = workspace.settings.forms.date_order
        early = EarlyAnswers.for_session(session, context, dry_run)
        # The answers stored early (early.py) are done before anything else uses the connection (join:
        # one connection is not shared by two threads' statements), and on every way out (finally).
        try:
            candidates = read_sources(paths, kinds, reader, refused, context, secret, half, problems, report,
                                      limits, early)
            result = plan(context, candidates, replace, problems, dry_run=dry_run)
            # While the early thread may still be storing answers: what writing needs of the plan alone.
            prepared = None if problems or dry_run else prepare_write(session.connection(), context, result, early)
            if early is not None:
                early.join()
            if problems or dry_run:   # what the rounds would be; an import counts them once it has written
                report.rounds = round_summaries(context, result, candidates, [])
            if problems:
                report.problems = problems.report()
                report.problem_count = len(problems)
                report.responses = response_lines(context, None, candidates)
                session.rollback()
                return report
            if dry_run:    # its comparisons read what is stored: made now, while the session is open
                report.responses = response_lines(context, result, candidates, compare=True)
            else:
                report.planned = (context, result, candidates)
            report.responses_differing = len(result.differing)
            report.responses_new = len(result.new)
            report.responses_unchanged = len(result.unchanged)
            report.responses_replaced = len(result.replaced)
            report.responses_withdrawn = len(result.withdrawn)
            report.responses_removed = len(result.removed)
            report.answers_stored = result.answers
            if dry_run:
                session.rollback()
                return report
            archived = archive_sources(session.connection(), paths, kinds, report, digests)
            written = write_plan(session, context, result, due_days=workspace.settings.survey.due_days,
                                 early=early, sources=archived, prepared=prepared)
            report.answers_stored = written.answers_stored
            report.rounds = round_summaries(context, result, candidates, written.rounds_opened)
        finally:
            if early is not None:
                early.stop()
    return report
