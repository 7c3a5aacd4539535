"""Imports on PostgreSQL: ids from the sequence, %s placeholders, the same answers as on SQLite."""

import json
from datetime import date

from import_fixtures import make_filled_form, open_round_with_invitations, stored_answers, write_sheet_csv

from tests.conftest import EXAMPLES


def test_import_on_postgres(tmp_path, monkeypatch, cli, postgres_url):
    from csat.config import Workspace
    from csat.store.engine import open_store

    monkeypatch.setenv("CSAT_DATABASE_URL", postgres_url)
    assert cli("init", tmp_path / "ws").exit_code == 0
    monkeypatch.setenv("CSAT_HOME", str(tmp_path / "ws"))
    assert cli("customer", "import", EXAMPLES / "customers.csv").exit_code == 0
    workspace = Workspace.open(tmp_path / "ws")
    store = open_store(workspace)
    tokens = open_round_with_invitations(store, "2024H1", codes=["C-009"])

    first = json.loads(cli("import", EXAMPLES / "responses-2024H1.csv", "--half", "2024H1", "-f", "json").stdout)
    assert (first["responses_new"], first["answers_stored"]) == (8, 64)
    again = json.loads(cli("import", EXAMPLES / "responses-2024H1.csv", "--half", "2024H1", "-f", "json").stdout)
    assert (again["responses_unchanged"], again["answers_stored"]) == (8, 0)

    form, _ = make_filled_form(store, workspace, tmp_path, "C-009", tokens["C-009"], {"quality": 77, "price": "N/A"},
                               respondent="Liam O'Brien", day=date(2024, 6, 28))
    changed = write_sheet_csv(tmp_path / "fix.csv", ["customer", "respondent", "quality"],
                              [["C-002", "James Hall", 60]])
    result = cli("import", form, changed, "--half", "2024H1", "--replace", "--reason", "corrected", "-f", "json")
    assert result.exit_code == 0, result
    payload = json.loads(result.stdout)
    assert (payload["responses_new"], payload["responses_replaced"]) == (1, 1)
    assert payload["rounds"][0]["response_rate"] == 1.0            # the one invited customer answered
    assert cli("response", "add", "C-010", "--half", "2024H1", "--score", "quality=81").exit_code == 0

    stored = stored_answers(store, "2024H1")
    assert stored[("C-009", "Liam O'Brien")]["price"] == (None, True, "N/A", "")
    assert stored[("C-002", "James Hall")] == {"quality": (60.0, False, "", "")}
    assert stored[("C-010", "")] == {"quality": (81.0, False, "", "")}
    assert len(stored) == 10


def test_corrected_form_replaces_its_response_on_postgres(tmp_path, monkeypatch, cli, postgres_url):
    """A form is one response of its invitation on PostgreSQL too: the respondent is updated, n stays 1."""
    from import_fixtures import fill_form

    from csat.config import Workspace
    from csat.store.engine import open_store

    monkeypatch.setenv("CSAT_DATABASE_URL", postgres_url)
    assert cli("init", tmp_path / "ws").exit_code == 0
    monkeypatch.setenv("CSAT_HOME", str(tmp_path / "ws"))
    assert cli("customer", "import", EXAMPLES / "customers.csv").exit_code == 0
    workspace = Workspace.open(tmp_path / "ws")
    store = open_store(workspace)
    tokens = open_round_with_invitations(store, "2024H1", codes=["C-004"])
    form, layout = make_filled_form(store, workspace, tmp_path, "C-004", tokens["C-004"], {"delivery": 70},
                                    respondent="Anna Becker")
    assert cli("import", form).exit_code == 0
    fill_form(form, layout, {"delivery": 80}, respondent="Jonas Weber")
    refused = json.loads(cli("import", form, "-f", "json").stdout)["problems"]
    assert refused[0].endswith("C-004 2024H1: already imported with different answers (delivery 70 -> 80, "
                               "respondent); use --replace --reason TEXT")
    assert cli("import", form, "--replace", "--reason", "corrected form").exit_code == 0
    assert stored_answers(store, "2024H1") == {("C-004", "Jonas Weber"): {
        item: (80.0 if item == "delivery" else None, False, "", "") for item in layout.identity.items}}
    report = json.loads(cli("report", "--half", "2024H1", "-f", "json").stdout)
    assert {item["code"]: item["n"] for item in report["items"]}["delivery"] == 1
