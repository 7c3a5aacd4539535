"""`csat import` on the command line: summary, JSON contract, problems on stderr, exit codes."""

import json
from pathlib import Path

from import_fixtures import count_rows, open_round_with_invitations, write_sheet_csv

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
