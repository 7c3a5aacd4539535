"""`csat response list/show/withdraw`: a withdrawn response is kept, audited and counted nowhere."""

import json
from datetime import date, datetime, timedelta

from import_fixtures import import_customers, open_round_with_invitations, write_sheet_csv
from sqlmodel import select

from csat.store.auditlog import entries
from csat.store.models import Invitation

TODAY = date.today()


def _setup(store, cli, customers_csv):
    """Three invited customers (sent three weeks ago), two of them answered by phone."""
    import_customers(store, customers_csv)
    open_round_with_invitations(store, "2024H1", codes=["C-001", "C-002", "C-003"])
    with store.session() as session:
        for invitation in session.exec(select(Invitation)).all():
            invitation.sent_at = datetime.combine(TODAY - timedelta(days=21), datetime.min.time())
    assert cli("response", "add", "C-001", "--half", "2024H1", "--score", "quality=90",
               "--score", "delivery=80", "--comment", "Good").exit_code == 0
    added = cli("response", "add", "C-002", "--half", "2024H1", "--score", "quality=40",
                "--score", "delivery=30", "--comment", "Entered for the wrong customer")
    assert added.exit_code == 0, added
    listed = json.loads(cli("response", "list", "--half", "2024H1", "--format", "json").stdout)
    return {record["customer"]: record["id"] for record in listed}


def _report(cli) -> dict:
    result = cli("report", "--half", "2024H1", "--format", "json")
    assert result.exit_code == 0, result
    return json.loads(result.stdout)


def _item(report: dict, code: str) -> dict:
    return next(item for item in report["items"] if item["code"] == code)


def test_list_shows_each_response_with_the_contract_keys(workspace, store, cli, customers_csv):
    ids = _setup(store, cli, customers_csv)
    listed = json.loads(cli("response", "list", "--format", "json").stdout)
    assert [set(record) for record in listed] == [
        {"id", "period", "customer", "respondent", "source", "source_label", "created_at", "withdrawn",
         "source_sha256", "source_sheet", "source_row"}] * 2
    assert [(record["customer"], record["source"], record["withdrawn"]) for record in listed] == [
        ("C-001", "manual", False), ("C-002", "manual", False)]
    only = json.loads(cli("response", "list", "--customer", "C-002", "--format", "json").stdout)
    assert [record["id"] for record in only] == [ids["C-002"]]
    table = cli("response", "list", "--half", "2024H1")
    assert "C-001" in table.stdout and "Typed in" in table.stdout
    assert cli("response", "list", "--format", "csv").stdout.lstrip("\ufeff").startswith("id,period,customer")
    unknown = cli("response", "list", "--customer", "C-404")
    assert unknown.exit_code == 1 and "unknown customer 'C-404'" in unknown.stderr
    assert cli("response", "list", "--half", "2030H1").exit_code == 1
    assert cli("response", "list", "--half", "2024Q1").exit_code == 2


def test_withdraw_takes_the_response_out_of_every_figure(workspace, store, cli, customers_csv):
    ids = _setup(store, cli, customers_csv)
    before = _report(cli)
    assert (before["responses"], _item(before, "quality")["n"]) == (2, 2)
    assert before["response_rate"] == 2 / 3
    assert any(comment["customer"] == "C-002" for comment in before["comments"])

    result = cli("response", "withdraw", str(ids["C-002"]), "--reason", "entered for the wrong customer")
    assert result.exit_code == 0, result
    assert f"Withdrew response #{ids['C-002']}: C-002, 2024H1; the customer counts as not answered again" in result.stderr

    after = _report(cli)
    quality = _item(after, "quality")
    assert (after["responses"], quality["n"], quality["mean"]) == (1, 1, 90.0)
    assert after["response_rate"] == 1 / 3
    assert after["csi"] == after["customers"][0]["score"] and after["csi"] > before["csi"]
    assert [customer["code"] for customer in after["customers"]] == ["C-001"]
    assert all(comment["customer"] != "C-002" for comment in after["comments"])
    trend = json.loads(cli("report", "--trend", "--format", "json").stdout)
    assert (trend["rounds"][-1]["responses"], trend["rounds"][-1]["response_rate"]) == (1, 1 / 3)
    assert next(item for item in trend["items"] if item["code"] == "quality")["series"][-1]["n"] == 1

    status = json.loads(cli("survey", "status", "--half", "2024H1", "--format", "json").stdout)
    assert {customer["code"]: customer["responded"] for customer in status["customers"]} == {
        "C-001": True, "C-002": False, "C-003": False}
    assert (status["responded"], status["response_rate"]) == (1, 1 / 3)
    rounds = json.loads(cli("survey", "list", "--format", "json").stdout)
    assert rounds[0]["responded"] == 1

    reminders = cli("remind", "--dry-run", "--today", TODAY.isoformat())
    assert reminders.exit_code == 0, reminders
    assert "C-002" in reminders.stderr + reminders.stdout and "C-001" not in reminders.stderr + reminders.stdout

    assert [record["id"] for record in json.loads(cli("response", "list", "--format", "json").stdout)] == [ids["C-001"]]
    everything = json.loads(cli("response", "list", "--all", "--format", "json").stdout)
    assert [(record["customer"], record["withdrawn"]) for record in everything] == [("C-001", False), ("C-002", True)]

    shown = json.loads(cli("response", "show", str(ids["C-002"]), "--format", "json").stdout)
    assert shown["withdrawn"] is True and shown["withdraw_reason"] == "entered for the wrong customer"
    assert [(answer["item"], answer["score"]) for answer in shown["answers"]] == [("quality", 40.0), ("delivery", 30.0)]
    assert [entry["action"] for entry in shown["history"]] == ["insert", "withdraw"]
    table = cli("response", "show", str(ids["C-002"]))
    assert "entered for the wrong customer" in table.stdout and "Product quality" in table.stdout
    assert "stored by" in table.stderr and "withdrawn by" in table.stderr

    with store.read_session() as session:
        trail = entries(session, table="response", key="2024H1/C-002")
    assert trail[0]["action"] == "withdraw" and trail[0]["changes"]["reason"] == "entered for the wrong customer"


