"""Random spreadsheets for the import readers, and the one property every one of them must keep.

Shared by tests/test_fuzz_import.py (a bounded hypothesis run in the suite) and fuzz/import_target.py
(the long run, atheris-guided when installed). A case is a consolidated sheet (xlsx or csv) or a signed
form filled with random cell values and types in random shapes, optionally with bytes of its sheet XML
mutated. The property: `run_import` either reports problems (CsatError-style lines, store unchanged) or
imports, and what it stored is what the cells said; it never raises anything but CsatError.
"""

from __future__ import annotations

import itertools
import math
import tempfile
import zipfile
from datetime import date, datetime
from pathlib import Path

from hypothesis import strategies as st

CODES = [f"C-{number:03d}" for number in range(1, 11)]
ITEMS = ["quality", "delivery", "price", "responsiveness", "tech_support", "after_sales", "communication",
         "complaint_handling"]
HEADERS = ["customer", "respondent", "period", "comment", "Customer", "客户", "", None, "quality ", "x"]

text = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["N/A", "不适用", "９０", "92,5", "1,000", "1e2", "9_0", " 88 ", "=1+1", "+cmd|' /C calc'!A0",
                     "@SUM(A1)", "-5", "100.0000001", "nan", "inf", "\x00", "_x0000_", "\u202e90", "٩٠", "C-001",
                     "<script>", "{{ 7*7 }}", "\r\n", "\x1b]8;;http://x\x1b\\"]),
)
value = st.one_of(
    st.none(), st.integers(-10**12, 10**12), st.floats(allow_nan=True, allow_infinity=True), st.booleans(),
    st.dates(date(1900, 3, 1), date(9999, 12, 31)),
    st.datetimes(datetime(1900, 3, 1), datetime(9999, 12, 31)), st.times(), text,
)
# XML fragments the byte mutations splice into a sheet (what a hostile or broken writer would put there).
FRAGMENTS = [b'<row r="1048576">', b'<c r="XFD1" t="s"><v>99</v></c>', b' t="s"', b' t="inlineStr"', b" t=\"b\"",
             b"<f>1+1</f>", b'<f t="shared" si="0"/>', b' hidden="1"', b'<mergeCell ref="A1:C3"/>', b"<v>1e308</v>",
             b"<v>-0</v>", b"<v>NaN</v>", b'<c r="A1">', b"</row>", b"<is><t>x</t></is>", b"&amp;", b"&#0;",
             b'<col min="1" max="16384" hidden="1"/>', b'<c r="B0"><v>1</v></c>', b"\xff\xfe", b""]


@st.composite
def consolidated(draw):
    """(kind, header, rows) of a consolidated sheet in a random shape."""
    items = draw(st.lists(st.sampled_from(ITEMS), min_size=0, max_size=4, unique=True))
    extra = draw(st.lists(st.sampled_from(HEADERS), max_size=2))
    header = ["customer", *items, *extra]
    if draw(st.booleans()):
        header = draw(st.permutations(header))
    width = len(header) + draw(st.integers(0, 1))
    rows = []
    for _ in range(draw(st.integers(0, 6))):
        row = [draw(st.one_of(st.sampled_from(CODES), value)) if name == "customer" else draw(value)
               for name in header]
        rows.append(row + [draw(value) for _ in range(width - len(header))])
    return draw(st.sampled_from(["xlsx", "csv"])), list(header), rows


@st.composite
def form_answers(draw):
    """(customer, {item: value}, {field: value}) for a form."""
    code = draw(st.sampled_from(CODES[:5]))
    scores = {item: draw(value) for item in draw(st.lists(st.sampled_from(ITEMS), max_size=8, unique=True))}
    fields = {name: draw(value) for name in draw(st.lists(st.sampled_from(["overall", "respondent", "title", "day"]),
                                                          max_size=4, unique=True))}
    return code, scores, fields


mutations = st.lists(st.tuples(st.integers(0, 10**6), st.sampled_from(FRAGMENTS), st.integers(0, 8)), max_size=3)
cases = st.one_of(st.tuples(st.just("sheet"), consolidated(), mutations),
                  st.tuples(st.just("form"), form_answers(), mutations))


def _cell(value):
    """A value as openpyxl would store it, text that would become a formula written as text."""
    if isinstance(value, str):
        value = "".join(ch for ch in value if ch in "\t\n\r" or ord(ch) >= 32)    # openpyxl refuses control chars
        value = value.replace("\ufffe", "").replace("\uffff", "")
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 2**53:
        return str(value)
    return value


def write_xlsx(path: Path, header: list, rows: list) -> Path:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Responses"
    for row_number, row in enumerate([header, *rows], start=1):
        for column_number, raw in enumerate(row, start=1):
            cell = sheet.cell(row=row_number, column=column_number, value=_cell(raw))
            if isinstance(cell.value, str):
                cell.data_type = "s"          # "=1+1" stays text, as a customer typing it in a text cell
    workbook.save(path)
    return path


