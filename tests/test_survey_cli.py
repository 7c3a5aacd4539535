"""`csat survey ...` end to end through the real command line."""

import json
from datetime import date, timedelta
from email import message_from_bytes, policy

import pytest
from smtp_fixtures import Handler, running_smtp, use_smtp

from csat.cli import app
from csat.forms.xlsx import read_identity

COMMANDS = ["open", "extend", "list", "close", "form", "send", "status"]


@pytest.fixture
def imported(workspace, cli, customers_csv):
    assert cli("customer", "import", customers_csv).exit_code == 0


@pytest.mark.parametrize("bad", ["2024H3", "24H1", "2024-H1"])
def test_bad_period_is_a_usage_error_showing_the_form(workspace, cli, bad):
    for command in (["survey", "open", "--half", bad], ["survey", "send", "--half", bad],
                    ["survey", "status", "--half", bad]):
        result = cli(*command)
        assert result.exit_code == 2, result
        assert "expected YYYYH1 or YYYYH2" in result.stderr and "Traceback" not in result.stderr


def test_open_list_close_reopen(workspace, cli):
    due, later = (date.today() + timedelta(days=30)).isoformat(), (date.today() + timedelta(days=45)).isoformat()
    result = cli("survey", "open", "--half", "2024H1", "--due", due)
    assert result.exit_code == 0, result
    assert "Opened: 2024H1 round, 8 items" in result.stderr and f"due {due}" in result.stderr
    assert "already open" in cli("survey", "open", "--half", "2024H1").stderr.lower()
    listed = json.loads(cli("survey", "list", "--format", "json").stdout)
    assert [(r["period"], r["status"], r["due_date"], r["items"], r["invited"], r["responded"]) for r in listed] == \
        [("2024H1", "open", due, 8, None, 0)]
    assert cli("survey", "close", "--half", "2024H1").exit_code == 0
    again = cli("survey", "close", "--half", "2024H1")
    assert again.exit_code == 1 and "already closed" in again.stderr
    refused = cli("survey", "open", "--half", "2024H1")
    assert refused.exit_code == 1 and "--reopen" in refused.stderr
    unexplained = cli("survey", "open", "--half", "2024H1", "--reopen", "--due", later)
    assert unexplained.exit_code == 2 and "--reason" in unexplained.stderr
    reopened = cli("survey", "open", "--half", "2024H1", "--reopen", "--due", later, "--reason", "late answers")
    assert reopened.exit_code == 0 and f"due {later}" in reopened.stderr
    assert json.loads(cli("survey", "list", "--format", "json").stdout)[0]["status"] == "open"
    bad_due = cli("survey", "open", "--half", "2024H2", "--due", "31/07/2024")
    assert bad_due.exit_code == 2 and "YYYY-MM-DD" in bad_due.stderr
    assert cli("survey", "close", "--half", "2023H2").exit_code == 1


def test_send_status_and_phone_list(workspace, cli, imported):
    result = cli("survey", "send", "--half", "2024H1")
    assert result.exit_code == 0, result
    assert "9 sent, 0 skipped" in result.stderr and "0 failed" in result.stderr
    assert "To reach by phone/fax" in result.stderr
    assert "csat survey form C-006 --half 2024H1 -o C-006.xlsx" in result.stderr
    emls = sorted(workspace.outbox.glob("*.eml"))
    assert len(emls) == 9
    parsed = message_from_bytes(emls[0].read_bytes(), policy=policy.default)
    assert parsed["To"].addresses[0].addr_spec == "anna.becker@acme-motors.example"
    again = cli("survey", "send", "--half", "2024H1")
    assert "0 sent, 9 skipped" in again.stderr and len(list(workspace.outbox.glob("*.eml"))) == 9
    status = json.loads(cli("survey", "status", "--half", "2024H1", "--format", "json").stdout)
    assert set(status) == {"period", "invited", "sent", "failed", "responded", "response_rate", "customers"}
    assert (status["period"], status["invited"], status["sent"], status["failed"], status["responded"],
            status["response_rate"]) == ("2024H1", 9, 9, 0, 0, 0)
    first = status["customers"][0]
    assert set(first) == {"code", "name", "contact", "status", "status_label", "sent_at", "reminders", "responded", "error"}
    assert (first["code"], first["name"], first["contact"], first["status"], first["reminders"], first["responded"],
            first["error"]) == ("C-001", "Acme Motors GmbH", "Anna Becker", "sent", 0, False, "")
    table = cli("survey", "status")
    assert table.exit_code == 0 and "C-010" in table.stdout and "response rate 0%" in table.stderr
    assert "Acme Motors GmbH" in table.stdout and "Anna Becker" in table.stdout   # whom to call, beside the code
    csv_rows = cli("survey", "status", "--format", "csv").stdout.lstrip("\ufeff").splitlines()
    assert csv_rows[1].startswith("C-001,Acme Motors GmbH,Anna Becker,sent,")


