"""Reports at any size: SQL aggregates equal the numpy computation, and what people read stays short.

The SQL statistics (csat.reports.queries.RoundTable) are checked against the
numpy functions of csat.scoring on random rounds (blanks, N/A, several
respondents per customer, fractional scores); the property runs on SQLite and,
with --backend postgresql, on PostgreSQL. The readable formats show the
`report.lowest_customers` lowest customers and `report.comments` comments
with the count of the rest and a command that lists them all; JSON and the
workbook carry every one.
"""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
from openpyxl import load_workbook

from csat import scoring
from csat.registry.items import ItemSpec
from csat.reports import survey
from csat.workspace import config_set
from report_fixtures import NA, seed

CODES = ["quality", "delivery", "price", "overall"]


def _load_items(store, specs):
    from csat.registry import items

    with store.session() as session:
        items.load_template(session, specs, replace=True)


def _random_plan(rng: random.Random, customers: list[tuple], fractional: bool, codes: list[str]) -> list[dict]:
    responses = []
    for code, _name, _lang in customers:
        for respondent in range(rng.choice([1, 1, 2, 3])):
            scores = {}
            for item in codes:
                draw = rng.random()
                if draw < 0.08:
                    scores[item] = NA
                elif draw < 0.15:
                    scores[item] = None
                else:
                    value = rng.gauss(85, 9)
                    scores[item] = min(100.0, max(0.0, round(value, 2) if fractional else round(value)))
            responses.append({"customer": code, "respondent": f"person {respondent}", "scores": scores})
    return responses


def _numpy_reference(plan: list[dict], codes: list[str], weights: list[float], basis_code: str | None):
    """What the earlier numpy path computed: describe per item, group_scores per customer, correlation per item."""
    respondents = [response for response in plan]
    customer_ids = list(dict.fromkeys(response["customer"] for response in respondents))
    rows = []  # (respondent index, customer index, item index, score)
    for index, response in enumerate(respondents):
        for column, code in enumerate(codes):
            score = response["scores"].get(code)
            if score not in (None, NA):
                rows.append((index, customer_ids.index(response["customer"]), column, float(score)))
    table = np.array(rows, dtype=float).reshape(-1, 4)
    respondent, customer, item, score = (table[:, 0].astype(int), table[:, 1].astype(int), table[:, 2].astype(int),
                                         table[:, 3])
    per_item = scoring.per_item(item, score, len(codes))
    respondent_scores, _, matrix = scoring.group_scores(respondent, item, score, len(respondents), weights)
    customer_scores, customer_answers, _ = scoring.group_scores(customer, item, score, len(customer_ids), weights)
    basis = matrix[:, codes.index(basis_code)] if basis_code else respondent_scores
    correlations = {code: scoring.correlation(matrix[:, column], basis)
                    for column, code in enumerate(codes) if code != basis_code}
    customers = {code: (scoring.finite(customer_scores[position]), int(customer_answers[position]))
                 for position, code in enumerate(customer_ids)}
    return per_item, customers, correlations


