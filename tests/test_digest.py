"""Digest triggers for surveys and summaries, each at its boundary."""

from datetime import date, datetime

from csat.periods import Half
from csat.store.models import AuditLog, Customer, Invitation, QuarterSummary
from csat.survey.digest import summary_lines, survey_lines
from csat.survey.rounds import open_round


def _round_with_invitations(session, period, sent_on, answered=0, invited=4, due=None):
    round_ = open_round(session, Half.parse(period), due=due, today=sent_on)
    for number in range(invited):
        customer = Customer(code=f"{period}-{number}", name=f"Customer {number}")
        session.add(customer)
        session.flush()
        session.add(Invitation(round_id=round_.id, customer_id=customer.id, token=f"{period}-{number}",
                               status="sent", sent_at=datetime.combine(sent_on, datetime.min.time()),
                               responded_at=datetime(2030, 1, 1) if number < answered else None))
    session.flush()
    return round_


def test_unsent_half_year_warns_under_thirty_days_left(workspace, store):
    with store.session() as session:
        assert not [line for line in survey_lines(session, workspace.settings, date(2026, 6, 1)) if line.topic == "survey"]
        lines = survey_lines(session, workspace.settings, date(2026, 6, 2))
        assert any("2026H1 survey round has not been sent and 29 day(s)" in line.text for line in lines)


def test_sent_round_silences_the_warning_and_six_months_rule(workspace, store):
    with store.session() as session:
        _round_with_invitations(session, "2026H1", date(2026, 1, 10), answered=4)
        assert survey_lines(session, workspace.settings, date(2026, 6, 20)) == []
        # 183 days after 2026-01-10 is 2026-07-12: not yet more than six months.
        assert not any("six months" in line.text for line in survey_lines(session, workspace.settings, date(2026, 7, 12)))
        assert any("six months" in line.text for line in survey_lines(session, workspace.settings, date(2026, 7, 13)))


def test_round_past_due_with_low_response_rate(workspace, store):
    with store.session() as session:
        _round_with_invitations(session, "2026H2", date(2026, 9, 1), answered=2, invited=4, due=date(2026, 10, 1))
        on_due_day = survey_lines(session, workspace.settings, date(2026, 10, 1))
        assert not [line for line in on_due_day if line.topic == "response"]
        after = [line for line in survey_lines(session, workspace.settings, date(2026, 10, 2)) if line.topic == "response"]
        assert after and "2 of 4 answers (50%, target 60%)" in after[0].text


def test_round_meeting_target_is_quiet(workspace, store):
    with store.session() as session:
        _round_with_invitations(session, "2026H2", date(2026, 9, 1), answered=3, invited=4, due=date(2026, 10, 1))
        assert not [line for line in survey_lines(session, workspace.settings, date(2026, 10, 2)) if line.topic == "response"]


def test_quarter_summary_due_only_after_workspace_started(workspace, store):
    with store.session() as session:
        session.add(AuditLog(at=datetime(2026, 8, 15, 9, 0), actor="t", table_name="x", action="insert"))
        session.flush()
        # Started in Q3: Q2 needs no summary; once Q3 has ended it does.
        assert summary_lines(session, workspace.settings, date(2026, 9, 30)) == []
        lines = summary_lines(session, workspace.settings, date(2026, 10, 1))
        assert lines and "2026Q3" in lines[0].text
        session.add(QuarterSummary(quarter="2026Q3"))
        session.flush()
        assert summary_lines(session, workspace.settings, date(2026, 10, 1)) == []


def test_complaint_and_capa_lines(workspace, store):
    from csat.capa import records as capa
    from csat.feedback import log as feedback
    from csat.survey.digest import collect

    settings = workspace.settings
    with store.session() as session:
        session.add(Customer(code="C-1", name="One"))
        session.flush()
        # Received Friday 2026-10-02: two working days end Tuesday 2026-10-06.
        complaint = feedback.add(session, settings, "C-1", "quality", "phone", "Scratched housings",
                                 received=datetime(2026, 10, 2, 10, 0), now=datetime(2026, 10, 2, 11, 0))
        lines = collect(session, settings, date(2026, 10, 6))
        assert not [line for line in lines if line.topic == "complaint"]
        lines = [line for line in collect(session, settings, date(2026, 10, 7)) if line.topic == "complaint"]
        assert len(lines) == 1 and f"complaint #{complaint.id} from C-1" in lines[0].text
        record, created = capa.open_for_feedback(session, settings, complaint.id, due=date(2026, 10, 20),
                                                 today=date(2026, 10, 7))
        assert created
        assert not [line for line in collect(session, settings, date(2026, 10, 20)) if line.topic == "capa"]
        capa_lines = [line for line in collect(session, settings, date(2026, 10, 21)) if line.topic == "capa"]
        assert capa_lines and record.number in capa_lines[0].text
        long_open = [line for line in collect(session, settings, date(2026, 11, 2)) if "still open" in line.text]
        assert long_open and "31 days" in long_open[0].text
