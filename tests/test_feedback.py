"""The feedback log in the core: adding, the reply-time rules, replies and closing, reminder queries."""

from datetime import date, datetime

import pytest
from feedback_fixtures import with_customers, with_log  # noqa: F401
from sqlmodel import select

from csat.errors import Conflict, CsatError, NotFound
from csat.feedback import log as feedback
from csat.periods import Quarter
from csat.store.auditlog import entries
from csat.store.models import Feedback

NOW = datetime(2024, 10, 10, 12, 0)


def add(store, settings, **overrides):
    values = {"customer_code": "C-003", "kind": "quality", "channel": "phone", "text": "Housing cracked",
              "received": datetime(2024, 7, 1, 9, 0), "now": NOW} | overrides
    with store.session() as session:
        return feedback.add(session, settings, **values)


def count(store) -> int:
    with store.read_session() as session:
        return len(session.exec(select(Feedback)).all())


def test_kinds_decide_what_is_a_complaint(workspace, with_customers):
    kinds = {kind: add(with_customers, workspace.settings, kind=kind).complaint for kind in feedback.KINDS}
    assert kinds == {"quality": True, "requirement": False, "contract": False, "market": False,
                     "conduct": True, "service": True, "other": False}


def test_chinese_kind_channel_and_department_names(workspace, with_customers):
    entry = add(with_customers, workspace.settings, kind="业务员行为", channel="传真", dept="业务部")
    assert (entry.kind, entry.channel, entry.dept, entry.complaint) == ("conduct", "fax", "sales", True)


@pytest.mark.parametrize("overrides, message", [
    ({"customer_code": "NOPE"}, "unknown customer 'NOPE'"),
    ({"kind": "praise"}, "unknown kind 'praise'; valid: quality (质量), requirement (要求), contract (合同), market (市场), conduct (业务行为), service (服务), other (其他)"),
    ({"channel": "pigeon"}, "unknown channel 'pigeon'; valid: phone (电话), fax (传真), email (邮件), meeting (会议), visit (拜访), wechat (微信), dingtalk (钉钉), other (其他)"),
    ({"received": datetime(2024, 10, 10, 12, 1)}, "--received 2024-10-10 12:01 is in the future"),
    ({"text": "  "}, "the feedback text is empty"),
    ({"dept": "canteen"}, "unknown department 'canteen'"),
])
def test_bad_input_is_refused_and_nothing_written(workspace, with_customers, overrides, message):
    with pytest.raises(CsatError) as raised:
        add(with_customers, workspace.settings, **overrides)
    assert message in str(raised.value)
    assert count(with_customers) == 0


def test_quarter_membership_uses_local_time(workspace, with_customers):
    late = add(with_customers, workspace.settings, received=datetime(2024, 9, 30, 23, 59))
    early = add(with_customers, workspace.settings, received=datetime(2024, 10, 1, 0, 0))
    first = add(with_customers, workspace.settings, received=datetime(2024, 7, 1, 0, 0))
    with with_customers.read_session() as session:
        q3 = [entry.id for entry in feedback.list_entries(session, quarter=Quarter.parse("2024Q3"))]
        q4 = [entry.id for entry in feedback.list_entries(session, quarter=Quarter.parse("2024Q4"))]
    assert q3 == [first.id, late.id]
    assert q4 == [early.id]


@pytest.mark.parametrize("text, expected", [
    ("2024-09-30", datetime(2024, 9, 30)),
    ("2024-09-30 23:59", datetime(2024, 9, 30, 23, 59)),
    ("2024/9/3 8:05", datetime(2024, 9, 3, 8, 5)),
    ("2024年9月30日", datetime(2024, 9, 30)),
    (date(2024, 9, 30), datetime(2024, 9, 30)),
])
def test_parse_when(text, expected):
    assert feedback.parse_when(text) == expected


@pytest.mark.parametrize("text", ["30/09/2024", "2024-13-01", "yesterday", "2024-09-30 25:00"])
def test_parse_when_refuses(text):
    with pytest.raises(ValueError):
        feedback.parse_when(text)


def test_reply_deadline_counts_working_days(workspace):
    settings = workspace.settings
    received = [datetime(2024, 7, 1, 9), datetime(2024, 7, 5, 16), datetime(2024, 7, 6, 10), datetime(2024, 9, 30, 23, 59)]
    # Mon -> Wed; Fri -> Tue; Sat counts from Mon -> Wed; Mon 30 Sep -> Wed 2 Oct.
    assert feedback.reply_deadlines(received, settings) == [date(2024, 7, 3), date(2024, 7, 9), date(2024, 7, 10),
                                                            date(2024, 10, 2)]
    settings.feedback.holidays = [date(2024, 10, 1), date(2024, 10, 2), date(2024, 10, 3)]
    assert feedback.reply_deadlines([datetime(2024, 9, 30, 23, 59)], settings) == [date(2024, 10, 7)]
    settings.feedback.reply_days = 0
    assert feedback.reply_deadlines([datetime(2024, 7, 6, 10)], settings) == [date(2024, 7, 8)]


