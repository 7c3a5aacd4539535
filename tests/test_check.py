"""`csat check`: a history with each gap of the procedure planted once, found once and nothing else.

The history lies in the past (survey rounds 2023H1 to 2024H2 from tests/report_fixtures.py,
complaints of 2025 entered with their stated dates) and every check runs with `--today
2025-08-01`, so the result is the same on any day the suite runs. Records csat stamps with
the real time (a customer added, a summary made) are ordered by one-second pauses where the
rule compares those times.
"""

from __future__ import annotations

import json
import time as clock
from datetime import date, datetime

import pytest
from sqlmodel import select

from csat.capa import links
from csat.capa import records as capas
from csat.feedback import log as feedback
from csat.procedure.check import RULES, find_gaps
from csat.reports.survey import build_trend
from csat.store.models import Notice
from csat.survey.rounds import close_round
from tests.prose import english_lines
from tests.report_fixtures import standard

TODAY = "2025-08-01"
PLANTED_ITEMS = {("2024H2", "delivery"), ("2024H2", "responsiveness")}


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _complaint(session, settings, customer, received, *, kind="quality", product="", replied=None):
    entry = feedback.add(session, settings, customer, kind, "phone", f"complaint of {received}", received=_at(received),
                         product=product)
    if replied:
        feedback.reply(session, entry.id, "answered", at=_at(replied))
    return entry


def build_history(workspace, store, cli) -> dict[str, str]:
    """The history with each gap planted once; returns the names of the records that carry them."""
    settings = workspace.settings
    standard(store)                                    # C-001..C-005 invited to four rounds; C-005 never answers
    with store.session() as session:
        for period in ("2023H1", "2023H2", "2024H1"):
            close_round(session, period)
    clock.sleep(1.1)                                   # C-006 comes after those rounds were closed
    assert cli("customer", "add", "C-006", "--name", "Phone Only Ltd").exit_code == 0   # no e-mail, never answered
    names: dict[str, str] = {}
    with store.session() as session:
        # A CAPA for every flagged item except the two planted ones; tech_support's is verified not effective.
        trend = build_trend(session, settings)
        for item in trend["items"]:
            for point in item["series"]:
                if point["status"] in ("below", "at_risk") and (point["period"], item["code"]) not in PLANTED_ITEMS:
                    capa, _created = capas.open_for_item(session, settings, point["period"], item["code"])
                    names[f"{point['period']}/{item['code']}"] = capa.number
        not_effective = names["2024H2/tech_support"]
        capas.update(session, settings, not_effective, cause="Too few engineers", action="Hire two")
        capas.verify(session, not_effective, by="QA", result="not-effective")
        names["not_effective"] = not_effective

        # The earlier complaint whose CAPA was closed as effective, and its repeat.
        first = _complaint(session, settings, "C-001", "2025-03-10 09:00", product="HX-200", replied="2025-03-11 10:00")
        closed, _created = capas.open_for_feedback(session, settings, first.id, at=date(2025, 3, 11))
        capas.update(session, settings, closed.number, cause="Mould worn", action="New mould")
        capas.verify(session, closed.number, by="QA", result="effective", at=date(2025, 3, 20))
        capas.close(session, closed.number, at=date(2025, 3, 25))
    # The first quarter is summarised (its quarter has ended); an entry logged after it makes it stale.
    assert cli("feedback", "summary", "--quarter", "2025Q1", "--format", "json").exit_code == 0
    clock.sleep(1.1)
    with store.session() as session:
        late = feedback.add(session, settings, "C-004", "market", "email", "Competitor cut prices",
                            received=_at("2025-02-14 11:00"))
        names["late"] = str(late.id)
        repeat = _complaint(session, settings, "C-001", "2025-06-10 08:30", product="hx-200 ", replied="2025-06-11 09:00")
        capas.open_for_feedback(session, settings, repeat.id, at=date(2025, 6, 11), due=date(2025, 9, 30))
        names["repeat"], names["repeated"], names["closed_capa"] = str(repeat.id), str(first.id), closed.number

        # A complaint needing no CAPA, one linked to an item's CAPA, one void: none is a gap.
        no_capa = _complaint(session, settings, "C-005", "2025-04-14 10:00", kind="service", replied="2025-04-15 10:00")
        links.no_capa(session, no_capa.id, "Customer misread the manual; no process at fault")
        linked = _complaint(session, settings, "C-003", "2025-05-12 10:00", product="PX-9", replied="2025-05-13 10:00")
        links.link(session, linked.id, not_effective)
        void = _complaint(session, settings, "C-002", "2025-05-15 10:00")
        feedback.void(session, void.id, "Logged twice")

        # Closed while its CAPA is still open.
        early = _complaint(session, settings, "C-004", "2025-05-05 10:00", replied="2025-05-06 10:00")
        early_capa, _created = capas.open_for_feedback(session, settings, early.id, at=date(2025, 5, 6),
                                                       due=date(2025, 9, 30))
        feedback.close(session, early.id, at=_at("2025-05-20 10:00"), reason="customer satisfied with the reply")
        names["early"], names["early_capa"] = str(early.id), early_capa.number

        # Answered in time, but no CAPA and no reason.
        without = _complaint(session, settings, "C-003", "2025-06-02 10:00", replied="2025-06-03 10:00")
        names["without"] = str(without.id)

        # Never answered; its CAPA was due on 20 July.
        unanswered = _complaint(session, settings, "C-002", "2025-07-01 10:00")
        overdue, _created = capas.open_for_feedback(session, settings, unanswered.id, at=date(2025, 7, 2),
                                                    due=date(2025, 7, 20))
        names["unanswered"], names["overdue"] = str(unanswered.id), overdue.number
    return names


