"""Forged forms: every edit of the signed identity, another customer's identity sheet pasted in, a form
from another workspace. Each is refused with its reason at the command line (exit 1), and survey status
and the report show no answer afterwards."""

from __future__ import annotations

import json

import pytest
from import_fixtures import (count_rows, fill_form, filled_sent_form, import_customers, open_round_with_invitations,
                             round_layout, write_form)

INVALID = "form signature invalid: the form was altered or comes from another workspace"


@pytest.fixture
def invited(store, customers_csv):
    import_customers(store, customers_csv)
    return open_round_with_invitations(store, "2024H1")


def assert_refused(cli, store, path, message: str) -> None:
    result = cli("import", path)
    assert result.exit_code == 1, result.stdout
    assert "Traceback" not in result.stderr
    assert message in result.stderr, result.stderr
    assert count_rows(store, "response") == 0
    assert_no_answer(cli)


def assert_no_answer(cli) -> None:
    status = json.loads(cli("survey", "status", "--half", "2024H1", "--format", "json").stdout)
    assert status["responded"] == 0, status
    assert "responded" not in {customer["status"] for customer in status["customers"]}


@pytest.mark.parametrize("field, forged", [
    ("token", "AAAAAAAAAAAAAAAAAAAAAA"),
    ("customer", "C-001"),
    ("period", "2024H2"),
    ("items", "quality=C9;delivery=C8"),       # answers swapped between items
    ("sheet", "Other"),
    ("template", "999"),
    ("signature", "0" * 64),
])
def test_an_edited_identity_field_breaks_the_signature(workspace, store, invited, tmp_path, cli, field, forged):
    layout = round_layout(store, "2024H1", "C-002", invited["C-002"])
    rows = [(key, forged if key == field else value) for key, value in layout.identity.rows(workspace.secret())]
    path = write_form(tmp_path / f"edited-{field}.xlsx", layout, workspace.secret(), identity_rows=rows)
    fill_form(path, layout, {"quality": 100, "delivery": 10})
    assert_refused(cli, store, path, f"edited-{field}.xlsx!csat_form!B13: {INVALID}")


def test_the_signature_recomputed_with_a_guessed_key_is_refused(workspace, store, invited, tmp_path, cli):
    layout = round_layout(store, "2024H1", "C-002", invited["C-002"])
    layout.identity.customer = "C-001"
    layout.identity.token = invited["C-001"]
    path = write_form(tmp_path / "guessed.xlsx", layout, b"")     # an empty key, or any other than the workspace's
    fill_form(path, layout, {"quality": 100})
    assert_refused(cli, store, path, f"guessed.xlsx!csat_form!B13: {INVALID}")


def test_another_customers_identity_sheet_pasted_in_is_refused(workspace, store, invited, tmp_path, cli):
    """C-001 fills its own form but carries C-002's (validly signed) identity sheet: the heading gives it away."""
    own = round_layout(store, "2024H1", "C-001", invited["C-001"])
    other = round_layout(store, "2024H1", "C-002", invited["C-002"])
    path = write_form(tmp_path / "pasted.xlsx", own, workspace.secret(),
                      identity_rows=other.identity.rows(workspace.secret()))
    fill_form(path, own, {"quality": 40})
    assert_refused(cli, store, path, "pasted.xlsx!Survey!C3: the sheet shows customer C-001 but its signed identity"
                                     " is C-002's")


def test_a_real_sent_form_with_another_customers_identity_is_refused(workspace, cli, store, customers_csv, tmp_path):
    """The same with forms as `survey send` writes them (heading "Name (CODE)")."""
    from openpyxl import load_workbook

    from csat.forms.identity import IDENTITY_SHEET

    import_customers(store, customers_csv)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = filled_sent_form(workspace, cli, tmp_path / "a", "C-003")
    for message in workspace.outbox.glob("*.eml"):
        message.unlink()
    second = filled_sent_form(workspace, cli, tmp_path / "b", "C-004")
    donor = load_workbook(second)[IDENTITY_SHEET]
    workbook = load_workbook(first)
    for row in donor.iter_rows():
        for cell in row:
            workbook[IDENTITY_SHEET][cell.coordinate].value = cell.value
    path = tmp_path / "mixed.xlsx"
    workbook.save(path)
    result = cli("import", path)
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    assert "the sheet shows customer C-003 but its signed identity is C-004's" in result.stderr
    assert count_rows(store, "response") == 0
    assert_no_answer(cli)
    # The unmixed form imports: the check does not refuse a form's own heading.
    assert cli("import", first).exit_code == 0


def test_a_form_from_another_workspace_is_refused_at_the_command_line(workspace, store, invited, tmp_path, cli):
    layout = round_layout(store, "2024H1", "C-002", invited["C-002"])
    path = write_form(tmp_path / "elsewhere.xlsx", layout, b"another workspace's secret")
    fill_form(path, layout, {"quality": 90})
    assert_refused(cli, store, path, f"elsewhere.xlsx!csat_form!B13: {INVALID}")
