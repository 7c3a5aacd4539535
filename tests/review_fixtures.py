"""A workspace for the review pack: four survey rounds (tests/report_fixtures.py, the latest 2024H2),
the example feedback log (2024Q2 to 2024Q4, tests/feedback_fixtures.py) and CAPAs in different states.

CAPAs (numbers in order of opening):
- CAPA-2024-001 from complaint #1, opened, verified effective and closed in 2024H1: not in the 2024H2 review;
- CAPA-2024-002 from complaint #13, opened 2024-09-20, verified not effective 2024-12-10 (still being worked on);
- CAPA-2024-003 for the item delivery of 2024H2, opened 2024-11-10, verified effective 2024-12-01, closed 2024-12-05;
- CAPA-2024-004 from complaint #17, opened 2024-11-15, due 2024-12-15, nothing done: overdue.
"""

from __future__ import annotations

from datetime import date

from tests.feedback_fixtures import FEEDBACK_LOG, load_customers
from tests.report_fixtures import standard


def review_store(workspace, store):
    from csat.capa import records as capas
    from csat.feedback.intake import import_file

    load_customers(store, workspace)
    standard(store)
    settings = workspace.settings
    with store.session() as session:
        import_file(session, settings, FEEDBACK_LOG)
    with store.session() as session:
        first, _ = capas.open_for_feedback(session, settings, 1, at=date(2024, 4, 10))
        capas.update(session, settings, first.number, cause="Porous casting", action="Leak test every housing")
        capas.verify(session, first.number, by="QA", result="effective", at=date(2024, 4, 30))
        capas.close(session, first.number, at=date(2024, 5, 2))
        second, _ = capas.open_for_feedback(session, settings, 13, at=date(2024, 9, 20))
        capas.update(session, settings, second.number, cause="Worn mould insert", action="New insert")
        capas.verify(session, second.number, by="QA", result="not-effective", at=date(2024, 12, 10))
        third, _ = capas.open_for_item(session, settings, "2024H2", "delivery", at=date(2024, 11, 10))
        capas.update(session, settings, third.number, cause="Planning", action="Weekly slot review")
        capas.verify(session, third.number, by="QA", result="effective", at=date(2024, 12, 1))
        capas.close(session, third.number, at=date(2024, 12, 5))
        capas.open_for_feedback(session, settings, 17, at=date(2024, 11, 15), due=date(2024, 12, 15))
    return store
