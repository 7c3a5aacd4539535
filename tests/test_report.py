"""The survey report's data (csat.reports.survey.build) on a real store with known answers."""

from __future__ import annotations

import statistics
from datetime import date

import numpy as np
import pytest
from report_fixtures import NA, load_items, seed, standard, standard_plan
from scipy import stats

from csat.errors import CsatError, NotFound
from csat.registry.items import ItemSpec, default_template
from csat.reports import survey

EXPECTED = {
    "quality": ("ok", None),
    "delivery": ("below", "mean 83.5 < 85"),
    "price": ("ok", None),
    "responsiveness": ("at_risk", "mean 87.0 is within 3 points of the limit 85 and down from 91.0"),
    "tech_support": ("at_risk", "falling 3.8 points a round, projected 84.7 next round"),
    "after_sales": ("ok", None),
    "communication": ("no_data", "no answers"),
    "complaint_handling": ("ok", None),
}


def latest_scores():
    """item code -> {customer: score} of the latest round, counted answers only."""
    scores: dict[str, dict[str, float]] = {}
    for response in standard_plan()["2024H2"]:
        for code, score in response["scores"].items():
            if score not in (None, NA):
                scores.setdefault(code, {})[response["customer"]] = float(score)
    return scores


@pytest.fixture
def report(store, workspace):
    standard(store)
    with store.read_session() as session:
        return survey.build(session, workspace.settings)


def test_latest_round_with_responses_is_the_default(report):
    assert report["period"] == "2024H2"
    assert (report["invited"], report["responses"], report["response_rate"]) == (5, 4, 0.8)
    assert report["action_limit"] == 85.0


def test_item_statistics_match_independent_computation(report):
    scores = latest_scores()
    items = {item["code"]: item for item in report["items"]}
    assert list(items) == [spec.code for spec in default_template()]
    for code, (status, reason) in EXPECTED.items():
        item = items[code]
        values = list(scores.get(code, {}).values())
        # Four responses in the round: every answered item is a small sample (report.min_n defaults to 5).
        small = f"only {len(values)} answer{'s' if len(values) != 1 else ''}" if values else None
        reason = "; ".join(part for part in (reason, small) if part) or None
        assert (item["status"], item["reason"], item["small_sample"]) == (status, reason, True), code
        assert item["n"] == len(values)
        if values:
            assert item["mean"] == pytest.approx(statistics.mean(values))
            assert item["median"] == pytest.approx(statistics.median(values))
            assert (item["min"], item["max"]) == (min(values), max(values))
        if len(values) >= 2:
            assert item["sd"] == pytest.approx(statistics.stdev(values))
            half = stats.t.ppf(0.975, len(values) - 1) * statistics.stdev(values) / len(values) ** 0.5
            # The interval is clipped to the item's 0-100 scale.
            assert item["ci_low"] == pytest.approx(max(0.0, statistics.mean(values) - half))
            assert item["ci_high"] == pytest.approx(min(100.0, statistics.mean(values) + half))
        else:
            assert item["sd"] is None and item["ci_low"] is None and item["ci_high"] is None


def test_previous_round_and_change(report):
    items = {item["code"]: item for item in report["items"]}
    assert items["delivery"]["previous_mean"] == 86.0
    assert items["delivery"]["change"] == pytest.approx(-2.5)
    assert items["communication"]["previous_mean"] == 90.0 and items["communication"]["change"] is None
    # The N/A-only first round of tech_support is skipped when looking back.
    assert items["tech_support"]["previous_period"] == "2024H1"


def test_csi_is_the_renormalised_weighted_mean(report):
    weights = {spec.code: spec.weight for spec in default_template()}
    means = {item["code"]: item["mean"] for item in report["items"] if item["mean"] is not None}
    expected = sum(weights[code] * mean for code, mean in means.items()) / sum(weights[code] for code in means)
    assert report["csi"] == pytest.approx(expected)
    assert "communication" not in means


def test_customer_scores_and_lowest(report):
    weights = {spec.code: spec.weight for spec in default_template()}
    expected = {}
    for response in standard_plan()["2024H2"]:
        answered = {code: float(score) for code, score in response["scores"].items() if score not in (None, NA)}
        expected[response["customer"]] = (sum(weights[code] * score for code, score in answered.items())
                                          / sum(weights[code] for code in answered), len(answered))
    customers = report["customers"]
    assert [customer["score"] for customer in customers] == sorted(customer["score"] for customer in customers)
    for customer in customers:
        score, count = expected[customer["code"]]
        assert customer["score"] == pytest.approx(score)
        assert customer["n_answers"] == count
    assert "C-005" not in {customer["code"] for customer in customers}  # invited, never answered
    assert survey.lowest_customers(report, 2) == customers[:2]