@pytest.mark.parametrize("seed_number", [1, 2, 3, 4])
def test_sql_aggregates_equal_the_numpy_path(store, workspace, seed_number):
    rng = random.Random(seed_number)
    fractional = seed_number % 2 == 0
    basis_code = "overall" if seed_number >= 3 else None
    codes = CODES if basis_code else CODES[:3]
    weights = [1.0, 2.0, 0.5, 1.0][:len(codes)]
    limits = [85.0, 80.0, 90.0, 85.0][:len(codes)]
    _load_items(store, [ItemSpec(code, code.title(), weight=weight, action_limit=limit)
                        for code, weight, limit in zip(codes, weights, limits)])
    customers = [(f"R-{number:03d}", f"Random {number}", "en") for number in range(rng.randint(3, 40))]
    plan = _random_plan(rng, customers, fractional, codes)
    seed(store, {"2024H1": plan}, customers=customers)
    with store.read_session() as session:
        data = survey.build(session, workspace.settings)
    per_item, expected_customers, correlations = _numpy_reference(plan, codes, weights, basis_code)
    for item, values, limit in zip(data["items"], per_item, limits):
        expected = scoring.describe(values, limit, workspace.settings.survey.top_box)
        assert item["n"] == expected["n"]
        for key in ("mean", "median", "min", "max", "below_share", "top_box_share", "sd", "ci_low", "ci_high"):
            if expected[key] is None:
                assert item[key] is None, key
            else:
                # Printed to one decimal (shares as 0.1 %): agreement to 1e-9 leaves no printed digit in doubt.
                assert item[key] == pytest.approx(expected[key], rel=1e-12, abs=1e-9), key
        if not fractional and expected["n"]:
            assert item["mean"] == expected["mean"] and item["median"] == expected["median"]
    for customer in data["customers"]:
        score, answers = expected_customers[customer["code"]]
        assert customer["n_answers"] == answers
        assert (customer["score"] is None) == (score is None)
        if score is not None:
            assert customer["score"] == pytest.approx(score, rel=1e-12)
    assert data["customers_total"] == len(expected_customers)
    for driver in data["drivers"]:
        r, n = correlations[driver["code"]]
        assert driver["n"] == n
        assert (driver["correlation"] is None) == (r is None), driver["code"]
        if r is not None:
            assert driver["correlation"] == pytest.approx(r, rel=1e-9, abs=1e-12)


def test_sd_from_sums_keeps_its_precision_far_from_zero():
    """Scores near 1e6 with a spread of 1: the naive sum-of-squares formula loses every digit here."""
    values = np.array([1_000_000.1, 1_000_000.3, 1_000_000.2, 1_000_000.4, 1_000_000.25])
    shift = 1_000_000.0
    variance = scoring.exact_variance(values.size, float(np.sum(values - shift)), float(np.sum((values - shift) ** 2)))
    assert variance == pytest.approx(float(np.var(values, ddof=1)), rel=1e-9)


@pytest.fixture
def crowded(store, workspace):
    """24 customers, 20 of them below the limit; 9 comments, 3 of them on the flagged item delivery."""
    _load_items(store, [ItemSpec("quality", "Quality"), ItemSpec("delivery", "On-time delivery")])
    customers = [(f"C-{number:03d}", f"Customer {number}", "en") for number in range(1, 25)]
    plan = []
    for number, (code, _name, _lang) in enumerate(customers, start=1):
        response = {"customer": code, "scores": {"quality": 60 + number * 1.5, "delivery": 50 + number}}
        if number <= 6:
            response["comment"] = f"general remark {number}"
        if number in (7, 8, 9):
            response["item_comments"] = {"delivery": f"late again {number}"}
        plan.append(response)
    seed(store, {"2024H1": plan}, customers=customers)
    config_set(workspace, "report.lowest_customers", "5")
    config_set(workspace, "report.comments", "4")
    return store


def test_table_shows_the_lowest_and_says_how_many_more(crowded, cli):
    result = cli("report", "--half", "2024H1")
    assert result.exit_code == 0, result
    out = result.stdout
    assert "C-001" in out and "C-005" in out and "C-006" not in out
    # 24 customers: score = (q + d) / 2 = 55 + 1.25 n, below 85 for n <= 23; 5 shown.
    assert "… and 18 more below the limit" in " ".join(out.split())
    assert "csat report --half 2024H1 -o report-2024H1.xlsx" in " ".join(out.split())


