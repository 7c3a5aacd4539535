"""The bulk path's parts: sheets as columns, answer blocks and their hashes, many-statement inserts."""

import random
from datetime import date, datetime

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from import_fixtures import count_rows, open_round_with_invitations, orphans, stored_answers, write_sheet_xlsx

from csat.errors import CsatError
from csat.importer.answers import AnswerBlock
from csat.importer.run import run_import
from csat.importer.write import id_ranges
from csat.sheets.columns import columns_of, rows_of
from csat.store.auditlog import entries

cell = st.one_of(
    st.none(), st.just(""), st.just("   "), st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=5), st.booleans(), st.integers(-10**18, 10**18), st.just(date(2024, 6, 30)),
    st.just(datetime(2024, 6, 30, 8, 15)),
)


@given(st.lists(st.lists(cell, max_size=6), max_size=8))
def test_columns_keep_every_cell(grid):
    height, columns = columns_of(grid)
    width = max(map(len, grid), default=0)
    back = rows_of(height, columns)
    for row, again in zip(grid, back):
        padded = list(row) + [None] * (width - len(row))
        blank = [None if value is None or (isinstance(value, str) and not value.strip()) else value
                 for value in padded]
        assert again == blank
        assert [type(value) for value in again] == [type(value) for value in blank]   # an int stays an int
    assert height == len(grid)


def _random_answers(generator: random.Random, item_ids: list[int]) -> list[tuple]:
    answers = []
    for item_id in item_ids:
        kind = generator.random()
        if kind < 0.1:
            answers.append((item_id, None, True, "N/A", ""))
        elif kind < 0.2:
            answers.append((item_id, None, False, "", ""))
        elif kind < 0.3:
            answers.append((item_id, 80.0, False, "Good", "note"))
        else:
            answers.append((item_id, float(generator.randint(0, 100)), False, "", ""))
    return answers


def test_block_hashes_match_one_row_blocks():
    """A sheet's block and a form's one-row block hash the same answers and texts the same way."""
    generator = random.Random(7)
    item_ids = [3, 5, 8, 13]
    rows = [_random_answers(generator, item_ids) for _ in range(300)]
    texts = {row: ("Manager", date(2024, 6, 1), "fine") for row in range(0, 300, 7)}
    scores = np.array([[np.nan if score is None else score for _, score, *_ in answers] for answers in rows])
    extras = {(row, column): (not_applicable, raw, note)
              for row, answers in enumerate(rows)
              for column, (_, _, not_applicable, raw, note) in enumerate(answers) if not_applicable or raw or note}
    block = AnswerBlock(item_ids, scores, extras)
    hashes = block.content_hashes([texts.get(row, ("", None, "")) for row in range(300)])
    assert block.content_hashes() == block.content_hashes([("", None, "")] * 300)
    for row, answers in enumerate(rows):
        single = AnswerBlock.from_answers(answers)
        title, answered_on, comment = texts.get(row, ("", None, ""))
        assert single.content_hash(0, title, answered_on, comment) == hashes[row]
        assert block.answers(row) == answers
    assert len(set(hashes)) == len(hashes)


def test_block_hashes_of_rows_with_text_on_every_row():
    """A sheet with a comment on every row (the fast path for text without extras) hashes as forms do."""
    generator = random.Random(11)
    item_ids = [2, 4, 9]
    rows = [_random_answers(generator, item_ids) for _ in range(200)]
    texts = {row: (["", "QA 经理"][row % 2], date(2024, 3, row % 28 + 1) if row % 3 else None,
                   f"交货期需要改善 #{row}\x1fend" if row % 5 else "")
             for row in range(200)}
    scores = np.array([[np.nan if score is None else score for _, score, *_ in answers] for answers in rows])
    extras = {(row, column): (not_applicable, raw, note)
              for row, answers in enumerate(rows)
              for column, (_, _, not_applicable, raw, note) in enumerate(answers) if not_applicable or raw or note}
    hashes = AnswerBlock(item_ids, scores, extras).content_hashes([texts[row] for row in range(200)])
    for row, answers in enumerate(rows):
        assert AnswerBlock.from_answers(answers).content_hash(0, *texts[row]) == hashes[row]


@pytest.fixture
def many_customers(store):
    from csat.registry.customers import add

    with store.session() as session:
        for number in range(250):
            add(session, code=f"M{number:03d}", name=f"Customer {number}")


def test_a_sheet_longer_than_one_statement_stores_every_answer(workspace, store, many_customers, tmp_path):
    generator = random.Random(11)
    header = ["customer", "respondent", "quality", "delivery", "price", "comment"]
    rows = []
    for number in range(250):
        scores = [generator.choice([None, "N/A", 0, 100, 85.5, generator.randint(0, 100)]) for _ in range(3)]
        rows.append([f"M{number:03d}", "Li" if number % 3 else "", *scores, "ok" if number % 5 == 0 else None])
    path = write_sheet_xlsx(tmp_path / "long.xlsx", header, rows)
    report = run_import(workspace, [path], half="2024H1")
    assert report.ok, report.problems[:3]
    assert (report.responses_new, report.answers_stored) == (250, 750)
    stored = stored_answers(store, "2024H1")
    for code, respondent, *scores, _comment in rows:
        for item, value in zip(["quality", "delivery", "price"], scores):
            if value is None:
                want = (None, False, "", "")
            elif value == "N/A":
                want = (None, True, "N/A", "")
            else:
                want = (float(value), False, "", "")
            assert stored[(code, respondent)][item] == want
    assert count_rows(store, "answer") == 750
    with store.read_session() as session:
        trail = entries(session, table="response", limit=1000)
    assert len(trail) == 1                     # one entry for the file, naming the responses it added
    added = trail[0]["changes"]["new"]
    assert (trail[0]["action"], trail[0]["key"]) == ("insert", "import long.xlsx")
    assert (added["responses"], added["answers"], added["periods"]) == (250, 750, ["2024H1"])
    with store.read_session() as session:
        ids = [row[0] for row in session.connection().exec_driver_sql("SELECT id FROM response ORDER BY id")]
    assert added["ids"] == [[ids[0], ids[-1]]] and len(ids) == 250
    again = run_import(workspace, [path], half="2024H1")
    assert (again.responses_new, again.responses_unchanged, again.answers_stored) == (0, 250, 0)