def write_csv(path: Path, header: list, rows: list) -> Path:
    import csv

    with open(path, "w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        for row in [header, *rows]:
            writer.writerow(["" if raw is None else str(raw).replace("\x00", "") for raw in row])
    return path


def mutate(path: Path, changes: list[tuple[int, bytes, int]]) -> Path:
    """Splice fragments into the first worksheet's XML (replacing `cut` bytes at each position)."""
    if not changes or path.suffix != ".xlsx":
        return path
    with zipfile.ZipFile(path) as archive:
        entries = [(info.filename, archive.read(info)) for info in archive.infolist()]
    out = []
    for name, data in entries:
        if name == "xl/worksheets/sheet1.xml":
            for position, fragment, cut in changes:
                at = position % (len(data) + 1)
                data = data[:at] + fragment + data[at + cut:]
        out.append((name, data))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in out:
            archive.writestr(name, data)
    return path


class Bench:
    """A workspace with customers, a round and invitations; imports one case at a time into fresh periods."""

    def __init__(self, root: Path):
        import sys

        here = Path(__file__).resolve().parent.parent / "tests"
        if str(here) not in sys.path:
            sys.path.insert(0, str(here))
        from import_fixtures import (
            import_customers,
            open_round_with_invitations,
            round_layout,
        )

        from csat.config import Workspace
        from csat.store.engine import open_store
        from csat.workspace import create

        create(root, company="Fuzz Co.", lang="en")
        self.workspace = Workspace.open(root)
        self.store = open_store(self.workspace)
        import_customers(self.store, Path(__file__).resolve().parent.parent / "examples" / "customers.csv")
        self.tokens = open_round_with_invitations(self.store, "2024H1")
        self.layouts = {code: round_layout(self.store, "2024H1", code, token) for code, token in self.tokens.items()}
        self.folder = Path(tempfile.mkdtemp(prefix="cases-", dir=root))
        self._periods = (f"{year}H{half}" for year in itertools.count(1900) for half in (1, 2))
        self._count = itertools.count()

    def build(self, case) -> tuple[Path, str | None]:
        """The file of a case, and the --half to import it with (None for a form)."""
        kind, data, changes = case
        number = next(self._count)
        if kind == "sheet":
            file_kind, header, rows = data
            path = self.folder / f"sheet-{number}.{file_kind}"
            (write_xlsx if file_kind == "xlsx" else write_csv)(path, header, rows)
            return mutate(path, changes), next(self._periods)
        from import_fixtures import write_form

        code, scores, fields = data
        layout = self.layouts[code]
        path = write_form(self.folder / f"form-{number}.xlsx", layout, self.workspace.secret())
        from openpyxl import load_workbook

        workbook = load_workbook(path)
        sheet = workbook[layout.identity.sheet]
        addresses = {"overall": layout.identity.overall_comment, "respondent": layout.identity.respondent,
                     "title": layout.identity.title, "day": layout.identity.date}
        for address, raw in [*((layout.identity.items[item], raw) for item, raw in scores.items()),
                             *((addresses[name], raw) for name, raw in fields.items())]:
            cell = sheet[address]
            cell.value = _cell(raw)
            if isinstance(cell.value, str):
                cell.data_type = "s"
        workbook.save(path)
        return mutate(path, changes), None

    def check(self, case) -> str:
        """The property: a clear refusal with nothing written, or an import that stored what the cells said."""
        from csat.errors import CsatError
        from csat.importer.run import run_import

        path, half = self.build(case)
        before = self._responses()
        try:
            report = run_import(self.workspace, [path], half=half, replace=True)
        except CsatError:
            assert self._responses() == before
            return "refused"
        if report.problems:
            assert self._responses() == before, report.problems
            for line in report.problems:
                assert line and "\n" not in line and "Traceback" not in line, line
            return "refused"
        if case[0] == "sheet" and case[1][0] == "xlsx" and not case[2]:
            self._compare_sheet(case[1], half)
        return "imported"

    def _responses(self) -> int:
        from sqlalchemy import text

        with self.store.read_session() as session:
            return session.connection().execute(text("SELECT count(*) FROM response")).scalar()

    def _compare_sheet(self, data, half: str) -> None:
        """Every plain number in an item column of an imported sheet is the score stored for its customer."""
        from import_fixtures import stored_answers

        _kind, header, rows = data
        stored = stored_answers(self.store, half)
        columns = {name: index for index, name in enumerate(header) if name in ITEMS}
        if "customer" not in header or "respondent" in header:
            return
        customer = header.index("customer")
        for row in rows:
            code = row[customer]
            answers = stored.get((code, ""))
            if answers is None:
                continue
            for item, index in columns.items():
                raw = row[index] if index < len(row) else None
                if isinstance(raw, (int, float)) and not isinstance(raw, bool) and math.isfinite(raw) and item in answers:
                    assert answers[item][0] == float(raw), (code, item, raw, answers[item])