def test_phone_list_leaves_out_customers_who_answered(workspace, cli, imported):
    # C-006 has no e-mail address; once its answers are in (taken by phone), nobody needs to call it.
    assert cli("survey", "open", "--half", "2024H1", "--due", (date.today() + timedelta(days=30)).isoformat()).exit_code == 0
    added = cli("response", "add", "C-006", "--half", "2024H1", "--score", "quality=90")
    assert added.exit_code == 0, added
    result = cli("survey", "send", "--half", "2024H1")
    assert result.exit_code == 0, result
    assert "C-006" not in result.stderr and "To reach by phone/fax" not in result.stderr
    assert "9 sent, 1 skipped" in result.stderr


def test_send_dry_run_and_selected_customers(workspace, cli, imported):
    dry = cli("survey", "send", "--half", "2024H1", "--dry-run")
    assert dry.exit_code == 0 and "would send 9" in dry.stderr and "C-010" in dry.stdout
    assert not workspace.outbox.exists()
    assert json.loads(cli("survey", "list", "--format", "json").stdout) == []
    one = cli("survey", "send", "--half", "2024H1", "--customer", "C-001", "--customer", "C-003")
    assert one.exit_code == 0 and "2 sent" in one.stderr
    unknown = cli("survey", "send", "--half", "2024H1", "--customer", "NOPE")
    assert unknown.exit_code == 1 and "unknown customer 'NOPE'" in unknown.stderr
    resend = cli("survey", "send", "--half", "2024H1", "--customer", "C-001", "--resend")
    assert "1 sent" in resend.stderr


def test_send_failures_exit_1_with_reasons(workspace, cli, imported):
    with running_smtp(Handler(reject=lambda rcpt: rcpt.endswith("@huake.example"))) as server:
        use_smtp(workspace, server.port)
        result = cli("survey", "send", "--half", "2024H1")
    assert result.exit_code == 1
    assert "8 sent" in result.stderr and "1 failed" in result.stderr
    assert "C-003: liwei@huake.example refused: 550 5.1.1" in result.stderr
    assert "Traceback" not in result.stderr
    status = json.loads(cli("survey", "status", "--format", "json").stdout)
    assert status["failed"] == 1


def test_form_command_writes_xlsx_and_html(workspace, cli, imported, tmp_path):
    xlsx = tmp_path / "C-006.xlsx"
    result = cli("survey", "form", "C-006", "--half", "2024H1", "-o", xlsx)
    assert result.exit_code == 0, result
    assert read_identity(xlsx, workspace.secret()).customer == "C-006"
    html = tmp_path / "C-006.html"
    assert cli("survey", "form", "C-006", "--half", "2024H1", "-o", html).exit_code == 0
    assert "@page" in html.read_text(encoding="utf-8")
    bad = cli("survey", "form", "C-006", "--half", "2024H1", "-o", tmp_path / "form.pdf")
    assert bad.exit_code == 2 and ".xlsx or .html" in bad.stderr
    missing = cli("survey", "form", "NOPE", "--half", "2024H1", "-o", xlsx)
    assert missing.exit_code == 1 and "unknown customer" in missing.stderr


def test_status_without_rounds_is_one_line(workspace, cli):
    result = cli("survey", "status")
    assert result.exit_code == 1 and result.stderr.startswith("Error: no survey rounds yet")


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_an_example(cli, command):
    result = cli("survey", command, "--help")
    assert result.exit_code == 0 and "Example: csat survey " + command in result.stdout.replace("\n", " ")


def test_survey_group_is_mounted():
    names = {group.name for group in app.registered_groups}
    assert "survey" in names


def test_readme_survey_examples_run(workspace, cli, imported, tmp_path, monkeypatch):
    import shlex
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Survey rounds", 1)[1]
    block = section.split("```sh", 1)[1].split("```", 1)[0]
    monkeypatch.chdir(tmp_path)
    # The tour is dated July 2024; a due date must be after the day the round opens, so run it today.
    moved = {"2024-07-31": (date.today() + timedelta(days=30)).isoformat(),
             "2024-08-31": (date.today() + timedelta(days=60)).isoformat()}
    commands = [[moved.get(word, word) for word in shlex.split(line.split("  #")[0].split(" > ")[0])]
                for line in block.strip().splitlines()]
    assert {command[2] for command in commands} == set(COMMANDS)
    for command in commands:
        result = cli(*command[1:])
        assert result.exit_code == 0, (command, result)
    assert (tmp_path / "C-006.xlsx").is_file()
    rows = cli("survey", "status", "--half", "2024H1", "--format", "csv").stdout.lstrip("\ufeff").splitlines()
    assert rows[0] == "code,name,contact,status,status_label,sent_at,reminders,responded,error" and len(rows) == 1 + 10  # nine sent, C-006 has its form by hand
