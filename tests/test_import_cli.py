"""`csat import` on the command line: summary, JSON contract, problems on stderr, exit codes."""

import json
from datetime import date
from pathlib import Path

from import_fixtures import count_rows, open_round_with_invitations, write_sheet_csv

from csat.periods import Half

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "responses-2024H1.csv"


def test_import_summary_table(workspace, cli, customers_csv):
    assert cli("customer", "import", customers_csv).exit_code == 0
    result = cli("import", EXAMPLE, "--half", "2024H1")
    assert result.exit_code == 0, result
    assert "Opened the 2024H1 round with the current item template" in result.stderr
    lines = {" ".join(line.split()[:2]): line.split()[2] for line in result.stdout.splitlines() if line.strip()}
    assert lines["Files read"] == "1"
    assert lines["Responses new"] == "8"
    assert lines["Answers stored"] == "64"
    assert "2024H1: nobody invited; 8 customers answered" in result.stdout


def test_import_json_contract(workspace, store, cli, customers_csv):
    cli("customer", "import", customers_csv)
    open_round_with_invitations(store, "2024H1")
    first = json.loads(cli("import", EXAMPLE, "--half", "2024H1", "--format", "json").stdout)
    assert {key: first[key] for key in ("files", "responses_new", "responses_unchanged", "responses_replaced",
                                        "answers_stored", "problems", "response_rate", "period", "dry_run")} == {
        "files": 1, "responses_new": 8, "responses_unchanged": 0, "responses_replaced": 0, "answers_stored": 64,
        "problems": [], "response_rate": 0.8, "period": "2024H1", "dry_run": False}
    again = cli("import", EXAMPLE, "--half", "2024H1")
    assert "2024H1: 8 of 10 invited (80%)" in again.stdout
    as_json = json.loads(cli("import", EXAMPLE, "--half", "2024H1", "-f", "json").stdout)
    assert (as_json["responses_new"], as_json["responses_unchanged"], as_json["answers_stored"]) == (0, 8, 0)


def test_problems_go_to_stderr_with_exit_1(workspace, store, cli, customers_csv, tmp_path):
    cli("customer", "import", customers_csv)
    bad = write_sheet_csv(tmp_path / "bad.csv", ["customer", "quality"], [["C-99", 90], ["C-001", 120]])
    result = cli("import", bad, "--half", "2024H1")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == ["bad.csv!bad!A2: unknown customer 'C-99'",
                                          "bad.csv!bad!B3: score 120 out of 0-100",
                                          "Error: 2 problems found, nothing written"]
    assert result.stdout == ""
    as_json = cli("import", bad, "--half", "2024H1", "--format", "json")
    assert as_json.exit_code == 1
    assert json.loads(as_json.stdout)["problems"] == ["bad.csv!bad!A2: unknown customer 'C-99'",
                                                     "bad.csv!bad!B3: score 120 out of 0-100"]
    assert count_rows(store, "response") == 0


def test_dry_run_says_so(workspace, store, cli, customers_csv):
    cli("customer", "import", customers_csv)
    result = cli("import", EXAMPLE, "--half", "2024H1", "--dry-run")
    assert result.exit_code == 0
    assert "Would open the 2024H1 round" in result.stderr and "Dry run: nothing was written" in result.stderr
    assert count_rows(store, "response") == 0


def test_bad_half_is_a_usage_error(workspace, cli):
    result = cli("import", EXAMPLE, "--half", "2024H3")
    assert result.exit_code == 2
    assert "2024H3" in result.stderr


def test_commands_have_help_with_an_example(cli):
    for command in (["import"], ["response", "add"]):
        result = cli(*command, "--help")
        assert result.exit_code == 0
        assert "Example: csat " in result.stdout


HALF = str(Half.containing(date.today()))   # an open round: answers for an ended half open it closed


def _said(result, prefixes=("Stored", "Replaced", "Unchanged", "Refused", "Would store", "Left", "Removed")) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith(prefixes)]


def test_summary_names_whose_answers_were_stored_replaced_or_refused(workspace, store, cli, customers_csv, tmp_path):
    cli("customer", "import", customers_csv)
    first = write_sheet_csv(tmp_path / "first.csv", ["customer", "respondent", "quality"],
                            [["C-001", "Anna Becker", 90], ["C-002", "", 80]])
    stored = cli("import", first, "--half", HALF)
    assert stored.exit_code == 0, stored
    assert _said(stored) == [f"Stored: C-001 {HALF} (Anna Becker)", f"Stored: C-002 {HALF}"]
    corrected = write_sheet_csv(tmp_path / "corrected.csv", ["customer", "quality"], [["C-002", 85]])
    more = write_sheet_csv(tmp_path / "more.csv", ["customer", "quality"], [["C-003", 70]])
    refused = cli("import", corrected, more, "--half", HALF)
    assert refused.exit_code == 1
    assert _said(refused) == [f"Refused: C-002 {HALF}, from corrected.csv", f"Refused: C-003 {HALF}, from more.csv"]
    assert refused.stderr.splitlines()[-1] == "Error: 1 problem found, nothing written"
    unexplained = cli("import", corrected, more, "--half", HALF, "--replace")
    assert unexplained.exit_code == 2 and "--reason" in unexplained.stderr
    replaced = cli("import", corrected, more, "--half", HALF, "--replace", "--reason", "sales re-keyed the sheet")
    assert replaced.exit_code == 0, replaced
    trail = json.loads(cli("audit", "list", "--table", "response", "--format", "json").stdout)
    assert {entry["changes"].get("reason") for entry in trail[:2]} == {"sales re-keyed the sheet"}
    assert _said(replaced) == [f"Replaced: C-002 {HALF}, from corrected.csv", f"Stored: C-003 {HALF}, from more.csv"]
    again = cli("import", first, "--half", HALF)   # C-002 holds the corrected answers now: all of it is refused
    assert again.exit_code == 1 and "use --replace" in again.stderr
    assert _said(again) == [f"Refused: C-001 {HALF} (Anna Becker)", f"Refused: C-002 {HALF}"]   # one file: no names
    assert _said(cli("import", more, "--half", HALF)) == [f"Unchanged: C-003 {HALF}"]
    as_json = json.loads(cli("import", more, "--half", HALF, "--format", "json").stdout)
    assert as_json["responses"] == [{"customer": "C-003", "period": HALF, "respondent": "", "status": "unchanged",
                                     "file": "more.csv", "differences": []}]
    assert as_json["responses_unchanged"] == 1        # the counts stay as they were


def test_many_responses_are_counted_and_listed_with_v(workspace, store, cli, customers_csv, tmp_path):
    cli("customer", "import", customers_csv)
    sheet = write_sheet_csv(tmp_path / "panel.csv", ["customer", "respondent", "quality"],
                            [["C-004", f"Panel {number:02d}", 80 + number] for number in range(1, 13)])
    dry = cli("import", sheet, "--half", HALF, "--dry-run")
    assert dry.exit_code == 0
    assert "12 responses (would store 12): use -v to list them" in dry.stderr and _said(dry) == []
    result = cli("import", sheet, "--half", HALF, "-v")
    assert result.exit_code == 0, result
    assert _said(result) == [f"Stored: C-004 {HALF} (Panel {number:02d})" for number in range(1, 13)]
    listed = json.loads(cli("import", sheet, "--half", HALF, "--format", "json").stdout)["responses"]
    assert len(listed) == 12 and {line["status"] for line in listed} == {"unchanged"}
