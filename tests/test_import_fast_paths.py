"""The shortcuts a big sheet takes through an import give exactly what the general paths give."""

from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from csat.importer import context as planning
from csat.importer.sheet_rows import _clean_comments, _others_from
from csat.importer.validate import Problems, clean_text
from csat.sheets.columns import columns_of, rows_of

text_cell = st.one_of(st.just(""), st.just("  "), st.text(max_size=4))


@given(st.lists(st.lists(text_cell, min_size=1, max_size=3), max_size=12))
def test_a_column_of_text_keeps_every_cell_but_the_blank_ones(grid):
    height, columns = columns_of(grid)
    width = max(map(len, grid), default=0)
    expected = [[value if value.strip() else None for value in row] + [None] * (width - len(row)) for row in grid]
    assert rows_of(height, columns) == expected


@given(st.dictionaries(st.integers(0, 40), st.text(max_size=3)), st.integers(0, 40), st.booleans())
def test_cells_below_the_header_whatever_the_order(others, start, in_order):
    if in_order:
        others = dict(sorted(others.items()))
    taken = _others_from(others, start)
    assert taken == {offset: value for offset, value in others.items() if offset >= start}
    assert list(taken) == [offset for offset in others if offset >= start]


@given(st.dictionaries(st.integers(0, 20), st.one_of(st.text(alphabet=" a\0\n\tb", max_size=6), st.integers(0, 9))))
def test_comments_cleaned_at_once_as_one_by_one(cells):
    cleaned = _clean_comments(cells)
    if any(not isinstance(value, str) for value in cells.values()):
        assert cleaned is None          # the general path reads (and checks) them one by one
        return
    assert cleaned == {offset: clean_text(value, "comment", limit=None, single_line=False)[0]
                       for offset, value in cells.items()}


# A candidate: (period, customer, respondent, form?, hash); a round: (closed?, stored keys with their hashes).
candidate = st.tuples(st.sampled_from(["2024H1", "2024H2"]), st.integers(1, 4), st.sampled_from(["", "Li"]),
                      st.booleans(), st.sampled_from(["h1", "h2"]))
stored = st.dictionaries(st.tuples(st.integers(1, 4), st.sampled_from(["", "Li"])), st.sampled_from(["h1", "h2"]),
                         max_size=3)


def _situation(rows, rounds):
    candidates = [SimpleNamespace(period=period, customer_id=customer, respondent=respondent,
                                  invitation_id=customer if form else None, content_hash=digest,
                                  origin="in.xlsx!Sheet1", where=f"in.xlsx!Sheet1!A{row + 2}", row=f"row {row + 2}",
                                  source_file="in.xlsx", source="sheet")
                  for row, (period, customer, respondent, form, digest) in enumerate(rows)]
    infos = {period: SimpleNamespace(closed=closed, forms={}, existing={
        key: planning.Existing(number, digest, "sheet", "old.xlsx", key[1])
        for number, (key, digest) in enumerate(keys.items(), start=1)})
        for period, (closed, keys) in rounds.items()}
    context = SimpleNamespace(round_for=infos.__getitem__, code_of={number: f"C{number}" for number in range(1, 5)})
    return context, candidates


def _outcome(result, problems):
    return ([id(item) for item in result.new], [id(item) for item in result.unchanged],
            [(id(item), existing.response_id) for item, existing in result.replaced], problems.lines)


@given(st.lists(candidate, max_size=8), st.booleans(), stored, st.booleans(), stored, st.booleans())
def test_a_plan_of_plainly_new_rows_is_the_plan_row_by_row(rows, closed_first, first, closed_second, second, replace):
    context, candidates = _situation(rows, {"2024H1": (closed_first, first), "2024H2": (closed_second, second)})
    fast_problems, slow_problems = Problems(), Problems()
    fast = planning.plan(context, candidates, replace, fast_problems)
    with pytest.MonkeyPatch.context() as patched:
        patched.setattr(planning, "_all_new", lambda *_args: False)
        slow = planning.plan(context, candidates, replace, slow_problems)
    assert _outcome(fast, fast_problems) == _outcome(slow, slow_problems)


def test_new_rows_of_an_empty_round_are_planned_at_once():
    rows = [("2024H1", customer, "", False, "h1") for customer in (1, 2, 3)]
    context, candidates = _situation(rows, {"2024H1": (False, {})})
    assert planning._all_new(candidates, {"2024H1": {}}, set())
    assert planning.plan(context, candidates, False, Problems()).new == candidates
    twice = candidates + candidates[:1]       # a key twice goes the long way, to be reported
    assert not planning._all_new(twice, {"2024H1": {}}, set())


@pytest.mark.parametrize("allowed", [999, 32766])
def test_answers_go_in_whole_under_the_bound_values_sqlite_allows(tmp_path, allowed):
    """Bigger statements where SQLite takes them (fewer hand-overs of the GIL), never more than it allows."""
    import sqlite3

    import numpy as np

    from csat.importer.answer_rows import _parameters_per_statement, store_on_sqlite
    from csat.importer.answers import AnswerBlock

    database = sqlite3.connect(tmp_path / "answers.db", isolation_level=None)
    database.execute("CREATE TABLE answer (response_id INTEGER, item_id INTEGER, score FLOAT, not_applicable BOOLEAN,"
                     " raw TEXT, comment TEXT, PRIMARY KEY (response_id, item_id)) WITHOUT ROWID")
    database.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, allowed)
    assert _parameters_per_statement(database) == (990 if allowed == 999 else 3960)
    scores = np.arange(3001 * 3, dtype=np.float64).reshape(3001, 3)
    scores[5, 1] = np.nan
    block = AnswerBlock([4, 7, 9], scores, {(8, 2): (True, "N/A", "")})
    assert store_on_sqlite(database, block, list(range(3001)), list(range(100, 3101))) == 9003
    rows = database.execute("SELECT response_id, item_id, score, not_applicable, raw FROM answer"
                            " ORDER BY response_id, item_id").fetchall()
    assert len(rows) == 9003 and rows[-1] == (3100, 9, 9002.0, 0, "")
    assert rows[5 * 3 + 1] == (105, 7, None, 0, "") and rows[8 * 3 + 2] == (108, 9, 26.0, 1, "N/A")
