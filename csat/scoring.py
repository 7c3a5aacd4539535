"""Survey statistics and the rules that decide which items need action.

Pure functions over numbers: no database, no I/O, no terminal, so every rule
can be tested at its boundaries on fixed data. Quantiles, the least-squares
trend and the Student t quantile come from numpy and scipy.special (scipy.stats
costs half a second to import, which every `csat report` would pay).

Only answered, applicable scores reach these functions: a blank answer or an
N/A is kept in the store but never averaged. Comparisons with a limit ignore
differences below 1e-9, so a mean that prints as 85.0 is never "below 85"
because of floating-point noise.

Status of an item in a round:
- `below`   the mean is under the item's action limit;
- `at_risk` the mean is at or above the limit, but either the least-squares
            line through this round and up to three earlier rounds with data
            (at least three points) is falling and projects under the limit for
            the next round, or the mean is within `margin` points above the
            limit (inclusive) and lower than the previous round's mean;
- `ok`      otherwise; `no_data` when nobody answered the item.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from csat.i18n import NC_, in_context
from csat.numbers import fixed

BELOW, AT_RISK, OK, NO_DATA = "below", "at_risk", "ok", "no_data"
FLAGGED = (BELOW, AT_RISK)
TOLERANCE = 1e-9
TREND_POINTS = 4  # this round and up to three earlier rounds with data
MIN_TREND_POINTS = 3
MIN_CORRELATION_PAIRS = 3


@dataclass(frozen=True)
class Rules:
    """The thresholds one item is scored against (csat.toml [survey], the item's own limit)."""

    action_limit: float = 85.0
    margin: float = 3.0
    top_box: float = 90.0


def finite(value: Any) -> float | None:
    """A plain float for JSON, or None for a missing or non-finite value."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def t_quantile(degrees_of_freedom: int, probability: float = 0.975) -> float:
    """The Student t quantile (inverse CDF), e.g. 2.776 for 4 degrees of freedom at 0.975."""
    from scipy.special import stdtrit

    return float(stdtrit(degrees_of_freedom, probability))


def describe(scores: Sequence[float] | np.ndarray, action_limit: float = 85.0, top_box: float = 90.0,
             confidence: float = 0.95) -> dict[str, Any]:
    """n, mean, sd (n-1), median, min, max, a Student t interval for the mean, below and top-box shares.

    NaN values are treated as missing. Undefined values are None: everything but n
    when n = 0; sd and the interval when n = 1.
    """
    values = np.asarray(scores, dtype=float).ravel()
    values = values[~np.isnan(values)]
    n = int(values.size)
    result: dict[str, Any] = {"n": n, "mean": None, "sd": None, "median": None, "min": None, "max": None,
                              "ci_low": None, "ci_high": None, "below_share": None, "top_box_share": None}
    if n == 0:
        return result
    mean = float(np.mean(values))
    result.update(mean=mean, median=float(np.median(values)), min=float(values.min()), max=float(values.max()),
                  below_share=float(np.count_nonzero(values < action_limit - TOLERANCE)) / n,
                  top_box_share=float(np.count_nonzero(values >= top_box - TOLERANCE)) / n)
    if n >= 2:
        sd = float(np.std(values, ddof=1))
        half_width = t_quantile(n - 1, 0.5 + confidence / 2) * sd / math.sqrt(n)
        result.update(sd=sd, ci_low=mean - half_width, ci_high=mean + half_width)
    return result


def from_moments(count: int, total: float | None, total_of_squares: float | None) -> dict[str, Any]:
    """n, mean and sd from SQL aggregates (count, sum, sum of squares): for trends over many rounds."""
    n = int(count or 0)
    if n == 0 or total is None:
        return {"n": 0, "mean": None, "sd": None}
    mean = float(total) / n
    sd = None
    if n >= 2 and total_of_squares is not None:
        variance = (float(total_of_squares) - n * mean * mean) / (n - 1)
        sd = math.sqrt(max(variance, 0.0))
    return {"n": n, "mean": mean, "sd": sd}


def exact_variance(n: int, shifted_sum: float, shifted_squares: float) -> float:
    """Sample variance (n-1) from the sums of x - c and (x - c)^2 over n values, for any shift c.

    The float sums are taken as exact and combined in rational arithmetic, so the one rounding is the
    final one: with whole-number scores (exact sums) this is the correctly rounded variance, which
    numpy's two-pass formula also reaches; sums of squares never lose precision by cancellation here.
    """
    from fractions import Fraction

    total, squares = Fraction(shifted_sum), Fraction(shifted_squares)
    return max(float((squares - total * total / n) / (n - 1)), 0.0)


def from_sums(n: int, total: float | None, shift: float, shifted_sum: float, shifted_squares: float,
              low: float | None, high: float | None, below: int, top: int, median: float | None,
              confidence: float = 0.95) -> dict[str, Any]:
    """What `describe` returns, from SQL aggregates of one item: n, sum, shifted sums, min, max, the
    counts below the limit and in the top box, and the median."""
    n = int(n or 0)
    result: dict[str, Any] = {"n": n, "mean": None, "sd": None, "median": None, "min": None, "max": None,
                              "ci_low": None, "ci_high": None, "below_share": None, "top_box_share": None}
    if n == 0 or total is None:
        return {**result, "n": 0}
    mean = float(total) / n
    result.update(mean=mean, median=None if median is None else float(median), min=float(low), max=float(high),
                  below_share=float(below) / n, top_box_share=float(top) / n)
    if n >= 2:
        sd = math.sqrt(exact_variance(n, shifted_sum, shifted_squares))
        half_width = t_quantile(n - 1, 0.5 + confidence / 2) * sd / math.sqrt(n)
        result.update(sd=sd, ci_low=mean - half_width, ci_high=mean + half_width)
    return result


def correlation_from_sums(n: int, sum_x: float, sum_y: float, squares_x: float, squares_y: float,
                          products: float, constant: bool) -> float | None:
    """Pearson r from the sums of (shifted) x, y, x^2, y^2 and x*y over n pairs, as `correlation` decides:
    None under three pairs or when either side is constant."""
    from fractions import Fraction

    if n < MIN_CORRELATION_PAIRS or constant:
        return None
    sx, sy = Fraction(sum_x), Fraction(sum_y)
    covariance = Fraction(products) - sx * sy / n
    spread_x = Fraction(squares_x) - sx * sx / n
    spread_y = Fraction(squares_y) - sy * sy / n
    if spread_x <= 0 or spread_y <= 0:
        return None
    r = float(covariance) / math.sqrt(float(spread_x) * float(spread_y))
    return finite(max(-1.0, min(1.0, r)))


def trend_line(means: Sequence[float]) -> tuple[float, float]:
    """Least-squares slope per round and the projection for the next round, over equally spaced rounds."""
    points = np.asarray(means, dtype=float)
    positions = np.arange(points.size, dtype=float)
    slope, intercept = np.polyfit(positions, points, 1)
    return float(slope), float(slope * points.size + intercept)


def _number(value: float) -> str:
    """A mean or slope as people read it: one decimal, two when it would otherwise show 0.0."""
    text = fixed(value, 1)
    if text in ("0.0", "-0.0") and value != 0:
        text = fixed(value, 2)
    return text


def _limit(value: float) -> str:
    return f"{value:g}"


def _under(value: float, limit: float) -> str:
    """A value under the limit, with enough decimals that it reads as under (84.99, not 85.0)."""
    for digits in (1, 2, 3, 4, 6):
        text = f"{value:.{digits}f}"
        if float(text) < limit:
            return text
    return repr(value)


_REASONS: dict[str, tuple[str, str]] = {   # why an item is flagged, in the report's language (catalog context "reason")
    "no_data": NC_("reason", "no answers"),
    "below": NC_("reason", "mean {mean} < {limit}"),
    "falling": NC_("reason", "falling {slope} points a round, projected {projection} next round"),
    "margin": NC_("reason", "mean {mean} is within {margin} points of the limit {limit} and down from {previous}"),
    "small": NC_("reason", "only {n} answers"),
    "small_one": NC_("reason", "only 1 answer"),
}


@dataclass
class Assessment:
    """An item's status in one round and the plain-language reasons for it."""

    status: str
    reasons: list[str] = field(default_factory=list)
    slope: float | None = None
    projection: float | None = None

    @property
    def reason(self) -> str | None:
        return "; ".join(self.reasons) if self.reasons else None

    @property
    def flagged(self) -> bool:
        return self.status in FLAGGED


def assess(mean: float | None, earlier_means: Sequence[float], rules: Rules, lang: str = "en") -> Assessment:
    """Apply the status rules to a round's mean, given the item's earlier round means (oldest first).

    `earlier_means` holds only rounds in which the item had answers.
    """
    text = {key: in_context(lang, *word) for key, word in _REASONS.items()}
    if mean is None:
        return Assessment(NO_DATA, [text["no_data"]])
    limit = rules.action_limit
    if mean < limit - TOLERANCE:
        return Assessment(BELOW, [text["below"].format(mean=_under(mean, limit), limit=_limit(limit))])
    reasons: list[str] = []
    slope = projection = None
    series = [*list(earlier_means)[-(TREND_POINTS - 1):], mean]
    if len(series) >= MIN_TREND_POINTS:
        slope, projection = trend_line(series)
        if slope < -TOLERANCE and projection < limit - TOLERANCE:
            reasons.append(text["falling"].format(slope=_number(-slope), projection=_under(projection, limit)))
    if earlier_means:
        previous = earlier_means[-1]
        if mean <= limit + rules.margin + TOLERANCE and mean < previous - TOLERANCE:
            reasons.append(text["margin"].format(mean=_number(mean), margin=_limit(rules.margin),
                                                 limit=_limit(limit), previous=_number(previous)))
    return Assessment(AT_RISK if reasons else OK, reasons, slope, projection)


def small_sample(n: int, min_n: int) -> bool:
    """Fewer counted answers than the report's minimum (csat.toml [report] min_n)."""
    return n < min_n


def small_sample_reason(n: int, lang: str = "en") -> str:
    """'only 2 answers': why a small sample's mean is read with care."""
    text = {key: in_context(lang, *word) for key, word in _REASONS.items()}
    return text["small_one"] if n == 1 else text["small"].format(n=n)


def clip_interval(low: float | None, high: float | None, scale_min: float,
                  scale_max: float) -> tuple[float | None, float | None]:
    """A confidence interval cut to the item's scale: a mean cannot lie outside it (wide on small samples)."""
    if low is None or high is None:
        return low, high
    return max(low, scale_min), min(high, scale_max)


def weighted_index(means: Sequence[float | None], weights: Sequence[float]) -> float | None:
    """Weighted mean of item means, renormalised over the items that have a mean (the CSI)."""
    values = np.array([np.nan if mean is None else mean for mean in means], dtype=float)
    weight = np.asarray(weights, dtype=float)
    present = ~np.isnan(values)
    if not present.any() or weight[present].sum() <= 0:
        return None
    return float(np.average(values[present], weights=weight[present]))


def group_scores(groups: np.ndarray, items: np.ndarray, scores: np.ndarray, n_groups: int,
                 weights: Sequence[float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weighted score of each group (a respondent, a customer) from its answers.

    groups and items are 0-based indexes of each answer; a group's item mean is
    the mean of its answers to that item (a customer with several respondents),
    and its score is the weighted mean of those item means, renormalised over
    the items it answered. Returns (score per group, NaN where none; answers per
    group; the group x item matrix of item means).
    """
    weight = np.asarray(weights, dtype=float)
    n_items = weight.size
    cells = np.asarray(groups, dtype=np.int64) * n_items + np.asarray(items, dtype=np.int64)
    sums = np.bincount(cells, weights=scores, minlength=n_groups * n_items).reshape(n_groups, n_items)
    counts = np.bincount(cells, minlength=n_groups * n_items).reshape(n_groups, n_items)
    answered = counts > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        item_means = np.where(answered, sums / np.where(answered, counts, 1), np.nan)
        weight_present = answered @ weight
        weighted = np.where(answered, item_means, 0.0) @ weight
        score = np.where(weight_present > 0, weighted / np.where(weight_present > 0, weight_present, 1), np.nan)
    return score, counts.sum(axis=1).astype(int), item_means


def correlation(values: np.ndarray, basis: np.ndarray) -> tuple[float | None, int]:
    """Pearson r between two columns over the rows where both are present, and that row count.

    None when fewer than three pairs or either side is constant (r is undefined).
    """
    x = np.asarray(values, dtype=float)
    y = np.asarray(basis, dtype=float)
    both = ~np.isnan(x) & ~np.isnan(y)
    n = int(both.sum())
    if n < MIN_CORRELATION_PAIRS:
        return None, n
    x, y = x[both], y[both]
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        return None, n
    return finite(np.corrcoef(x, y)[0, 1]), n


def per_item(item_index: np.ndarray, scores: np.ndarray, n_items: int) -> list[np.ndarray]:
    """Split scores into one array per item (0-based indexes), with one stable sort."""
    order = np.argsort(item_index, kind="stable")
    sorted_items = item_index[order]
    bounds = np.searchsorted(sorted_items, np.arange(n_items + 1))
    sorted_scores = scores[order]
    return [sorted_scores[bounds[index]:bounds[index + 1]] for index in range(n_items)]
