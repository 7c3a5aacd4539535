"""The report's long JSON lists are written as text row by row (csat.reports.json_text); that text must be
exactly what json.dumps makes of the record every other format shows, whatever the customer typed."""

from __future__ import annotations

import json
import math

from hypothesis import given, settings, strategies as st

from csat.reports import queries, survey
from csat.reports.json_text import json_value

TEMPLATE = [queries.RoundItemRow(1, 11, "quality", 0, "Quality \"A\"", "质量", 1.0, 85.0, 0.0, 100.0),
            queries.RoundItemRow(1, 12, "delivery", 1, "Delivery\\", "", 1.0, 85.0, 0.0, 100.0)]
text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)
scores = st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True), st.integers(0, 100).map(float))


def _dumped(record) -> str:
    return json.dumps(record, ensure_ascii=False, allow_nan=False)


@settings(max_examples=300, deadline=None)
@given(st.one_of(text, st.none(), st.booleans(), st.integers(-10**20, 10**20),
                 st.floats(allow_nan=False, allow_infinity=False)))
def test_a_scalar_is_written_as_json_dumps_writes_it(value):
    assert json_value(value) == json.dumps(value, ensure_ascii=False)


def test_non_finite_numbers_are_null_and_odd_values_still_json():
    assert [json_value(value) for value in (math.nan, math.inf, -math.inf)] == ["null"] * 3
    assert json_value([1, "二"]) == '[1, "二"]'


@settings(max_examples=300, deadline=None)
@given(text, text, scores, st.integers(0, 50), st.integers(1, 9))
def test_a_customer_row_is_the_json_of_its_record(code, name, score, answers, respondents):
    records = survey._customers([(code, name, score, answers, respondents)], 85.0)
    record = records[0]
    encoded = next(iter(records.json_texts()))
    assert json.loads(encoded) == record
    assert encoded == _dumped(record)


@settings(max_examples=300, deadline=None)
@given(text, text, text, st.sampled_from([None, 11, 12, 99]), text, st.sampled_from(["en", "zh"]))
def test_a_comment_row_is_the_json_of_its_record(code, name, respondent, item_id, comment, lang):
    records = survey._comments([(code, name, respondent, item_id, comment)], TEMPLATE, {"delivery"}, lang)
    encoded = next(iter(records.json_texts()))
    assert encoded == _dumped(records[0])


def test_a_comment_with_a_date_as_written_is_shown_in_the_reports_language():
    stored = "  delivered [date as written: 3/4 last week]\n"
    records = survey._comments([("C-1", "A", "", None, stored)], TEMPLATE, set(), "zh")
    assert json.loads(next(iter(records.json_texts())))["text"] == records[0]["text"]
    assert "date as written" not in records[0]["text"] and records[0]["text"].startswith("delivered")

