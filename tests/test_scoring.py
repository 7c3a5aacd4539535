"""csat.scoring against independently computed values (stdlib statistics, scipy.stats) on fixed data."""

from __future__ import annotations

import math
import statistics

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from csat import scoring
from csat.scoring import Rules, assess, describe

NONE_BUT_N = ("mean", "sd", "median", "min", "max", "ci_low", "ci_high", "below_share", "top_box_share")


def expected_interval(values):
    n = len(values)
    half = stats.t.ppf(0.975, n - 1) * statistics.stdev(values) / math.sqrt(n)
    return statistics.mean(values) - half, statistics.mean(values) + half


def test_describe_matches_independent_statistics():
    values = [70, 85, 90, 95, 100, 88.5]
    result = describe(values, action_limit=85, top_box=90)
    low, high = expected_interval(values)
    assert result["n"] == 6
    assert result["mean"] == pytest.approx(statistics.mean(values), abs=1e-12)
    assert result["sd"] == pytest.approx(statistics.stdev(values), abs=1e-12)
    assert result["median"] == pytest.approx(statistics.median(values))
    assert (result["min"], result["max"]) == (70, 100)
    assert result["ci_low"] == pytest.approx(low, abs=1e-9)
    assert result["ci_high"] == pytest.approx(high, abs=1e-9)
    assert result["below_share"] == pytest.approx(1 / 6)  # only 70: 85 itself is not below
    assert result["top_box_share"] == pytest.approx(3 / 6)  # 90, 95, 100: at or above 90


@pytest.mark.parametrize("values", [[], [float("nan")], [float("nan"), float("nan")]])
def test_no_answers_leaves_every_statistic_undefined(values):
    result = describe(values)
    assert result["n"] == 0
    assert all(result[key] is None for key in NONE_BUT_N)


def test_one_answer_has_no_spread_or_interval():
    result = describe([77.0], action_limit=85)
    assert (result["n"], result["mean"], result["median"], result["min"], result["max"]) == (1, 77, 77, 77, 77)
    assert result["sd"] is None and result["ci_low"] is None and result["ci_high"] is None
    assert result["below_share"] == 1.0 and result["top_box_share"] == 0.0


def test_two_answers_use_one_degree_of_freedom():
    result = describe([80, 90])
    assert result["sd"] == pytest.approx(statistics.stdev([80, 90]))
    assert stats.t.ppf(0.975, 1) == pytest.approx(12.7062, abs=1e-4)
    low, high = expected_interval([80, 90])
    assert (result["ci_low"], result["ci_high"]) == (pytest.approx(low), pytest.approx(high))


def test_all_equal_answers_have_zero_spread():
    result = describe([86, 86, 86, 86])
    assert result["sd"] == 0.0
    assert result["ci_low"] == result["ci_high"] == result["mean"] == 86.0
    assert result["median"] == 86.0


def test_top_box_threshold_is_configurable():
    assert describe([90, 94, 95, 100], top_box=95)["top_box_share"] == 0.5
    assert describe([90, 94, 95, 100], top_box=90)["top_box_share"] == 1.0


def test_t_quantile_matches_scipy_stats():
    for degrees in (1, 2, 4, 30, 200):
        assert scoring.t_quantile(degrees) == pytest.approx(stats.t.ppf(0.975, degrees), rel=1e-10)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(min_value=0, max_value=100, allow_nan=False), min_size=2, max_size=40))
def test_describe_agrees_with_statistics_on_any_sample(values):
    result = describe(values)
    assert result["mean"] == pytest.approx(statistics.fmean(values), abs=1e-9)
    assert result["median"] == pytest.approx(statistics.median(values), abs=1e-9)
    assert result["sd"] == pytest.approx(statistics.stdev(values), abs=1e-6)
    assert result["ci_low"] <= result["mean"] <= result["ci_high"]


def test_moments_from_sql_aggregates():
    values = [81.0, 86.0, 93.5, 99.0]
    result = scoring.from_moments(len(values), sum(values), sum(value * value for value in values))
    assert result["mean"] == pytest.approx(statistics.mean(values))
    assert result["sd"] == pytest.approx(statistics.stdev(values))
    assert scoring.from_moments(0, None, None) == {"n": 0, "mean": None, "sd": None}
    assert scoring.from_moments(1, 80.0, 6400.0)["sd"] is None


def test_trend_line_matches_linregress():
    means = [95.2, 91.0, 88.1, 85.3]
    fit = stats.linregress(range(4), means)
    slope, projection = scoring.trend_line(means)
    assert slope == pytest.approx(fit.slope)
    assert projection == pytest.approx(fit.intercept + fit.slope * 4)


# Status rules at their boundaries (limit 85, margin 3).
RULES = Rules(action_limit=85, margin=3, top_box=90)


def test_below_the_limit():
    result = assess(84.99, [90], RULES)
    assert result.status == "below"
    assert result.reason == "mean 84.99 < 85"
    assert assess(83.4, [], RULES).reason == "mean 83.4 < 85"


def test_at_the_limit_is_not_below():
    assert assess(85.0, [84.0], RULES).status == "ok"  # rising from below
    assert assess(85.0, [86.0], RULES).status == "at_risk"  # within the margin and falling
    assert assess(85.0 - 1e-12, [84.0], RULES).status == "ok"  # floating noise is not "below"


