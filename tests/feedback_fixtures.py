"""Shared fixtures for the feedback and CAPA tests: the example customers and feedback log loaded.

The example log (examples/feedback-log.csv) is hand-counted: rows 1-3 are
2024Q2, rows 4-15 are 2024Q3 (row 15 received 30 Sep 23:59), rows 16-18 are
2024Q4 (row 16 received 1 Oct 00:00). In a fresh store entry numbers equal
row numbers.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
FEEDBACK_LOG = EXAMPLES / "feedback-log.csv"


def load_customers(store, workspace) -> None:
    from csat.registry import customers

    with store.session() as session:
        customers.import_file(session, EXAMPLES / "customers.csv", default_language="en")


@pytest.fixture
def with_customers(workspace, store):
    load_customers(store, workspace)
    return store


@pytest.fixture
def with_log(workspace, with_customers):
    from csat.feedback.intake import import_file

    with with_customers.session() as session:
        result = import_file(session, workspace.settings, FEEDBACK_LOG)
    assert result.added == list(range(1, 19))
    return with_customers


def open_survey_round(store, period: str = "2024H1"):
    from csat.periods import Half
    from csat.survey.rounds import open_round

    with store.session() as session:
        return open_round(session, Half.parse(period), today=date(2024, 6, 1))
