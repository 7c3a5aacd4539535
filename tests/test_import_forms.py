"""Returned forms: signed identity, named cells, re-saved by another program, refused when altered."""

import json
from datetime import date

import pytest
from import_fixtures import (
    count_rows,
    fill_form,
    import_customers,
    make_filled_form,
    open_round_with_invitations,
    resave_like_libreoffice,
    round_layout,
    stored_answers,
    write_form,
)

from csat.importer.run import run_import
from csat.store.auditlog import entries

SCORES = {"quality": 92, "delivery": 78.5, "price": "N/A", "responsiveness": 88, "tech_support": 90,
          "after_sales": None, "communication": 85, "complaint_handling": "87"}


@pytest.fixture
def invited(store, customers_csv):
    import_customers(store, customers_csv)
    return open_round_with_invitations(store, "2024H1")


def test_filled_form_round_trip(workspace, store, invited, tmp_path):
    path, _ = make_filled_form(store, workspace, tmp_path, "C-003", invited["C-003"], SCORES,
                               comments={"delivery": "交货周期太长"}, overall="总体满意", respondent="李伟",
                               title="采购经理", day=date(2024, 6, 20))
    report = run_import(workspace, [path])
    assert report.ok, report.problems
    assert (report.responses_new, report.answers_stored) == (1, 8)
    assert report.sources[0].kind == "form"
    stored = stored_answers(store, "2024H1")[("C-003", "李伟")]
    assert stored["quality"] == (92.0, False, "", "")
    assert stored["delivery"] == (78.5, False, "", "交货周期太长")
    assert stored["price"] == (None, True, "N/A", "")
    assert stored["after_sales"] == (None, False, "", "")
    assert stored["complaint_handling"] == (87.0, False, "", "")
    with store.read_session() as session:
        from sqlmodel import select

        from csat.store.models import Customer, Invitation, Response

        response = session.exec(select(Response)).one()
        assert (response.source, response.respondent_title, response.comment) == ("form", "采购经理", "总体满意")
        assert response.answered_on == date(2024, 6, 20)
        responded = session.exec(select(Customer.code).join(Invitation, Invitation.customer_id == Customer.id)
                                 .where(Invitation.responded_at != None)).all()  # noqa: E711
    assert responded == ["C-003"]
    assert report.response_rate == pytest.approx(1 / 10)


def test_same_form_again_is_unchanged_and_writes_nothing(workspace, store, invited, tmp_path):
    path, _ = make_filled_form(store, workspace, tmp_path, "C-001", invited["C-001"], SCORES)
    assert run_import(workspace, [path]).responses_new == 1
    audit_before, answers_before = count_rows(store, "audit_log"), count_rows(store, "answer")
    again = run_import(workspace, [path])
    assert (again.responses_new, again.responses_unchanged, again.answers_stored) == (0, 1, 0)
    assert (count_rows(store, "audit_log"), count_rows(store, "answer")) == (audit_before, answers_before)


def test_form_resaved_by_another_program_is_still_recognised(workspace, store, invited, tmp_path):
    """LibreOffice-style re-save: identity sheet hidden (not very hidden), "1" as 1.0, scores as floats."""
    path, _ = make_filled_form(store, workspace, tmp_path, "C-005", invited["C-005"], SCORES, respondent="Carlos Ruiz",
                               day=date(2024, 6, 21))
    resaved = resave_like_libreoffice(path, tmp_path / "resaved.xlsx")
    from python_calamine import CalamineWorkbook

    states = {meta.name: str(meta.visible) for meta in CalamineWorkbook.from_path(str(resaved)).sheets_metadata}
    assert "VeryHidden" not in states["csat_form"] and "Hidden" in states["csat_form"]
    report = run_import(workspace, [resaved])
    assert report.ok, report.problems
    assert report.responses_new == 1
    # The original and the re-saved file carry the same content: importing the original now changes nothing.
    assert run_import(workspace, [path]).responses_unchanged == 1
    assert stored_answers(store, "2024H1")[("C-005", "Carlos Ruiz")]["delivery"] == (78.5, False, "", "")


def test_edited_identity_is_refused(workspace, store, invited, tmp_path):
    layout = round_layout(store, "2024H1", "C-002", invited["C-002"])
    rows = layout.identity.rows(workspace.secret())
    forged = [(key, "C-001" if key == "customer" else value) for key, value in rows]
    path = write_form(tmp_path / "forged.xlsx", layout, workspace.secret(), identity_rows=forged)
    fill_form(path, layout, {"quality": 100})
    report = run_import(workspace, [path])
    assert report.problems == [
        "forged.xlsx!csat_form!B13: form signature invalid: the form was altered or comes from another workspace"]
    assert count_rows(store, "response") == 0