def expected(names: dict[str, str]) -> set[tuple[str, str]]:
    return {
        ("half_without_round", "half:2025H1"),
        ("customer_not_surveyed", "invitation:2024H2/C-006"),
        ("customer_never_answers", "customer:C-005"),
        ("item_below_limit_without_capa", "item:2024H2/delivery"),
        ("item_at_risk_without_capa", "item:2024H2/responsiveness"),
        ("complaint_reply_overdue", f"feedback:{names['unanswered']}"),
        ("complaint_without_capa", f"feedback:{names['without']}"),
        ("complaint_closed_capa_open", f"feedback:{names['early']}"),
        ("complaint_recurring", f"feedback:{names['repeat']}"),
        ("quarter_not_summarised", "quarter:2025Q2"),
        ("summary_stale", "quarter:2025Q1"),
        ("capa_overdue", f"capa:{names['overdue']}"),
        ("capa_not_effective_no_follow_up", f"capa:{names['not_effective']}"),
    }


@pytest.fixture
def history(workspace, store, cli):
    return build_history(workspace, store, cli)


def test_each_planted_gap_is_found_once_and_nothing_else(workspace, store, cli, history):
    result = cli("check", "--today", TODAY, "--format", "json")
    assert result.exit_code == 3, result
    data = json.loads(result.stdout)
    found = [(gap["rule"], gap["record"]) for gap in data["gaps"]]
    assert sorted(found) == sorted(expected(history))
    assert {rule for rule, _record in found} == set(RULES)          # every rule has its planted gap
    # The JSON contract: these keys exactly, counts by rule and severity.
    assert set(data) == {"period", "gaps", "counts"} and data["period"] == "all"
    assert all(set(gap) == {"rule", "severity", "record", "what", "fix"} for gap in data["gaps"])
    assert data["counts"]["total"] == 13 and data["counts"]["by_rule"] == {rule: 1 for rule in RULES}
    assert data["counts"]["major"] == sum(severity == "major" for severity in RULES.values())
    assert data["counts"]["major"] + data["counts"]["minor"] == 13
    by_rule = {gap["rule"]: gap for gap in data["gaps"]}
    # Each says what is wrong and names the command that fixes it.
    assert by_rule["complaint_recurring"]["what"] == (
        f"complaint #{history['repeat']} from C-001 (received 2025-06-10) repeats #{history['repeated']}, whose"
        f" {history['closed_capa']} was closed as effective on 2025-03-25")
    assert by_rule["complaint_recurring"]["fix"] == f"csat capa reopen {history['closed_capa']} --reason ..."
    assert by_rule["customer_not_surveyed"]["what"] == (
        "C-006 has no e-mail address and gave no 2024H2 answers by phone, fax or visit")
    assert by_rule["customer_not_surveyed"]["fix"] == "csat response add C-006 --half 2024H2 --score ..."
    assert by_rule["item_below_limit_without_capa"]["fix"] == "csat capa open --from-item delivery --half 2024H2"
    assert by_rule["summary_stale"]["what"] == (
        f"the 2025Q1 summary (version 1, made on {datetime.now():%Y-%m-%d}) is stale: 1 entries added and 0 changed since")
    assert by_rule["complaint_reply_overdue"]["severity"] == "major" and by_rule["capa_overdue"]["severity"] == "minor"
    for gap in data["gaps"]:
        assert gap["fix"].startswith("csat ")


def test_the_table_lists_the_gaps_and_the_function_agrees(workspace, store, cli, history):
    result = cli("check", "--today", TODAY)
    assert result.exit_code == 3
    assert "half_without_round" in result.stdout and "csat survey open --half 2025H1" in result.stdout
    assert result.stderr.strip() == "13 gap(s): 7 major, 6 minor"
    with store.read_session() as session:
        direct = find_gaps(session, workspace.settings, today=date(2025, 8, 1))
    assert {(gap.rule, gap.record) for gap in direct.gaps} == expected(history)
    assert direct.has_major and direct.counts["total"] == 13