def test_withdrawing_twice_or_without_reason_is_refused(workspace, store, cli, customers_csv):
    ids = _setup(store, cli, customers_csv)
    assert cli("response", "withdraw", str(ids["C-002"]), "--reason", "  ").exit_code == 2
    assert cli("response", "withdraw", str(ids["C-002"])).exit_code == 2
    assert cli("response", "withdraw", str(ids["C-002"]), "--reason", "test entry").exit_code == 0
    again = cli("response", "withdraw", str(ids["C-002"]), "--reason", "test entry")
    assert again.exit_code == 1 and f"response #{ids['C-002']} (2024H1 C-002) was already withdrawn" in again.stderr
    missing = cli("response", "withdraw", "999", "--reason", "x")
    assert missing.exit_code == 1 and "no response #999" in missing.stderr
    assert cli("response", "show", "999").exit_code == 1


def test_closed_round_must_be_reopened_to_withdraw(workspace, store, cli, customers_csv):
    ids = _setup(store, cli, customers_csv)
    assert cli("survey", "close", "--half", "2024H1").exit_code == 0
    refused = cli("response", "withdraw", str(ids["C-002"]), "--reason", "wrong customer")
    assert refused.exit_code == 1 and "--reopen" in refused.stderr
    assert _report(cli)["responses"] == 2


def test_another_respondent_keeps_the_customer_answered(workspace, store, cli, customers_csv):
    ids = _setup(store, cli, customers_csv)
    assert cli("response", "add", "C-002", "--half", "2024H1", "--respondent", "Li", "--score", "quality=70").exit_code == 0
    result = cli("response", "withdraw", str(ids["C-002"]), "--reason", "duplicate")
    assert result.exit_code == 0 and "not answered again" not in result.stderr
    status = json.loads(cli("survey", "status", "--half", "2024H1", "--format", "json").stdout)
    assert status["responded"] == 2
    report = _report(cli)
    assert (report["responses"], _item(report, "quality")["n"], report["response_rate"]) == (2, 2, 2 / 3)


def test_reimporting_after_withdraw(workspace, store, cli, customers_csv, tmp_path):
    """The same answers again (a folder imported twice) stay withdrawn; corrected answers are the correction."""
    _setup(store, cli, customers_csv)
    sheet = write_sheet_csv(tmp_path / "answers.csv", ["customer", "quality", "delivery"],
                            [["C-003", 50, 60]])
    first = cli("import", str(sheet), "--half", "2024H1", "--format", "json")
    assert first.exit_code == 0, first
    response_id = next(record["id"] for record in json.loads(cli("response", "list", "--format", "json").stdout)
                       if record["customer"] == "C-003")
    shown = json.loads(cli("response", "show", str(response_id), "--format", "json").stdout)
    assert (shown["source"], shown["source_file"].endswith("answers.csv")) == ("sheet", True)
    assert shown["imported_by"] and shown["history"][0]["action"] == "insert"
    assert cli("response", "withdraw", str(response_id), "--reason", "scores typed into the wrong columns").exit_code == 0

    again = cli("import", str(sheet), "--half", "2024H1", "--format", "json")
    assert again.exit_code == 0, again
    record = json.loads(again.stdout)
    assert (record["responses_new"], record["responses_withdrawn"], record["rounds"][0]["responded"]) == (0, 1, 2)
    table = cli("import", str(sheet), "--half", "2024H1")
    assert "Responses left withdrawn" in table.stdout
    assert _report(cli)["responses"] == 2
    assert json.loads(cli("response", "show", str(response_id), "--format", "json").stdout)["withdrawn"] is True

    corrected = write_sheet_csv(tmp_path / "corrected.csv", ["customer", "quality", "delivery"], [["C-003", 60, 50]])
    fixed = cli("import", str(corrected), "--half", "2024H1", "--format", "json")
    assert fixed.exit_code == 0, fixed
    record = json.loads(fixed.stdout)
    assert (record["responses_replaced"], record["rounds"][0]["responded"]) == (1, 3)
    report = _report(cli)
    assert (report["responses"], _item(report, "quality")["n"], report["response_rate"]) == (3, 3, 1.0)
    status = json.loads(cli("survey", "status", "--half", "2024H1", "--format", "json").stdout)
    assert status["responded"] == 3
    shown = json.loads(cli("response", "show", str(response_id), "--format", "json").stdout)
    assert shown["withdrawn"] is False and [answer["score"] for answer in shown["answers"]] == [60.0, 50.0]
    assert [entry["action"] for entry in shown["history"]] == ["insert", "withdraw", "correct"]
    with store.read_session() as session:
        correction = entries(session, table="response", key="2024H1/C-003")[0]
    assert correction["changes"]["old"]["withdraw_reason"] == "scores typed into the wrong columns"


