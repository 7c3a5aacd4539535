"""One rounding rule for every format a record is shown in: half away from zero on the shortest decimal."""

from __future__ import annotations

import math

import pytest

from csat.numbers import fixed
from csat.reports import text
from csat.reports.review.cells import cell
from csat.reports.review.docx import cell_text


@pytest.mark.parametrize("value,digits,shown", [
    (88.25, 1, "88.3"), (88.35, 1, "88.4"), (84.45, 1, "84.5"), (-0.25, 1, "-0.3"), (0.125, 2, "0.13"),
    (2.5, 0, "3"), (85.0, 1, "85.0"), (1e-7, 1, "0.0"), (1e30, 1, f"{1e30:.1f}"),
])
def test_halves_round_away_from_zero(value, digits, shown):
    assert fixed(value, digits) == shown


def test_signs_and_non_finite_values():
    assert fixed(0.25, 1, sign=True) == "+0.3" and fixed(-1.25, 1, sign=True) == "-1.3"
    assert fixed(math.inf, 1) == "inf" and fixed(math.nan, 1) == "nan"


def test_the_terminal_html_markdown_and_word_copies_agree():
    """88.25 read 88.2 in the terminal, HTML and Markdown (Python's half-to-even on the binary value) and 88.3
    in the Word copy of the same review."""
    assert text.number(88.25) == cell(88.25, 1) == cell_text(88.25, 1) == "88.3"
    assert text.percent(0.8825) == "88.3%" and text.signed(0.25) == "+0.3"