def test_id_ranges():
    assert id_ranges([]) == []
    assert id_ranges([5, 3, 4, 9, 10, 12]) == [[3, 5], [9, 10], [12, 12]]


def test_answers_stored_early_are_dropped_for_rows_that_are_not_new(workspace, store, many_customers, tmp_path):
    """The same sheet twice in one call: the second copy is unchanged, and its early answers go again."""
    rows = [[f"M{number:03d}", number % 101, "N/A"] for number in range(200)]
    first = write_sheet_xlsx(tmp_path / "a.xlsx", ["customer", "quality", "delivery"], rows)
    second = write_sheet_xlsx(tmp_path / "b.xlsx", ["customer", "quality", "delivery"], rows)
    report = run_import(workspace, [first, second], half="2024H1")
    assert report.ok, report.problems[:3]
    assert (report.responses_new, report.responses_unchanged, report.answers_stored) == (200, 200, 400)
    assert count_rows(store, "answer") == 400 and count_rows(store, "response") == 200
    assert orphans(store) == []
    stored = stored_answers(store, "2024H1")
    assert stored[("M007", "")] == {"quality": (7.0, False, "", ""), "delivery": (None, True, "N/A", "")}


def test_a_problem_after_answers_were_stored_early_leaves_nothing(workspace, store, many_customers, tmp_path):
    good = write_sheet_xlsx(tmp_path / "good.xlsx", ["customer", "quality"],
                            [[f"M{number:03d}", 90] for number in range(150)])
    bad = write_sheet_xlsx(tmp_path / "bad.xlsx", ["customer", "quality"], [["M200", 101]])
    report = run_import(workspace, [good, bad], half="2024H1")
    assert report.problems == ["bad.xlsx!Responses!B2: score 101 out of 0-100"]
    assert (count_rows(store, "answer"), count_rows(store, "response"), count_rows(store, "survey_round")) == (0, 0, 0)


def test_early_and_ordinary_answers_in_one_import(workspace, store, many_customers, tmp_path):
    """A round that has responses (ordinary path) and a new round (stored early), ids never collide."""
    old = write_sheet_xlsx(tmp_path / "old.xlsx", ["customer", "period", "quality"],
                           [["M000", "2024H1", 80], ["M001", "2024H1", 81]])
    open_round_with_invitations(store, "2024H1", codes=[])  # open: an import opens an ended half's round closed
    assert run_import(workspace, [old]).ok
    more = write_sheet_xlsx(tmp_path / "more.xlsx", ["customer", "period", "quality"],
                            [["M002", "2024H1", 82]] + [[f"M{number:03d}", "2024H2", number % 100]
                                                        for number in range(120)])
    report = run_import(workspace, [more, old])
    assert report.ok, report.problems[:3]
    assert (report.responses_new, report.responses_unchanged) == (121, 2)
    assert count_rows(store, "answer") == 123 and count_rows(store, "response") == 123
    assert orphans(store) == []
    assert stored_answers(store, "2024H1")[("M002", "")]["quality"] == (82.0, False, "", "")
    assert stored_answers(store, "2024H2")[("M119", "")]["quality"] == (19.0, False, "", "")


def test_what_an_import_made_is_not_scanned_at_once_when_the_collector_resumes():
    import gc

    from csat.importer.run import no_cyclic_gc

    assert gc.isenabled()
    with no_cyclic_gc():
        made = [[number] for number in range(5000)]
    assert gc.isenabled()
    # In the oldest generation, not the youngest: the next young collection does not walk them all.
    assert any(item is made[0] for item in gc.get_objects(generation=2))


def test_a_file_changed_while_its_answers_are_stored_early_leaves_nothing(workspace, store, many_customers, tmp_path,
                                                                         monkeypatch):
    """The file is saved again after it was read, while its answers are still going in: nothing is kept,
    the store is left as it was, and importing the file as it is now works."""
    from csat.importer import context as planning

    sheet = tmp_path / "changing.xlsx"
    write_sheet_xlsx(sheet, ["customer", "quality"], [[f"M{number:03d}", 90] for number in range(150)])
    planned = planning.plan

    def plan_then_save_again(*args, **kwargs):
        result = planned(*args, **kwargs)
        write_sheet_xlsx(sheet, ["customer", "quality"], [[f"M{number:03d}", 70] for number in range(150)])
        return result

    monkeypatch.setattr(planning, "plan", plan_then_save_again)
    with pytest.raises(CsatError, match="changing.xlsx changed while it was being imported; nothing was imported"):
        run_import(workspace, [sheet], half="2024H1")
    assert (count_rows(store, "answer"), count_rows(store, "response"), count_rows(store, "survey_round")) == (0, 0, 0)
    monkeypatch.setattr(planning, "plan", planned)
    report = run_import(workspace, [sheet], half="2024H1")
    assert report.ok and report.responses_new == 150
    assert stored_answers(store, "2024H1")[("M007", "")] == {"quality": (70.0, False, "", "")}
    assert orphans(store) == []