def test_drivers_correlate_items_with_the_weighted_score(report):
    weights = {spec.code: spec.weight for spec in default_template()}
    by_customer = {response["customer"]: response["scores"] for response in standard_plan()["2024H2"]}
    weighted = {}
    for customer, answers in by_customer.items():
        answered = {code: float(score) for code, score in answers.items() if score not in (None, NA)}
        weighted[customer] = sum(weights[code] * score for code, score in answered.items()) / sum(
            weights[code] for code in answered)
    customers = sorted(by_customer)
    quality = [float(by_customer[customer]["quality"]) for customer in customers]
    expected = stats.pearsonr(quality, [weighted[customer] for customer in customers])[0]
    drivers = {driver["code"]: driver for driver in report["drivers"]}
    assert report["driver_basis"] == "weighted_score"
    assert drivers["quality"]["correlation"] == pytest.approx(expected)
    assert drivers["price"]["correlation"] is None  # everyone gave 86
    correlations = [driver["correlation"] for driver in report["drivers"] if driver["correlation"] is not None]
    assert correlations == sorted(correlations, reverse=True)
    assert report["drivers"][-1]["correlation"] is None
    assert report["focus"]["code"] == "tech_support"  # the flagged item most tied to the overall score


def test_flagged_items_carry_their_reasons(report):
    assert [(item["code"], item["status"]) for item in report["flagged"]] == [
        ("delivery", "below"), ("responsiveness", "at_risk"), ("tech_support", "at_risk")]
    assert report["flagged"][0]["reason"] == "mean 83.5 < 85; only 4 answers"


def test_comments_are_collected(report):
    texts = [comment["text"] for comment in report["comments"]]
    assert any("<script>" in text for text in texts)
    item_comment = next(comment for comment in report["comments"] if comment["item"])
    assert item_comment["item"] == "delivery" and item_comment["customer"] == "C-002"


def test_trend_of_every_round_up_to_the_reported_one(report):
    trend = report["trend"]
    assert trend["periods"] == ["2023H1", "2023H2", "2024H1", "2024H2"]
    delivery = next(item for item in trend["items"] if item["code"] == "delivery")
    assert [point["mean"] for point in delivery["series"]] == pytest.approx([88, 87, 86, 83.5])
    tech = next(item for item in trend["items"] if item["code"] == "tech_support")
    assert tech["series"][0]["n"] == 0 and tech["series"][0]["status"] == "no_data"


def test_an_earlier_round_ignores_later_ones(store, workspace):
    standard(store)
    with store.read_session() as session:
        data = survey.build(session, workspace.settings, "2024H1")
    assert data["period"] == "2024H1"
    assert data["trend"]["periods"] == ["2023H1", "2023H2", "2024H1"]
    items = {item["code"]: item for item in data["items"]}
    assert items["responsiveness"]["mean"] == 91.0 and items["responsiveness"]["status"] == "ok"
    assert items["delivery"]["previous_mean"] == 87.0


def test_round_without_responses(store, workspace):
    standard(store)
    seed(store, {"2025H1": []})
    with store.read_session() as session:
        assert survey.build(session, workspace.settings)["period"] == "2024H2"
        empty = survey.build(session, workspace.settings, "2025H1")
    assert (empty["responses"], empty["invited"], empty["response_rate"], empty["csi"]) == (0, 5, 0.0, None)
    assert {item["status"] for item in empty["items"]} == {"no_data"}
    assert empty["customers"] == [] and empty["flagged"] == [] and empty["focus"] is None
    assert {item["previous_mean"] for item in empty["items"]} >= {93.0}


def test_no_rounds_or_no_responses_at_all(store, workspace):
    with store.read_session() as session:
        with pytest.raises(NotFound, match="no survey rounds yet"):
            survey.build(session, workspace.settings)
    seed(store, {"2024H1": []})
    with store.read_session() as session:
        with pytest.raises(CsatError, match="no survey round has responses yet"):
            survey.build(session, workspace.settings)
        with pytest.raises(NotFound, match="no survey round for 2023H2"):
            survey.build(session, workspace.settings, "2023H2")


