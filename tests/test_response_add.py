"""`csat response add`: answers taken by phone or at a visit, same checks as an import."""

import json
import os
import pty
import subprocess
import sys

from import_fixtures import count_rows, import_customers, open_round_with_invitations, stored_answers

from csat.store.auditlog import entries


def test_add_with_scores(workspace, store, cli, customers_csv):
    import_customers(store, customers_csv)
    open_round_with_invitations(store, "2024H1")
    result = cli("response", "add", "C-006", "--half", "2024H1", "--score", "quality=90", "--score", "交货准时=80",
                 "--score", "price=N/A", "--comment", "电话回访：总体满意", "--respondent", "陈强", "--date", "2024-06-15")
    assert result.exit_code == 0, result
    assert "Added C-006's 2024H1 response (3 answers); response rate 10%" in result.stderr
    stored = stored_answers(store, "2024H1")[("C-006", "陈强")]
    assert stored == {"quality": (90.0, False, "", ""), "delivery": (80.0, False, "", ""),
                      "price": (None, True, "N/A", "")}
    with store.read_session() as session:
        trail = entries(session, table="response", key="2024H1/C-006/陈强")
    assert trail[0]["action"] == "insert" and trail[0]["changes"]["new"]["source"] == "manual"
    again = cli("response", "add", "C-006", "--half", "2024H1", "--score", "quality=90", "--score", "delivery=80",
                "--score", "price=N/A", "--comment", "电话回访：总体满意", "--respondent", "陈强", "--date", "2024-06-15",
                "--format", "json")
    assert json.loads(again.stdout)["status"] == "unchanged"


def test_same_checks_as_an_import(workspace, store, cli, customers_csv):
    import_customers(store, customers_csv)
    result = cli("response", "add", "C-001", "--half", "2024H1", "--score", "quality=120", "--score", "qualty=80",
                 "--date", "6月底")
    assert result.exit_code == 1
    assert "--score quality=120: score 120 out of 0-100" in result.stderr
    assert "--score qualty=80: unknown item 'qualty'" in result.stderr
    assert "--date: date '6月底' is not a date; write it as YYYY-MM-DD" in result.stderr
    assert count_rows(store, "response") == 0 and count_rows(store, "survey_round") == 0


def test_conflict_and_replace(workspace, store, cli, customers_csv):
    import_customers(store, customers_csv)
    open_round_with_invitations(store, "2024H1", codes=[])  # open: a round an entry opens for an ended half is closed
    assert cli("response", "add", "C-002", "--half", "2024H1", "--score", "quality=70").exit_code == 0
    conflict = cli("response", "add", "C-002", "--half", "2024H1", "--score", "quality=75")
    assert conflict.exit_code == 1
    assert "C-002 (2024H1) was already imported with different answers (from manual); use --replace" in conflict.stderr
    unexplained = cli("response", "add", "C-002", "--half", "2024H1", "--score", "quality=75", "--replace")
    assert unexplained.exit_code == 2 and "--reason" in unexplained.stderr
    replaced = cli("response", "add", "C-002", "--half", "2024H1", "--score", "quality=75", "--replace",
                   "--reason", "customer corrected by phone")
    assert replaced.exit_code == 0 and "Replaced C-002's 2024H1 response" in replaced.stderr
    trail = json.loads(cli("audit", "list", "--table", "response", "--format", "json").stdout)
    assert trail[0]["action"] == "replace" and trail[0]["changes"]["reason"] == "customer corrected by phone"
    assert stored_answers(store, "2024H1")[("C-002", "")]["quality"] == (75.0, False, "", "")


def test_usage_errors(workspace, store, cli, customers_csv):
    import_customers(store, customers_csv)
    no_scores = cli("response", "add", "C-001", "--half", "2024H1")
    assert no_scores.exit_code == 2 and "give --score ITEM=VALUE" in no_scores.stderr
    malformed = cli("response", "add", "C-001", "--half", "2024H1", "--score", "quality")
    assert malformed.exit_code == 2 and "is not ITEM=VALUE" in malformed.stderr
    unknown = cli("response", "add", "C-404", "--half", "2024H1", "--score", "quality=90")
    assert unknown.exit_code == 1 and "unknown customer 'C-404'" in unknown.stderr