def test_form_from_another_workspace_is_refused(workspace, store, invited, tmp_path):
    layout = round_layout(store, "2024H1", "C-002", invited["C-002"])
    path = write_form(tmp_path / "other.xlsx", layout, b"another workspace's secret")
    fill_form(path, layout, {"quality": 90})
    report = run_import(workspace, [path])
    assert len(report.problems) == 1 and "form signature invalid" in report.problems[0]


def test_token_must_match_the_invitation(workspace, store, invited, tmp_path):
    path, _ = make_filled_form(store, workspace, tmp_path, "C-004", "not-the-token", {"quality": 90})
    report = run_import(workspace, [path])
    assert len(report.problems) == 1
    assert report.problems[0].startswith("C-004-2024H1.xlsx!csat_form!B2: the form's token does not match C-004")


def test_bad_cells_of_a_form_are_named(workspace, store, invited, tmp_path):
    path, _ = make_filled_form(store, workspace, tmp_path, "C-001", invited["C-001"],
                               {"quality": 120, "delivery": "good", "price": 80}, day=None)
    report = run_import(workspace, [path])
    assert report.problems == [
        "C-001-2024H1.xlsx!Survey!C8: score 120 out of 0-100",
        "C-001-2024H1.xlsx!Survey!C9: 'good' is not a score for delivery (0-100, N/A or blank)",
    ]
    assert count_rows(store, "response") == 0


def test_closed_round_refuses_forms(workspace, store, invited, tmp_path, cli):
    path, _ = make_filled_form(store, workspace, tmp_path, "C-001", invited["C-001"], {"quality": 90})
    with store.session() as session:
        from csat.survey.rounds import get_round

        get_round(session, "2024H1").status = "closed"
    result = cli("import", path, "--format", "json")
    assert result.exit_code == 1
    payload = json.loads(result.stdout)
    # Named at the form's answers: a closed round takes a form it already holds again (unchanged), no other.
    assert payload["problems"] == ["C-001-2024H1.xlsx!Survey!C8: the 2024H1 round is closed; reopen it with "
                                   "`csat survey open --half 2024H1 --reopen` to import answers"]
    assert payload["problems"][0] in result.stderr


def test_two_different_forms_for_one_customer_conflict(workspace, store, invited, tmp_path):
    first, _ = make_filled_form(store, workspace, tmp_path, "C-001", invited["C-001"], {"quality": 90}, name="a.xlsx")
    second, _ = make_filled_form(store, workspace, tmp_path, "C-001", invited["C-001"], {"quality": 70}, name="b.xlsx")
    report = run_import(workspace, [first, second])
    assert report.problems == ["b.xlsx!Survey!C8: C-001 (2024H1) is also answered, differently, in a.xlsx!Survey!C8"]


def test_replacing_a_form_keeps_the_old_values_in_the_audit_trail(workspace, store, invited, tmp_path):
    first, layout = make_filled_form(store, workspace, tmp_path, "C-007", invited["C-007"], {"quality": 70})
    run_import(workspace, [first])
    fill_form(first, layout, {"quality": 95})
    refused = run_import(workspace, [first])
    assert refused.problems == ["C-007-2024H1.xlsx!Survey!C8: C-007 2024H1: already imported with different "
                                "answers (quality 70 -> 95); use --replace --reason TEXT"]
    replaced = run_import(workspace, [first], replace=True)
    assert (replaced.responses_replaced, replaced.answers_stored) == (1, 8)
    assert stored_answers(store, "2024H1")[("C-007", "")]["quality"] == (95.0, False, "", "")
    with store.read_session() as session:
        trail = entries(session, table="response", key="2024H1/C-007")
    assert [entry["action"] for entry in trail] == ["replace", "insert"]
    assert trail[0]["changes"]["old"]["answers"]["quality"] == [70.0, False, "", ""]
    assert trail[0]["changes"]["new"]["answers"]["quality"] == [95.0, False, "", ""]


def test_form_without_row_codes_refuses_an_inserted_column(workspace, store, invited, tmp_path):
    """A form sent before row codes existed is read at its signed cells only while they are in place."""
    from import_fixtures import rearrange

    path, layout = make_filled_form(store, workspace, tmp_path, "C-001", invited["C-001"], {"quality": 90},
                                    comments={"quality": "good"})
    rearrange(path, layout.identity.sheet, column_of=lambda column: column + 1 if column >= 3 else column)
    report = run_import(workspace, [path])
    assert report.problems == ["C-001-2024H1.xlsx!Survey!C7: the columns of the form were changed: column C is not "
                               "the score column; return the original form"]
    assert count_rows(store, "response") == 0