def test_overall_item_is_the_driver_basis(store, workspace):
    load_items(store, [ItemSpec("quality", "Quality", "质量", weight=2), ItemSpec("delivery", "Delivery", "交货"),
                       ItemSpec("overall", "Overall satisfaction", "总体满意度")])
    rows = [(70, 90, 72), (80, 60, 79), (90, 85, 93), (95, 70, 96), (60, 95, 65)]
    plan = {"2024H1": [{"customer": f"C-00{number}", "scores": {"quality": q, "delivery": d, "overall": o}}
                       for number, (q, d, o) in enumerate(rows, start=1)]}
    seed(store, plan)
    with store.read_session() as session:
        data = survey.build(session, workspace.settings)
    assert data["driver_basis"] == "overall"
    assert [driver["code"] for driver in data["drivers"]] == ["quality", "delivery"]
    overall = [row[2] for row in rows]
    assert data["drivers"][0]["correlation"] == pytest.approx(stats.pearsonr([row[0] for row in rows], overall)[0])
    assert data["drivers"][1]["correlation"] == pytest.approx(stats.pearsonr([row[1] for row in rows], overall)[0])


def test_item_limit_and_settings_drive_the_status(store, workspace):
    load_items(store, [ItemSpec("quality", "Quality", action_limit=80), ItemSpec("delivery", "Delivery")])
    plan = {"2024H1": [{"customer": "C-001", "scores": {"quality": 90, "delivery": 92}},
                       {"customer": "C-002", "scores": {"quality": 90, "delivery": 92}}],
            "2024H2": [{"customer": "C-001", "scores": {"quality": 82, "delivery": 91}},
                       {"customer": "C-002", "scores": {"quality": 82, "delivery": 87}}]}
    seed(store, plan)
    with store.read_session() as session:
        data = survey.build(session, workspace.settings)
    items = {item["code"]: item for item in data["items"]}
    assert (items["quality"]["action_limit"], items["quality"]["status"]) == (80, "at_risk")
    assert items["quality"]["below_share"] == 0.0  # 82 is not below this item's limit of 80
    assert items["delivery"]["status"] == "ok"  # 89 is above 85 + 3
    assert items["delivery"]["top_box_share"] == 0.5
    from csat.workspace import config_set

    config_set(workspace, "survey.margin", "5")
    config_set(workspace, "survey.top_box", "91")
    with store.read_session() as session:
        data = survey.build(session, workspace.settings)
    items = {item["code"]: item for item in data["items"]}
    assert items["delivery"]["status"] == "at_risk"
    assert items["delivery"]["top_box_share"] == 0.5
    assert data["margin"] == 5 and data["top_box"] == 91


def test_several_respondents_of_one_customer(store, workspace):
    load_items(store, [ItemSpec("quality", "Quality", weight=3), ItemSpec("delivery", "Delivery")])
    plan = {"2024H1": [
        {"customer": "C-001", "respondent": "buyer", "scores": {"quality": 80, "delivery": 90}},
        {"customer": "C-001", "respondent": "engineer", "scores": {"quality": 90, "delivery": None}},
        {"customer": "C-002", "scores": {"quality": NA, "delivery": 70}},
    ]}
    seed(store, plan)
    with store.read_session() as session:
        data = survey.build(session, workspace.settings, lang="zh")
    customers = {customer["code"]: customer for customer in data["customers"]}
    assert customers["C-001"]["score"] == pytest.approx((3 * 85 + 90) / 4)
    assert (customers["C-001"]["respondents"], customers["C-001"]["n_answers"]) == (2, 3)
    assert customers["C-002"]["score"] == 70.0
    assert data["responses"] == 3 and data["responding_customers"] == 2
    assert data["response_rate"] == pytest.approx(2 / 5)
    assert data["items"][0]["label"] == "Quality"  # no Chinese label: falls back to English


def test_chinese_labels_and_reasons(store, workspace):
    standard(store)
    with store.read_session() as session:
        data = survey.build(session, workspace.settings, lang="zh")
    items = {item["code"]: item for item in data["items"]}
    assert items["delivery"]["label"] == "交货准时"
    assert items["delivery"]["reason"] == "均值 83.5 < 85; 仅 4 个回答"


def test_answers_for_the_workbook(store, workspace):
    standard(store)
    with store.read_session() as session:
        data = survey.build(session, workspace.settings, answers=True)
        answers = {"items": data["answers"]["items"], "rows": list(data["answers"]["rows"])}  # streamed from the store
    assert answers["items"][0] == "quality"
    first = answers["rows"][0]
    assert first["customer"] == "C-001" and first["answered_on"] == date(2024, 11, 3).isoformat()
    communication = answers["items"].index("communication")
    assert first["scores"][communication] == "N/A"
    assert answers["rows"][2]["scores"][answers["items"].index("after_sales")] is None  # left blank
    assert np.isclose(first["scores"][0], 90.0)