def test_markdown_and_html_cap_customers_and_group_comments(crowded, cli, tmp_path):
    assert cli("report", "--half", "2024H1", "-o", tmp_path / "r.md").exit_code == 0
    text = (tmp_path / "r.md").read_text(encoding="utf-8")
    assert "| C-005 |" in text and "| C-006 |" not in text
    assert "… and 18 more below the limit" in text and "`csat report --half 2024H1 -o report-2024H1.xlsx`" in text
    flagged_at, other_at = text.index("### On items needing action"), text.index("### Other comments")
    assert flagged_at < text.index("late again 7") < other_at < text.index("general remark 1")
    assert "general remark 2" not in text                      # 3 flagged + 1 other = the cap of 4
    assert "… and 5 more comments" in text
    assert cli("report", "--half", "2024H1", "-o", tmp_path / "r.html").exit_code == 0
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "<td>C-005</td>" in page and "<td>C-006</td>" not in page
    assert "and 18 more below the limit" in page and "<code>csat report --half 2024H1 -o report-2024H1.xlsx</code>" in page
    assert "and 5 more comments" in page and "general remark 2" not in page


def test_json_and_the_workbook_carry_every_customer_and_comment(crowded, cli, tmp_path, monkeypatch):
    result = cli("report", "--half", "2024H1", "--format", "json")
    data = json.loads(result.stdout)
    assert len(data["customers"]) == data["customers_total"] == 24
    assert len(data["comments"]) == data["comments_total"] == 9
    assert [comment["item"] for comment in data["comments"][:3]] == ["delivery"] * 3   # flagged item first
    assert [customer["code"] for customer in data["customers"][:2]] == ["C-001", "C-002"]
    # The command the readable formats point to exists and lists them all.
    monkeypatch.chdir(tmp_path)
    result = cli("report", "--half", "2024H1", "-o", "report-2024H1.xlsx")
    assert result.exit_code == 0, result
    workbook = load_workbook(tmp_path / "report-2024H1.xlsx", read_only=True)
    customers = list(workbook["Customers"].iter_rows(min_row=2, values_only=True))
    comments = list(workbook["Comments"].iter_rows(min_row=2, values_only=True))
    assert len(customers) == 24 and customers[0][0] == "C-001"
    assert len(comments) == 9
    answers = list(workbook["Answers"].iter_rows(min_row=2, values_only=True))
    assert len(answers) == 24 and answers[0][:2] == ("C-001", "Customer 1") and answers[0][4] == 61.5


def test_chinese_report_says_how_many_more_in_chinese(crowded, cli, workspace, tmp_path):
    result = cli("report", "--half", "2024H1", "--lang", "zh", "-o", tmp_path / "r.md")
    assert result.exit_code == 0, result
    text = (tmp_path / "r.md").read_text(encoding="utf-8")
    assert "另有 18 个客户低于措施限值" in text and "另有 5 条意见" in text
    assert "more below the limit" not in text


def test_a_limit_of_zero_still_counts_what_it_leaves_out(crowded, workspace, cli, tmp_path):
    config_set(workspace, "report.lowest_customers", "0")
    config_set(workspace, "report.comments", "0")
    assert cli("report", "--half", "2024H1", "-o", tmp_path / "r.md").exit_code == 0
    text = (tmp_path / "r.md").read_text(encoding="utf-8")
    assert "… and 23 more below the limit" in text and "… and 9 more comments" in text
    assert "| C-001 |" not in text and "late again" not in text
    assert "No comments." not in text                         # there are nine, none shown


def _reopened(workspace):
    """The workspace as the next command opens it: the store's shared settings laid over csat.toml."""
    from csat.config import Workspace
    from csat.store.engine import open_store

    opened = Workspace.open(workspace.root)
    open_store(opened)
    return opened