def test_margin_boundary_is_inclusive():
    at_margin = assess(88.0, [90.0], RULES)
    assert at_margin.status == "at_risk"
    assert at_margin.reason == "mean 88.0 is within 3 points of the limit 85 and down from 90.0"
    assert assess(88.01, [90.0], RULES).status == "ok"


def test_within_margin_needs_a_lower_mean_than_the_previous_round():
    assert assess(86.0, [86.0], RULES).status == "ok"
    assert assess(86.0, [85.5], RULES).status == "ok"
    assert assess(86.0, [], RULES).status == "ok"


def test_a_falling_trend_needs_three_points():
    assert assess(89.0, [98.0], RULES).status == "ok"  # two points: no trend rule
    falling = assess(89.0, [98.0, 93.5], RULES)  # slope -4.5, projection 84.5
    assert falling.status == "at_risk"
    assert falling.reason == "falling 4.5 points a round, projected 84.5 next round"
    assert falling.slope == pytest.approx(-4.5) and falling.projection == pytest.approx(84.5)


def test_a_projection_at_the_limit_is_not_at_risk():
    result = assess(89.0, [97.0, 93.0], RULES)  # slope -4, projection exactly 85
    assert result.projection == pytest.approx(85.0)
    assert result.status == "ok"


def test_trend_reason_wording():
    result = assess(87.0, [95.2, 91.1], Rules(action_limit=85, margin=0))
    assert result.reason == "falling 4.1 points a round, projected 82.9 next round"


def test_trend_uses_at_most_four_rounds():
    # The last four means barely move; a much higher fifth-oldest one must not count.
    assert assess(89.0, [100.0, 89.6, 89.4, 89.2], RULES).status == "ok"
    slope, projection = scoring.trend_line([100.0, 89.6, 89.4, 89.2, 89.0])
    assert slope < 0 and projection < 85  # what five points would have said


def test_flat_and_rising_series_are_ok():
    assert assess(90.0, [90.0, 90.0, 90.0], RULES).status == "ok"
    assert assess(85.5, [80.0, 82.0, 84.0], RULES).status == "ok"


def test_both_reasons_are_given():
    result = assess(87.0, [95.0, 91.0], RULES)
    assert result.status == "at_risk"
    assert result.reasons == ["falling 4.0 points a round, projected 83.0 next round",
                              "mean 87.0 is within 3 points of the limit 85 and down from 91.0"]


def test_per_item_limit_and_margin():
    assert assess(82.0, [83.0], Rules(action_limit=80, margin=3)).status == "at_risk"
    assert assess(82.0, [83.0], Rules(action_limit=80, margin=1)).status == "ok"
    assert assess(79.9, [], Rules(action_limit=80)).reason == "mean 79.9 < 80"


def test_no_answers_is_no_data():
    result = assess(None, [90.0], RULES)
    assert (result.status, result.reason, result.flagged) == ("no_data", "no answers", False)


def test_reasons_in_chinese():
    assert assess(83.4, [], RULES, lang="zh").reason == "均值 83.4 < 85"
    assert assess(87.0, [95.2, 91.1], Rules(margin=0), lang="zh").reason == "每轮下降 4.1 分，预计下一轮 82.9"


def test_weighted_index_renormalises_over_items_with_data():
    assert scoring.weighted_index([90, None, 80], [2, 1, 1]) == pytest.approx((2 * 90 + 80) / 3)
    assert scoring.weighted_index([None, None], [1, 1]) is None
    assert scoring.weighted_index([], []) is None


def test_group_scores_average_respondents_per_item_first():
    # Customer 0: two respondents; item 0 answered 80 and 90 (mean 85), item 1 answered 70 once.
    groups = np.array([0, 0, 0, 1])
    items = np.array([0, 0, 1, 1])
    scores = np.array([80.0, 90.0, 70.0, 95.0])
    score, answers, means = scoring.group_scores(groups, items, scores, 3, [2.0, 1.0])
    assert score[0] == pytest.approx((2 * 85 + 70) / 3)
    assert score[1] == pytest.approx(95.0)  # only item 1: renormalised to its own weight
    assert math.isnan(score[2])
    assert answers.tolist() == [3, 1, 0]
    assert means[0].tolist() == [85.0, 70.0]


def test_correlation_matches_pearsonr():
    x = np.array([70, 80, np.nan, 90, 95, 60])
    y = np.array([72, 85, 90, 88, 99, np.nan])
    both = ~np.isnan(x) & ~np.isnan(y)
    r, n = scoring.correlation(x, y)
    assert n == 4
    assert r == pytest.approx(stats.pearsonr(x[both], y[both])[0])


def test_correlation_undefined_for_constant_or_tiny_samples():
    assert scoring.correlation(np.array([80.0, 80.0, 80.0]), np.array([70.0, 80.0, 90.0])) == (None, 3)
    assert scoring.correlation(np.array([80.0, 90.0]), np.array([70.0, 80.0])) == (None, 2)


def test_per_item_splits_scores():
    parts = scoring.per_item(np.array([2, 0, 2, 1]), np.array([1.0, 2.0, 3.0, 4.0]), 4)
    assert [part.tolist() for part in parts] == [[2.0], [4.0], [1.0, 3.0], []]
