"""CAPA records: opening from sources without duplicates, numbering, and the state machine."""

import os
import subprocess
import sys
from datetime import date, datetime

import pytest
from feedback_fixtures import open_survey_round, with_customers, with_log  # noqa: F401
from sqlmodel import select

from csat.capa import records as capas
from csat.errors import Conflict, CsatError, NotFound
from csat.feedback import log as feedback
from csat.store.auditlog import entries
from csat.store.models import AuditLog, Capa

TODAY = date(2024, 10, 8)


def from_feedback(store, settings, number=5, **options):
    with store.session() as session:
        return capas.open_for_feedback(session, settings, number, today=TODAY, **options)


def test_open_for_item_needs_a_round_and_the_item(workspace, store):
    settings = workspace.settings
    with store.session() as session:
        with pytest.raises(NotFound, match="no survey round for 2024H1"):
            capas.open_for_item(session, settings, "2024H1", "delivery", today=TODAY)
        with pytest.raises(CsatError, match="is not a half year"):
            capas.open_for_item(session, settings, "2024Q1", "delivery", today=TODAY)
    open_survey_round(store, "2024H1")
    with store.session() as session:
        with pytest.raises(NotFound, match="item 'warranty' is not in the 2024H1 round; its items: quality, delivery"):
            capas.open_for_item(session, settings, "2024H1", "warranty", today=TODAY)
        capa, created = capas.open_for_item(session, settings, "2024H1", "delivery",
                                            reason="On-time delivery scored 78.4, below the action limit 85", today=TODAY)
    assert created and capa.number == "CAPA-2024-001"
    assert (capa.source_kind, capa.status, capa.dept, capa.due_date) == ("item", "open", "materials", date(2024, 11, 7))
    assert capa.title == "On-time delivery below the action limit in the 2024H1 survey"
    assert capa.description == "On-time delivery scored 78.4, below the action limit 85"


def test_opening_twice_returns_the_same_record(workspace, with_log):
    settings = workspace.settings
    open_survey_round(with_log, "2024H1")
    with with_log.session() as session:
        first, created = capas.open_for_item(session, settings, "2024H1", "price", today=TODAY)
        again, created_again = capas.open_for_item(session, settings, "2024H1", "price", title="other", today=TODAY)
        capas.cancel(session, first.number, reason="price is the market's, not ours")
        after_cancel, created_after = capas.open_for_item(session, settings, "2024H1", "price", today=TODAY)
    assert (created, created_again, created_after) == (True, False, False)
    assert first.id == again.id == after_cancel.id
    one, made = from_feedback(with_log, settings, 5)
    two, made_again = from_feedback(with_log, settings, 5)
    assert (made, made_again, one.id == two.id) == (True, False, True)
    with with_log.read_session() as session:
        assert len(session.exec(select(Capa)).all()) == 2
        assert feedback.records(session, settings, [feedback.get(session, 5)])[0]["capa"] == one.number


def test_feedback_source_defaults(workspace, with_log):
    capa, _ = from_feedback(with_log, workspace.settings, 8)
    assert (capa.source_kind, capa.feedback_id, capa.dept) == ("feedback", 8, "engineering")
    assert capa.title == "C-003 Installation or service quality: 现场调试人员未带校准工具，延误一天"
    assert "Feedback #8 from C-003 深圳华科电子有限公司, received 2024-08-12 10:30 by phone" in capa.description
    explicit, _ = from_feedback(with_log, workspace.settings, 7, dept="总经理办公室", due=date(2024, 12, 31), title="Terms")
    assert (explicit.dept, explicit.due_date, explicit.title) == ("gm", date(2024, 12, 31), "Terms")
    for too_early in (date(2024, 10, 7), TODAY):  # one rule: a due date comes after the opening date
        with pytest.raises(CsatError, match=rf"due date {too_early} must be after the date the CAPA was opened \(2024-10-08\)"):
            from_feedback(with_log, workspace.settings, 9, due=too_early)
    with pytest.raises(CsatError, match="unknown department 'canteen'"):
        from_feedback(with_log, workspace.settings, 9, dept="canteen")
    with pytest.raises(NotFound, match="no feedback entry #99"):
        from_feedback(with_log, workspace.settings, 99)


def test_numbers_are_sequential_per_year(workspace, with_log):
    numbers = [from_feedback(with_log, workspace.settings, number)[0].number for number in (4, 5, 6)]
    with with_log.session() as session:
        next_year, _ = capas.open_for_feedback(session, workspace.settings, 8, today=date(2025, 1, 2))
        session.add(Capa(number="CAPA-2025-041", source_kind="other", title="Imported from the old register"))
        session.flush()
        after_gap, _ = capas.open_for_feedback(session, workspace.settings, 9, today=date(2025, 1, 2))
    assert numbers == ["CAPA-2024-001", "CAPA-2024-002", "CAPA-2024-003"]
    assert (next_year.number, after_gap.number) == ("CAPA-2025-001", "CAPA-2025-042")
    with with_log.read_session() as session:
        assert capas.get(session, "capa-2024-002").feedback_id == 5
        assert capas.get(session, "2024-2").feedback_id == 5
        with pytest.raises(NotFound, match="no CAPA 'CAPA-2023-001'"):
            capas.get(session, "CAPA-2023-001")


