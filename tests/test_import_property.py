"""Property: any valid sheet imports, importing it again is a no-op, and the store holds exactly the sheet."""

import itertools
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from csat.importer.run import run_import
from import_fixtures import import_customers, stored_answers, write_sheet_csv, write_sheet_xlsx

CODES = [f"C-{number:03d}" for number in range(1, 11)]
ITEMS = ["quality", "delivery", "price", "responsiveness", "tech_support", "after_sales", "communication",
         "complaint_handling"]
_periods = (f"{year}H{half}" for year in itertools.count(2000) for half in (1, 2))

score = st.one_of(
    st.integers(min_value=0, max_value=100),
    st.decimals(min_value=0, max_value=100, places=1, allow_nan=False).map(float),
    st.sampled_from(["N/A", "NA", "不适用", "n/a"]),
    st.none(),
)
respondent = st.sampled_from(["", "Li Wei", "王芳", "Anna Becker"])


@st.composite
def sheets(draw):
    items = draw(st.lists(st.sampled_from(ITEMS), min_size=1, max_size=len(ITEMS), unique=True))
    keys = draw(st.lists(st.tuples(st.sampled_from(CODES), respondent), min_size=1, max_size=12, unique=True))
    rows = [[code, who, *[draw(score) for _ in items]] for code, who in keys]
    return items, rows, draw(st.sampled_from(["csv", "xlsx"]))


def expected(value):
    if value is None:
        return (None, False, "", "")
    if isinstance(value, str):
        return (None, True, value, "")
    return (float(value), False, "", "")


@pytest.fixture
def customers(store, customers_csv):
    import_customers(store, customers_csv)


# The workspace is shared by the examples of one run (hypothesis calls the test body many times
# per fixture); each example imports into a period of its own.
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sheet=sheets())
def test_any_valid_sheet_round_trips(workspace, store, customers, sheet):
    items, rows, kind = sheet
    period = next(_periods)
    header = ["customer", "respondent", *items]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"answers.{kind}"
        (write_sheet_csv if kind == "csv" else write_sheet_xlsx)(path, header, rows)
        first = run_import(workspace, [path], half=period)
        assert first.ok, first.problems
        assert (first.responses_new, first.answers_stored) == (len(rows), len(rows) * len(items))
        again = run_import(workspace, [path], half=period)
        assert again.ok and (again.responses_new, again.responses_unchanged, again.answers_stored) == (0, len(rows), 0)
    stored = stored_answers(store, period)
    assert stored == {(code, who): {item: expected(value) for item, value in zip(items, values)}
                      for code, who, *values in rows}