def test_prompts_for_each_item_on_a_terminal(workspace, store, customers_csv):
    """A real pseudo-terminal on stdin: the command asks item by item."""
    import_customers(store, customers_csv)
    controller, terminal = pty.openpty()
    try:
        process = subprocess.Popen([sys.executable, "-m", "csat", "response", "add", "C-009", "--half", "2024H1"],
                                   stdin=terminal, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   env=os.environ | {"COLUMNS": "200"})
        os.write(controller, "90\n80\nN/A\n\n85\n88\n90\n70\n".encode())
        stdout, stderr = process.communicate(timeout=60)
    finally:
        os.close(controller)
        os.close(terminal)
    assert process.returncode == 0, stderr.decode()
    assert "Product quality / 产品质量 [0-100]" in stdout.decode()
    assert "Added C-009's 2024H1 response (8 answers)" in stderr.decode()
    stored = stored_answers(store, "2024H1")[("C-009", "")]
    assert stored["quality"] == (90.0, False, "", "") and stored["price"] == (None, True, "N/A", "")
    assert stored["responsiveness"] == (None, False, "", "")


def _on_terminal(arguments: list[str], typed: str) -> tuple[int, str, str]:
    """Run csat with a real pseudo-terminal on stdin, typing the given lines."""
    controller, terminal = pty.openpty()
    try:
        process = subprocess.Popen([sys.executable, "-m", "csat", *arguments],
                                   stdin=terminal, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   env=os.environ | {"COLUMNS": "200"})
        os.write(controller, typed.encode())
        stdout, stderr = process.communicate(timeout=60)
    finally:
        os.close(controller)
        os.close(terminal)
    return process.returncode, stdout.decode(), stderr.decode()


def test_terminal_entry_asks_a_bad_answer_again_and_keeps_the_rest(workspace, store, cli, customers_csv):
    """Issue #16.2: one score out of range no longer throws the whole entry away."""
    import_customers(store, customers_csv)
    # quality: 120 is out of range, then 90; delivery: "eighty", then 80; the rest as typed
    code, stdout, stderr = _on_terminal(["response", "add", "C-009", "--half", "2024H1"],
                                        "120\n90\neighty\n80\nN/A\n\n85\n88\n90\n70\n")
    assert code == 0, stderr
    assert "score 120 out of 0-100; enter it again" in stderr
    assert "'eighty' is not a score for delivery (0-100, N/A or blank); enter it again" in stderr
    assert stdout.count("Product quality / 产品质量 [0-100]") == 2
    assert stdout.count("On-time delivery / 交货准时 [0-100]") == 2
    assert stdout.count("Price / 价格 [0-100]") == 1
    assert "Added C-009's 2024H1 response (8 answers)" in stderr
    stored = stored_answers(store, "2024H1")[("C-009", "")]
    assert stored["quality"] == (90.0, False, "", "") and stored["delivery"] == (80.0, False, "", "")
    assert stored["price"] == (None, True, "N/A", "") and stored["complaint_handling"] == (70.0, False, "", "")
    shown = json.loads(cli("response", "show", "1", "--format", "json").stdout)
    assert {answer["item"]: answer["score"] for answer in shown["answers"]}["quality"] == 90


def test_terminal_entry_checks_customer_and_options_before_asking(workspace, store, customers_csv):
    import_customers(store, customers_csv)
    code, stdout, stderr = _on_terminal(["response", "add", "C-404", "--half", "2024H1"], "90\n" * 8)
    assert code == 1 and "unknown customer 'C-404'" in stderr and "Product quality" not in stdout
    code, stdout, stderr = _on_terminal(["response", "add", "C-009", "--half", "2024H1", "--date", "6月底"],
                                        "90\n" * 8)
    assert code == 1 and "--date: date '6月底' is not a date" in stderr and "Product quality" not in stdout
    assert count_rows(store, "response") == 0


def test_scores_on_the_command_line_still_report_every_problem(workspace, store, cli, customers_csv):
    """Without a terminal nothing is asked again: every problem is listed and nothing is stored."""
    import_customers(store, customers_csv)
    result = cli("response", "add", "C-009", "--half", "2024H1", "--score", "quality=120", "--score", "delivery=abc",
                 "--score", "price=80")
    assert result.exit_code == 1
    assert "--score quality=120: score 120 out of 0-100" in result.stderr
    assert "--score delivery=abc: 'abc' is not a score for delivery" in result.stderr
    assert count_rows(store, "response") == 0