def test_fixing_a_gap_removes_it(workspace, store, cli, history):
    """What a person does after reading the list: each command clears its line."""
    assert cli("capa", "open", "--from-item", "delivery", "--half", "2024H2").exit_code == 0
    assert cli("feedback", "no-capa", history["without"], "--reason", "Price question, answered by sales").exit_code == 0
    shown = cli("feedback", "show", history["without"]).stdout
    assert "Why no CAPA" in shown and "Price question, answered by sales" in shown
    assert cli("capa", "reopen", history["closed_capa"], "--reason", "Cracks came back").exit_code == 0
    data = json.loads(cli("check", "--today", TODAY, "--format", "json").stdout)
    rules = {gap["rule"] for gap in data["gaps"]}
    assert not rules & {"item_below_limit_without_capa", "complaint_without_capa", "complaint_recurring"}
    # Reopened, the CAPA is back in the work and past the due date it had: a gap of its own.
    assert ("capa_overdue", f"capa:{history['closed_capa']}") in {(gap["rule"], gap["record"]) for gap in data["gaps"]}
    assert data["counts"]["total"] == 11


def test_half_and_since_keep_the_gaps_of_their_records(workspace, store, cli, history):
    half = json.loads(cli("check", "--half", "2024H2", "--today", TODAY, "--format", "json").stdout)
    assert half["period"] == "2024H2"
    assert {(gap["rule"], gap["record"]) for gap in half["gaps"]} == {
        ("customer_not_surveyed", "invitation:2024H2/C-006"),
        ("customer_never_answers", "customer:C-005"),
        ("item_below_limit_without_capa", "item:2024H2/delivery"),
        ("item_at_risk_without_capa", "item:2024H2/responsiveness"),
    }
    since = json.loads(cli("check", "--since", "2025-06-01", "--today", TODAY, "--format", "json").stdout)
    assert since["period"] == "2025-06-01/.."
    assert {gap["rule"] for gap in since["gaps"]} == {
        "half_without_round", "complaint_reply_overdue", "complaint_without_capa", "complaint_recurring",
        "quarter_not_summarised", "capa_overdue", "capa_not_effective_no_follow_up"}
    both = cli("check", "--half", "2024H2", "--since", "2025-01-01")
    assert both.exit_code == 2 and "not both" in both.stderr


def test_only_minor_gaps_exit_zero_and_no_gaps_says_so(workspace, store, cli):
    empty = cli("check", "--today", TODAY)
    assert empty.exit_code == 0 and "no gaps" in empty.stderr
    with store.session() as session:
        feedback.add(session, workspace.settings, _customer(session), "market", "email", "Prices up",
                     received=_at("2025-05-02 10:00"))
    minor = cli("check", "--today", TODAY, "--format", "json")
    assert minor.exit_code == 0
    assert [(gap["rule"], gap["severity"]) for gap in json.loads(minor.stdout)["gaps"]] == [
        ("quarter_not_summarised", "minor")]


def _customer(session) -> str:
    from csat.registry import customers

    customers.add(session, code="C-100", name="Quiet Co.", email="buyer@quiet.example")
    return "C-100"


def test_voided_feedback_and_withdrawn_responses_count_nowhere(workspace, store, cli, history):
    assert cli("feedback", "void", history["unanswered"], "--reason", "Wrong customer").exit_code == 0
    data = json.loads(cli("check", "--today", TODAY, "--format", "json").stdout)
    assert not any(gap["record"] == f"feedback:{history['unanswered']}" for gap in data["gaps"])
    # C-006 has no e-mail: answers taken by phone close its gap; withdrawn, they count nowhere again.
    gap = ("customer_not_surveyed", "invitation:2024H2/C-006")
    assert cli("response", "add", "C-006", "--half", "2024H2", "--score", "quality=93").exit_code == 0
    data = json.loads(cli("check", "--today", TODAY, "--format", "json").stdout)
    assert gap not in {(found["rule"], found["record"]) for found in data["gaps"]}
    responses = json.loads(cli("response", "list", "--half", "2024H2", "--format", "json").stdout)
    phoned = next(response["id"] for response in responses if response["customer"] == "C-006")
    assert cli("response", "withdraw", phoned, "--reason", "Entered for the wrong customer").exit_code == 0
    data = json.loads(cli("check", "--today", TODAY, "--format", "json").stdout)
    assert gap in {(found["rule"], found["record"]) for found in data["gaps"]}


