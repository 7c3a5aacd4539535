"""Geometry of the inline SVG trend charts in the HTML report.

Only numbers are computed here; the template draws them, so every piece of
text that reaches the SVG goes through Jinja's autoescaping. The y range
follows the data and the action limit (with a margin), not the whole 0-100
scale, so a two-point drop is visible.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

WIDTH, HEIGHT = 360, 190
LEFT, RIGHT, TOP, BOTTOM = 40, 12, 16, 30
INSET = 26  # keeps the first and last period labels inside the picture


def segments(points: list[tuple[float, float] | None]) -> list[list[tuple[float, float]]]:
    """Runs of points between missing values (a line is broken where a round has no value)."""
    runs, current = [], []
    for point in points:
        if point is None:
            if current:
                runs.append(current)
            current = []
        else:
            current.append(point)
    if current:
        runs.append(current)
    return runs


def _segments(points: list[tuple[float, float] | None]) -> list[str]:
    """SVG polyline point lists, broken where a value is missing."""
    return [" ".join(f"{x:.1f},{y:.1f}" for x, y in run) for run in segments(points)]


def line_chart(periods: Sequence[str], means: Sequence[float | None], limits: Sequence[float | None],
               statuses: Sequence[str | None] = ()) -> dict[str, Any]:
    """Coordinates for one item's chart: its mean per round and its action limit as a line."""
    values = [value for value in (*means, *limits) if value is not None]
    low, high = (min(values), max(values)) if values else (0.0, 100.0)
    low, high = math.floor(low - 2), math.ceil(high + 2)
    if high - low < 10:
        middle = (high + low) / 2
        low, high = math.floor(middle - 5), math.ceil(middle + 5)
    plot_width = WIDTH - LEFT - RIGHT - 2 * INSET
    plot_height = HEIGHT - TOP - BOTTOM
    count = len(periods)

    def x_of(index: int) -> float:
        return LEFT + INSET + (plot_width / 2 if count == 1 else plot_width * index / (count - 1))

    def y_of(value: float) -> float:
        return TOP + plot_height * (high - value) / (high - low)

    mean_points = [None if value is None else (x_of(index), y_of(value)) for index, value in enumerate(means)]
    limit_points = [None if value is None else (x_of(index), y_of(value)) for index, value in enumerate(limits)]
    # The limit runs across the whole plot, not only between the first and last rounds.
    if limit_points and limit_points[0] is not None:
        limit_points.insert(0, (LEFT, limit_points[0][1]))
    if limit_points and limit_points[-1] is not None:
        limit_points.append((WIDTH - RIGHT, limit_points[-1][1]))
    statuses = list(statuses) or [None] * count
    step = max(1, (high - low) // 4)
    return {
        "width": WIDTH, "height": HEIGHT, "left": LEFT, "right": WIDTH - RIGHT, "top": TOP,
        "bottom": HEIGHT - BOTTOM,
        "mean_lines": _segments(mean_points),
        "limit_lines": _segments(limit_points),
        "dots": [{"x": round(point[0], 1), "y": round(point[1], 1), "value": f"{means[index]:.1f}",
                  "period": periods[index], "status": statuses[index] or "ok"}
                 for index, point in enumerate(mean_points) if point is not None],
        "x_labels": [{"x": round(x_of(index), 1), "text": period} for index, period in enumerate(periods)],
        "y_ticks": [{"y": round(y_of(value), 1), "text": str(value)} for value in range(int(low), int(high) + 1, int(step))],
    }


def item_charts(trend: dict[str, Any]) -> list[dict[str, Any]]:
    """One chart per item of a trend (see survey._trend)."""
    charts = []
    for item in trend["items"]:
        series = item["series"]
        charts.append({"code": item["code"], "label": item["label"],
                       "chart": line_chart(trend["periods"], [point["mean"] for point in series],
                                           [point["action_limit"] for point in series],
                                           [point["status"] for point in series])})
    return charts