def test_overdue_and_long_unresolved_complaints(workspace, with_customers):
    settings = workspace.settings
    friday = add(with_customers, settings, received=datetime(2024, 7, 5, 16, 0))
    add(with_customers, settings, kind="market", received=datetime(2024, 7, 5, 16, 0))  # information: never overdue
    answered = add(with_customers, settings, received=datetime(2024, 7, 5, 16, 0))
    with with_customers.session() as session:
        feedback.reply(session, answered.id, "Called back", at=datetime(2024, 7, 12, 9, 0), now=NOW)
    with with_customers.read_session() as session:
        assert feedback.overdue_complaints(session, settings, date(2024, 7, 9)) == []
        assert [e.id for e in feedback.overdue_complaints(session, settings, date(2024, 7, 10))] == [friday.id]
        assert feedback.long_unresolved_complaints(session, settings, date(2024, 8, 4)) == []
        unresolved = feedback.long_unresolved_complaints(session, settings, date(2024, 8, 5))
        assert [e.id for e in unresolved] == [friday.id, answered.id]
    with with_customers.session() as session:
        feedback.reply(session, friday.id, "Sorry", at=datetime(2024, 7, 15, 9), now=NOW)
        feedback.close(session, friday.id, now=NOW)
    with with_customers.read_session() as session:
        assert feedback.overdue_complaints(session, settings, date(2024, 7, 20)) == []
        assert [e.id for e in feedback.long_unresolved_complaints(session, settings, date(2024, 8, 5))] == [answered.id]


def test_reply_then_close_is_audited(workspace, with_customers):
    entry = add(with_customers, workspace.settings)
    with with_customers.session() as session:
        feedback.reply(session, entry.id, "Replacement sent", at=datetime(2024, 7, 2, 10), now=NOW)
        again = feedback.reply(session, entry.id, "8D report sent", at=datetime(2024, 7, 20, 10), now=NOW)
    assert again.replied_at == datetime(2024, 7, 2, 10)  # the first reply is what counts for the reply time
    assert again.reply_text == "Replacement sent\n[2024-07-20 10:00] 8D report sent"
    with with_customers.session() as session:
        closed = feedback.close(session, entry.id, now=NOW)
    assert (closed.status, closed.closed_at) == ("closed", NOW)
    with with_customers.read_session() as session:
        trail = entries(session, table="feedback", key=f"#{entry.id}")
    steps = [item["action"] for item in reversed(trail) if item["action"] not in ("insert", "update")]
    assert steps == ["reply", "reply", "close"]
    assert trail[0]["changes"] == {"status": ["replied", "closed"], "at": NOW.isoformat(), "entered_at": NOW.isoformat()}


def test_illegal_feedback_transitions(workspace, with_customers):
    complaint = add(with_customers, workspace.settings)
    information = add(with_customers, workspace.settings, kind="requirement")
    with with_customers.session() as session:
        with pytest.raises(Conflict, match="has no reply yet"):
            feedback.close(session, complaint.id, now=NOW)
    with with_customers.session() as session:
        feedback.close(session, information.id, now=NOW)  # information may close without a reply
    with with_customers.session() as session:
        with pytest.raises(Conflict, match="already closed"):
            feedback.close(session, information.id, now=NOW)
        with pytest.raises(Conflict, match="is closed; a closed entry takes no more replies"):
            feedback.reply(session, information.id, "late", now=NOW)
        with pytest.raises(CsatError, match="before the entry was received"):
            feedback.reply(session, complaint.id, "early", at=datetime(2024, 6, 1), now=NOW)
        with pytest.raises(CsatError, match="in the future"):
            feedback.reply(session, complaint.id, "later", at=datetime(2025, 1, 1), now=NOW)
        with pytest.raises(NotFound, match="no feedback entry #99"):
            feedback.get(session, 99)
    with with_customers.read_session() as session:
        assert session.get(Feedback, complaint.id).status == "open"


def test_records_shape(workspace, with_log):
    with with_log.read_session() as session:
        record = feedback.records(session, workspace.settings, [feedback.get(session, 15)], today=date(2024, 10, 5))[0]
    assert {key: record[key] for key in ("id", "customer", "kind", "complaint", "channel", "received", "status",
                                         "replied_at", "capa")} == {
        "id": 15, "customer": "C-009", "kind": "service", "complaint": True, "channel": "email",
        "received": datetime(2024, 9, 30, 23, 59), "status": "replied", "replied_at": datetime(2024, 10, 2, 10),
        "capa": None}
    assert record["reply_due"] == date(2024, 10, 2) and record["overdue"] is False


def test_list_filters(workspace, with_log):
    with with_log.read_session() as session:
        def ids(**filters):
            return [entry.id for entry in feedback.list_entries(session, **filters)]

        assert ids(open_only=True) == [3, 5, 7, 8, 13, 15]
        assert ids(kind="service", quarter=Quarter.parse("2024Q3")) == [6, 8, 15]
        assert ids(customer="C-009") == [3, 15, 16]
        assert ids(kind="质量", customer="C-001") == [1, 17]
        with pytest.raises(CsatError, match="unknown kind"):
            ids(kind="nonsense")


def test_holidays_and_owner_mappings_are_settings(workspace, cli):
    result = cli("config", "set", "feedback.holidays", "[2024-10-01, 2024-10-02]")
    assert result.exit_code == 0 and 'feedback.holidays = ["2024-10-01", "2024-10-02"]' in result.stderr
    assert cli("config", "set", "capa.item_departments.delivery", "production").exit_code == 0
    from csat.config import Workspace
    from csat.store.engine import open_store

    reopened = Workspace.open(workspace.root)
    open_store(reopened)        # company settings are the store's
    settings = reopened.settings
    assert settings.feedback.holidays == ["2024-10-01", "2024-10-02"]
    assert feedback.reply_deadlines([datetime(2024, 9, 30, 12)], settings) == [date(2024, 10, 4)]
    assert settings.capa.item_departments["delivery"] == "production"
    assert settings.capa.item_departments["after_sales"] == "engineering"  # the other defaults stay
    bad = cli("config", "set", "feedback.holidays", "[\"1 Oct\"]")
    assert bad.exit_code == 1 and "is not a date" in bad.stderr