def test_concurrent_writers_get_distinct_numbers(workspace, with_log):
    env = dict(os.environ, CSAT_HOME=str(workspace.root))
    processes = [subprocess.Popen([sys.executable, "-m", "csat", "capa", "open", "--from-feedback", str(number)],
                                  env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for number in (4, 5, 6, 8)]
    outputs = [process.communicate(timeout=120) for process in processes]
    assert [process.returncode for process in processes] == [0, 0, 0, 0], outputs
    year = date.today().year
    assert sorted(out.strip() for out, _ in outputs) == [f"CAPA-{year}-00{n}" for n in (1, 2, 3, 4)]


# ---- the state machine ----------------------------------------------------------------------

def bring_to(store, settings, status: str) -> str:
    """A fresh CAPA (from entry 5) in the given state; returns its number."""
    capa, _ = from_feedback(store, settings, 5)
    steps = {
        "open": [],
        "in_progress": ["work"],
        "in_progress_blank": [],
        "verified": ["work", "effective"],
        "verified_not_effective": ["work", "not_effective"],
        "closed": ["work", "effective", "close"],
        "cancelled": ["cancel"],
    }[status]
    with store.session() as session:
        for step in steps:
            if step == "work":
                capas.update(session, settings, capa.number, cause="Insert worn", action="Replace inserts every 50k shots")
            elif step == "effective":
                capas.verify(session, capa.number, by="Zhou Li", result="effective")
            elif step == "not_effective":
                capas.verify(session, capa.number, by="Zhou Li", result="not-effective")
            elif step == "close":
                capas.close(session, capa.number)
            elif step == "cancel":
                capas.cancel(session, capa.number, reason="duplicate")
        if status == "in_progress_blank":
            capas.update(session, settings, capa.number, correction="Sorted stock at the customer")
    return capa.number


def attempt(session, settings, verb: str, number: str):
    if verb == "update":
        return capas.update(session, settings, number, cause="late idea")
    if verb == "verify_effective":
        return capas.verify(session, number, by="QA", result="effective")
    if verb == "verify_not_effective":
        return capas.verify(session, number, by="QA", result="not-effective")
    if verb == "close":
        return capas.close(session, number)
    if verb == "reopen":
        return capas.reopen(session, number, reason="cracks again")
    return capas.cancel(session, number, reason="not needed")


LEGAL = {
    "open": {"update": "in_progress", "cancel": "cancelled"},
    "in_progress": {"update": "in_progress", "verify_effective": "verified",
                    "verify_not_effective": "verified_not_effective", "cancel": "cancelled"},
    "in_progress_blank": {"update": "in_progress", "cancel": "cancelled"},
    "verified": {"close": "closed", "reopen": "in_progress"},
    "verified_not_effective": {"reopen": "in_progress", "cancel": "cancelled"},
    "closed": {"reopen": "in_progress"},
    "cancelled": {},
}
VERBS = ["update", "verify_effective", "verify_not_effective", "close", "cancel", "reopen"]
CASES = [(state, verb) for state in LEGAL for verb in VERBS]


@pytest.mark.parametrize("state, verb", CASES)
def test_every_transition(workspace, with_log, state, verb):
    settings = workspace.settings
    number = bring_to(with_log, settings, state)
    with with_log.read_session() as session:
        before = capas.record(session, settings, capas.get(session, number))
        audit_count = len(session.exec(select(AuditLog.id)).all())
    expected = LEGAL[state].get(verb)
    if expected is None:
        with pytest.raises(Conflict, match=f"cannot (update|verify|close|cancel|reopen) {number}"):
            with with_log.session() as session:
                attempt(session, settings, verb, number)
        with with_log.read_session() as session:
            assert capas.record(session, settings, capas.get(session, number)) == before
            assert len(session.exec(select(AuditLog.id)).all()) == audit_count
    else:
        with with_log.session() as session:
            assert attempt(session, settings, verb, number).status == expected


def test_rule_messages(workspace, with_log):
    settings = workspace.settings
    number = bring_to(with_log, settings, "in_progress_blank")
    with with_log.session() as session:
        with pytest.raises(Conflict, match="no root cause and no corrective action recorded yet"):
            capas.verify(session, number, by="QA", result="effective")
        with pytest.raises(Conflict, match="has no effective verification"):
            capas.close(session, number)
        with pytest.raises(CsatError, match="nothing to update"):
            capas.update(session, settings, number)
        with pytest.raises(CsatError, match="say why with --reason"):
            capas.cancel(session, number, reason=" ")
        with pytest.raises(CsatError, match="say who verified it"):
            capas.verify(session, number, by="", result="effective")


def test_life_cycle_of_a_complaint_into_a_capa_and_out_again(workspace, with_customers):
    settings, store = workspace.settings, with_customers
    now = datetime(2024, 7, 1, 9, 0)
    with store.session() as session:
        entry = feedback.add(session, settings, "C-003", "quality", "phone", "HX-200 housing cracks after two weeks",
                             received=datetime(2024, 7, 1, 8, 30), product="HX-200", now=now)
        capa, created = capas.open_for_feedback(session, settings, entry.id, today=date(2024, 7, 1))
    assert created and capa.status == "open" and capa.dept == "quality"
    with store.session() as session:
        feedback.reply(session, entry.id, "Replacements shipped; investigation under CAPA", at=datetime(2024, 7, 2, 10), now=now.replace(day=2, hour=11))
        capas.update(session, settings, capa.number, cause="Mould insert worn", correction="Sorted stock at the customer")
        assert capas.get(session, capa.number).status == "in_progress"
        capas.update(session, settings, capa.number, action="Shot counter on the mould; PM every 50k shots",
                     prevention="Same counter on all housing moulds")
        verified = capas.verify(session, capa.number, by="Zhou Li", result="not-effective", note="Cracks in lot 2407-02",
                                now=datetime(2024, 8, 1, 9))
        assert verified.status == "verified_not_effective"
        capas.reopen(session, capa.number, reason="Cracks in lot 2407-02: the insert material is the cause")
        capas.update(session, settings, capa.number, action="New insert material (H13); PM every 30k shots")
        capas.verify(session, capa.number, by="Zhou Li", result="effective", note="No cracks in 3 lots",
                     now=datetime(2024, 9, 1, 9))
        closed = capas.close(session, capa.number, now=datetime(2024, 9, 2, 9))
        feedback.close(session, entry.id, now=datetime(2024, 9, 2, 10))
    with store.read_session() as session:
        shown = capas.record(session, settings, capas.get(session, capa.number))
    assert (closed.status, closed.closed_at, shown["verification_note"]) == ("closed", datetime(2024, 9, 2, 9),
                                                                             "No cracks in 3 lots")
    assert [(v["date"], v["result"], v["note"]) for v in shown["verifications"]] == [
        (date(2024, 8, 1), "not-effective", "Cracks in lot 2407-02"), (date(2024, 9, 1), "effective", "No cracks in 3 lots")]
    assert [(r["from"], r["reason"]) for r in shown["reopenings"]] == [
        ("verified_not_effective", "Cracks in lot 2407-02: the insert material is the cause")]
    with store.read_session() as session:
        trail = [(item["action"], item["changes"].get("status")) for item in reversed(entries(session, table="capa",
                                                                                               key=capa.number))
                 if item["action"] != "update"]
        record = feedback.records(session, settings, [feedback.get(session, entry.id)])[0]
    assert trail == [("insert", None), ("start", ["open", "in_progress"]),
                     ("verify", ["in_progress", "verified_not_effective"]),
                     ("reopen", ["verified_not_effective", "in_progress"]),
                     ("verify", ["in_progress", "verified"]), ("close", ["verified", "closed"])]
    assert (record["status"], record["capa"]) == ("closed", capa.number)


def test_overdue_and_past_due_query(workspace, with_log):
    settings = workspace.settings
    late, _ = from_feedback(with_log, settings, 4, due=date(2024, 10, 9))
    later, _ = from_feedback(with_log, settings, 5, due=date(2024, 10, 20))
    done = bring_to(with_log, settings, "verified")  # entry 5's CAPA again: already exists, now verified
    assert done == later.number
    with with_log.read_session() as session:
        assert capas.capas_past_due(session, settings, date(2024, 10, 9)) == []
        assert [c.number for c in capas.capas_past_due(session, settings, date(2024, 10, 10))] == [late.number]
        assert [c.number for c in capas.capas_past_due(session, settings, date(2025, 1, 1))] == [late.number]
        listed = capas.records(session, settings, capas.list_capas(session, today=date(2024, 10, 21)), today=date(2024, 10, 21))
    assert [(r["number"], r["status"], r["overdue"], r["source"]) for r in listed] == [
        (late.number, "open", True, "feedback:4"), (later.number, "verified", False, "feedback:5")]


def test_defaults_speak_the_company_language(workspace, with_log):
    settings = workspace.settings
    settings.company.lang = "zh"
    open_survey_round(with_log, "2024H1")
    capa, _ = from_feedback(with_log, settings, 11)
    assert capa.title == "C-010 产品质量或性能: 法兰尺寸超差0.2mm，影响安装"
    assert capa.description.startswith("反馈 #11：C-010 天津北方重工集团，2024-09-03 09:15 经传真收到，产品 FL-80：\n")
    with with_log.session() as session:
        item_capa, _ = capas.open_for_item(session, settings, "2024H1", "price", today=TODAY)
    assert item_capa.title == "2024H1 满意度调查项目“价格”低于行动界限"
    assert item_capa.description == "2024H1 满意度调查项目 price（价格）低于行动界限 85。"
    assert item_capa.dept == "sales"