def test_chinese_workspace_prints_no_english_prose(workspace, store, cli, history):
    assert cli("config", "set", "company.lang", "zh").exit_code == 0
    result = cli("check", "--today", TODAY)
    assert result.exit_code == 3
    assert "严重" in result.stdout and "个缺口" in result.stderr
    assert english_lines(result.stdout + result.stderr, ["Phone Only Ltd", "HX-200", "PX-9"]) == []
    data = json.loads(cli("check", "--today", TODAY, "--format", "json").stdout)
    assert data["gaps"][0]["rule"] == "half_without_round" and data["gaps"][0]["severity"] == "major"   # codes stay


def test_the_digest_lists_each_new_gap_once(workspace, store, cli, history):
    first = cli("remind", "--today", TODAY, "-v")
    assert first.exit_code == 0
    listed = [line for line in first.stderr.splitlines() if "new gap" in line]
    # Overdue replies, overdue CAPAs and unsummarised quarters have their own daily lines, a stale summary its own line.
    assert len(listed) == 9
    assert first.stderr.count("the 2025Q1 feedback summary (version 1, made on") == 1
    assert any(f"csat capa reopen {history['closed_capa']} --reason ..." in line for line in listed)
    assert cli("remind", "--today", TODAY, "-v").stderr.count("new gap") == 0
    later = cli("remind", "--today", "2025-08-02", "-v")
    assert "new gap" not in later.stderr
    # A new complaint without a CAPA is reported once its reply deadline has passed, then never again.
    with store.session() as session:
        entry = _complaint(session, workspace.settings, "C-003", "2025-08-04 09:00", replied="2025-08-04 15:00")
    new = cli("remind", "--today", "2025-08-11", "-v").stderr
    assert [line.strip() for line in new.splitlines() if "new gap" in line] == [
        f"- new gap (major): complaint #{entry.id} from C-003 (received 2025-08-04) has no CAPA and no reason why"
        f" none is needed: run `csat capa open --from-feedback {entry.id}`"]
    assert "new gap" not in cli("remind", "--today", "2025-08-12", "-v").stderr
    with store.read_session() as session:
        keys = session.exec(select(Notice.key).where(Notice.kind == "once")).all()
    assert f"gap:complaint_without_capa:feedback:{entry.id}" in keys and len(keys) == 11


def test_link_and_no_capa_refuse_what_makes_no_sense(workspace, store, cli, history):
    other = history["early_capa"]
    refused = cli("feedback", "link", history["without"], other)
    assert refused.exit_code == 1 and f"{other} already handles feedback #{history['early']}" in refused.stderr
    assert cli("feedback", "link", history["without"], other, "--shared").exit_code == 0
    assert cli("feedback", "show", history["without"], "--format", "json").stdout.count(other) == 1
    again = cli("feedback", "link", history["without"], other)
    assert again.exit_code == 0 and "nothing changed" in again.stderr
    assert "already handled by" in cli("feedback", "link", history["without"], history["overdue"]).stderr
    assert "no CAPA 'CAPA-2099-001'" in cli("feedback", "link", history["late"], "CAPA-2099-001").stderr
    assert "no feedback entry #999" in cli("feedback", "link", "999", other).stderr
    assert "not a complaint" in cli("feedback", "no-capa", history["late"], "--reason", "x").stderr
    assert "is handled by" in cli("feedback", "no-capa", history["early"], "--reason", "x").stderr
    # `capa open --from-feedback` on a linked entry gives the linked CAPA, never a second one.
    opened = cli("capa", "open", "--from-feedback", history["without"])
    assert opened.exit_code == 0 and opened.stdout.strip() == other and "already exists" in opened.stderr
    audit = cli("audit", "list", "--table", "feedback", "--format", "json")
    actions = [entry["action"] for entry in json.loads(audit.stdout)]
    assert "link" in actions and "no-capa" in actions


def test_the_half_before_a_half():
    """Half.previous gave 2024H1 for 2025H2 (a year back) and 2025H2 for 2025H1 (forward)."""
    from csat.periods import Half

    assert str(Half.parse("2025H2").previous()) == "2025H1"
    assert str(Half.parse("2025H1").previous()) == "2024H2"
    assert Half.parse("2025H1").previous().next() == Half.parse("2025H1")


def test_a_capa_opened_after_all_replaces_the_reason_why_none_was_needed(workspace, store, cli, history):
    assert cli("feedback", "no-capa", history["without"], "--reason", "Price question").exit_code == 0
    opened = cli("capa", "open", "--from-feedback", history["without"])
    assert opened.exit_code == 0 and "Opened" in opened.stderr
    shown = json.loads(cli("feedback", "show", history["without"], "--format", "json").stdout)
    assert shown["capa"] == opened.stdout.strip() and shown["no_capa_reason"] == "" and not shown["capa_linked"]
    linked = json.loads(cli("feedback", "show", history["late"], "--format", "json").stdout)
    assert linked["capa"] is None
    voided = cli("feedback", "void", history["early"], "--reason", "Logged for the wrong customer")
    assert history["early_capa"] in voided.stderr     # opened from it: it stays, and the line says so