def test_manual_entry_after_withdraw(workspace, store, cli, customers_csv):
    ids = _setup(store, cli, customers_csv)
    assert cli("response", "withdraw", str(ids["C-002"]), "--reason", "misheard on the phone").exit_code == 0
    same = cli("response", "add", "C-002", "--half", "2024H1", "--score", "quality=40", "--score", "delivery=30",
               "--comment", "Entered for the wrong customer")
    assert same.exit_code == 1 and f"withdrawn response #{ids['C-002']}" in same.stderr
    corrected = cli("response", "add", "C-002", "--half", "2024H1", "--score", "quality=80", "--score", "delivery=85")
    assert corrected.exit_code == 0, corrected
    assert "response rate 67%" in corrected.stderr
    report = _report(cli)
    assert (report["responses"], _item(report, "quality")["mean"]) == (2, 85.0)


def test_withdraw_and_correct_on_postgres(tmp_path, monkeypatch, cli, postgres_url):
    from tests.conftest import EXAMPLES

    monkeypatch.setenv("CSAT_DATABASE_URL", postgres_url)
    assert cli("init", tmp_path / "pg").exit_code == 0
    monkeypatch.setenv("CSAT_HOME", str(tmp_path / "pg"))
    assert cli("customer", "import", EXAMPLES / "customers.csv").exit_code == 0
    assert cli("survey", "send", "--half", "2024H1").exit_code == 0
    assert cli("import", EXAMPLES / "responses-2024H1.csv", "--half", "2024H1").exit_code == 0
    before = json.loads(cli("report", "--half", "2024H1", "--format", "json").stdout)
    first = json.loads(cli("response", "list", "--format", "json").stdout)[0]
    assert cli("response", "withdraw", str(first["id"]), "--reason", "wrong customer").exit_code == 0
    after = json.loads(cli("report", "--half", "2024H1", "--format", "json").stdout)
    assert after["responses"] == before["responses"] - 1 and after["response_rate"] < before["response_rate"]
    everything = json.loads(cli("response", "list", "--all", "--format", "json").stdout)
    assert [record["withdrawn"] for record in everything if record["id"] == first["id"]] == [True]
    corrected = cli("response", "add", first["customer"], "--half", "2024H1", "--respondent", first["respondent"],
                    "--score", "quality=77")
    assert corrected.exit_code == 0, corrected
    again = json.loads(cli("report", "--half", "2024H1", "--format", "json").stdout)
    assert (again["responses"], again["response_rate"]) == (before["responses"], before["response_rate"])


def test_survey_list_leaves_out_withdrawn_responses_of_a_round_nobody_was_invited_to(store, cli, customers_csv):
    from csat.periods import Half

    import_customers(store, customers_csv)
    period = str(Half.containing(TODAY))
    for code, score in (("C-001", "90"), ("C-002", "40")):
        assert cli("response", "add", code, "--half", period, "--score", f"quality={score}").exit_code == 0
    listed = {record["customer"]: record["id"] for record in
              json.loads(cli("response", "list", "--half", period, "--format", "json").stdout)}
    rounds = json.loads(cli("survey", "list", "--format", "json").stdout)
    assert (rounds[0]["period"], rounds[0]["invited"], rounds[0]["responded"]) == (period, None, 2)

    assert cli("response", "withdraw", str(listed["C-002"]), "--reason", "typed twice").exit_code == 0
    assert json.loads(cli("survey", "list", "--format", "json").stdout)[0]["responded"] == 1
    table = cli("survey", "list")
    assert period in table.stdout