@pytest.mark.parametrize("seed_number,batch", [(5, 500), (6, 500), (6, 3)])
def test_the_lowest_customers_are_the_head_of_the_full_list(store, workspace, seed_number, batch, monkeypatch):
    """What people read (numpy scores, ties broken by code) is the start of what JSON lists (SQL), exactly:
    several respondents per customer, fractional scores, and many customers on the same score (batch 3:
    the tied customers' codes are looked up in several batches and put back in the database's order)."""
    from csat.reports import queries

    monkeypatch.setattr(queries.RoundTable, "LOOKUP_BATCH", batch)
    monkeypatch.setattr(queries.CustomerRows, "BATCH", batch)   # the full list reads names in batches too
    rng = random.Random(seed_number)
    codes = CODES[:3]
    _load_items(store, [ItemSpec(code, code.title(), weight=weight) for code, weight in zip(codes, [1.0, 2.0, 0.5])])
    customers = [(f"T-{number:03d}", f"Tied {number}", "en") for number in range(40)]
    rng.shuffle(customers)                                   # stored in an order that is not the codes' order
    plan = _random_plan(rng, customers, seed_number % 2 == 0, codes)
    for response in plan[::3]:                                # a third of them on one shared low score
        response["scores"] = {code: 60 for code in codes}
    seed(store, {"2024H1": plan}, customers=customers)
    for limit in ("1", "7", "10", "40"):
        config_set(workspace, "report.lowest_customers", limit)
        settings = _reopened(workspace).settings
        with store.read_session() as session:
            everyone = survey.build(session, settings)
            shown = survey.build(session, settings, full=False)
        head = [customer for customer in everyone["customers"] if customer["score"] is not None][:int(limit)]
        assert [customer["code"] for customer in shown["customers"]] == [customer["code"] for customer in head]
        for mine, theirs in zip(shown["customers"], head):
            assert mine["score"] == pytest.approx(theirs["score"], rel=1e-12)
            assert (mine["n_answers"], mine["respondents"], mine["below"]) == (
                theirs["n_answers"], theirs["respondents"], theirs["below"])
        assert shown["customers_total"] == everyone["customers_total"] == len(everyone["customers"])
        assert shown["display"]["customers_below"] == sum(customer["below"] for customer in everyone["customers"])


def test_json_streams_every_customer_and_comment_from_the_store(crowded, workspace):
    """With stream=True the long lists are read from SQL cursors while written, and give the same JSON."""
    from csat.reports import queries
    from csat.reports.render import render_json

    with crowded.read_session() as session:
        held = render_json(survey.build(session, workspace.settings, now=None))
        data = survey.build(session, workspace.settings, stream=True)
        assert isinstance(data["customers"].rows, queries.CustomerRows)
        assert isinstance(data["comments"].rows, queries.StreamedRows)
        assert len(data["customers"]) == 24 and len(data["comments"]) == 9
        streamed = render_json(data)
        assert [customer["code"] for customer in data["customers"][1:3]] == ["C-002", "C-003"]
    drop = {"generated_at"}
    assert ({key: value for key, value in json.loads(streamed).items() if key not in drop}
            == {key: value for key, value in json.loads(held).items() if key not in drop})
    with crowded.read_session() as session:                   # the kept table does not outlive its session's use
        again = survey.build(session, workspace.settings, stream=True)
        assert [comment["customer"] for comment in again["comments"]][:3] == ["C-007", "C-008", "C-009"]


def test_the_streamed_lists_of_a_real_round_are_their_records(crowded, workspace):
    """The long JSON lists are written as text row by row: exactly json.dumps of the records other formats show."""
    with crowded.read_session() as session:
        data = survey.build(session, workspace.settings, stream=True)
        for key in ("customers", "comments"):
            texts = list(data[key].json_texts())
            records = [json.dumps(record, ensure_ascii=False, allow_nan=False) for record in data[key]]
            assert texts == records and len(texts) == len(data[key]) > 0


def test_a_report_writes_nothing_to_the_store(crowded, workspace):
    """A report only reads: it runs in a read-only transaction (a PostgreSQL standby, a SQLite store opened
    query-only), the long lists included."""
    from csat.reports.render import render_json

    with crowded.read_session() as session:
        connection = session.connection()
        postgres = connection.dialect.name == "postgresql"
        connection.exec_driver_sql("SET TRANSACTION READ ONLY" if postgres else "PRAGMA query_only = ON")
        try:
            data = json.loads(render_json(survey.build(session, workspace.settings, stream=True)))
        finally:
            if not postgres:
                connection.exec_driver_sql("PRAGMA query_only = OFF")
    assert len(data["customers"]) == data["customers_total"] == 24
    assert len(data["comments"]) == data["comments_total"] == 9
