"""Returned forms as records you can trust (issue #17): an untouched form is no answer, a form is one
response of its invitation (a corrected copy is refused or, with --replace, replaces it), and answers
are found by their item even when the customer moved the rows (see test_form_layout.py).

Forms come from the real send path (the outbox), are filled with openpyxl as a customer would, and
every check ends with what a person sees: the import summary, `csat report`, `csat survey status`.
"""

import email
import json
from email import policy
from pathlib import Path

from import_fixtures import count_rows
from openpyxl import load_workbook

from csat.forms.identity import FormIdentity
from csat.forms.xlsx import identity_rows
from csat.store.auditlog import entries


def sent_form(workspace, cli, customers_csv, folder: Path, code: str) -> Path:
    """The form attached to `code`'s invitation for 2024H1, as the customer receives it."""
    assert cli("customer", "import", customers_csv).exit_code == 0
    assert cli("survey", "send", "--half", "2024H1", "--customer", code).exit_code == 0
    message = email.message_from_bytes(next(workspace.outbox.glob("*.eml")).read_bytes(), policy=policy.default)
    attachment = next(message.iter_attachments())
    path = folder / attachment.get_filename()
    path.write_bytes(attachment.get_content())
    return path


def fill(path: Path, secret: bytes, scores: dict, target: Path | None = None, **fields) -> Path:
    workbook = load_workbook(path)
    identity = FormIdentity.from_rows(identity_rows(workbook), secret)
    sheet = workbook[identity.sheet]
    for code, value in scores.items():
        sheet[identity.items[code]] = value
    for name, value in fields.items():
        sheet[getattr(identity, name)] = value
    workbook.save(target or path)
    return target or path


def report_items(cli) -> dict:
    report = json.loads(cli("report", "--half", "2024H1", "--format", "json").stdout)
    return {item["code"]: item for item in report["items"]}


def status(cli) -> dict:
    return json.loads(cli("survey", "status", "--half", "2024H1", "--format", "json").stdout)


# 1. An untouched form ------------------------------------------------------------------------------

def test_form_returned_untouched_is_refused(workspace, cli, customers_csv, tmp_path):
    form = sent_form(workspace, cli, customers_csv, tmp_path, "C-002")
    result = cli("import", form, "--format", "json")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["problems"] == [f"{form.name}: the form of C-002 for 2024H1 is empty"]
    assert "the form of C-002 for 2024H1 is empty" in result.stderr
    assert count_rows(workspace_store(workspace), "response") == 0
    assert status(cli)["responded"] == 0                      # still chased by the reminders
    assert report_items(cli)["quality"]["n"] == 0


def test_form_with_only_a_comment_or_a_name_is_an_answer(workspace, cli, customers_csv, tmp_path):
    form = sent_form(workspace, cli, customers_csv, tmp_path, "C-002")
    fill(form, workspace.secret(), {}, overall_comment="No scores this time: the new contact starts in July.")
    result = cli("import", form, "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["responses_new"] == 1
    assert status(cli)["responded"] == 1


def workspace_store(workspace):
    from csat.store.engine import open_store

    return open_store(workspace)


# 2. A corrected form -------------------------------------------------------------------------------

def test_corrected_form_is_refused_naming_what_differs(workspace, cli, customers_csv, tmp_path):
    form = sent_form(workspace, cli, customers_csv, tmp_path, "C-002")
    secret = workspace.secret()
    first = fill(form, secret, {"quality": 90, "delivery": 70}, tmp_path / "first.xlsx", respondent="Anna Becker")
    assert cli("import", first).exit_code == 0
    corrected = fill(first, secret, {"delivery": 80}, tmp_path / "corrected.xlsx", respondent="Jonas Weber")

    result = cli("import", corrected, "--format", "json")
    assert result.exit_code == 1
    [problem] = json.loads(result.stdout)["problems"]
    assert problem.endswith("C-002 2024H1: already imported with different answers "
                            "(delivery 70 -> 80, respondent); use --replace --reason TEXT")
    assert problem.startswith("corrected.xlsx!")
    assert report_items(cli)["delivery"]["n"] == 1 and report_items(cli)["delivery"]["mean"] == 70

    again = json.loads(cli("import", first, "--format", "json").stdout)
    assert (again["responses_new"], again["responses_unchanged"], again["answers_stored"]) == (0, 1, 0)


def test_corrected_form_with_replace_replaces_the_one_response(workspace, cli, customers_csv, tmp_path):
    form = sent_form(workspace, cli, customers_csv, tmp_path, "C-002")
    secret = workspace.secret()
    first = fill(form, secret, {"quality": 90, "delivery": 70}, tmp_path / "first.xlsx", respondent="Anna Becker")
    assert cli("import", first).exit_code == 0
    corrected = fill(first, secret, {"delivery": 80}, tmp_path / "corrected.xlsx", respondent="Jonas Weber",
                     overall_comment="Delivery got better in May.")

    result = cli("import", corrected, "--replace", "--reason", "corrected form", "--format", "json")
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert (summary["responses_new"], summary["responses_replaced"]) == (0, 1)

    items = report_items(cli)
    assert (items["delivery"]["n"], items["delivery"]["mean"]) == (1, 80)
    assert items["quality"]["n"] == 1
    assert status(cli)["responded"] == 1
    store = workspace_store(workspace)
    assert count_rows(store, "response") == 1
    with store.read_session() as session:
        from sqlmodel import select

        from csat.store.models import Response

        response = session.exec(select(Response)).one()
        assert (response.respondent, response.comment) == ("Jonas Weber", "Delivery got better in May.")
        trail = entries(session, table="response")
    replaced = [entry for entry in trail if entry["action"] == "replace"]
    assert len(replaced) == 1
    assert replaced[0]["changes"]["old"]["respondent"] == "Anna Becker"
    assert replaced[0]["changes"]["old"]["answers"]["delivery"][0] == 70
    assert replaced[0]["changes"]["new"]["respondent"] == "Jonas Weber"

    # The corrected form again: unchanged, and the first copy is now the one that differs.
    assert json.loads(cli("import", corrected, "--format", "json").stdout)["responses_unchanged"] == 1
    back = cli("import", first, "--format", "json")
    assert back.exit_code == 1
    assert json.loads(back.stdout)["problems"][0].endswith(
        "C-002 2024H1: already imported with different answers (delivery 80 -> 70, respondent, comment); "
        "use --replace --reason TEXT")


def test_two_copies_of_one_form_in_one_import_conflict(workspace, cli, customers_csv, tmp_path):
    form = sent_form(workspace, cli, customers_csv, tmp_path, "C-002")
    secret = workspace.secret()
    first = fill(form, secret, {"quality": 90}, tmp_path / "a.xlsx", respondent="Anna Becker")
    second = fill(form, secret, {"quality": 90}, tmp_path / "b.xlsx", respondent="Jonas Weber")
    result = cli("import", first, second, "--format", "json")
    assert result.exit_code == 1
    assert "is also answered, differently, in a.xlsx" in json.loads(result.stdout)["problems"][0]
    assert status(cli)["responded"] == 0


def _store_a_second_form_response(store, respondent: str, copy_of: str) -> None:
    """What importing a corrected copy did before forms were matched to their invitation."""
    from sqlalchemy import text

    with store.session() as session:
        connection = session.connection()
        connection.execute(text(
            "INSERT INTO response (round_id, customer_id, respondent, respondent_title, answered_on, comment, source, "
            "source_file, content_hash, created_at, updated_at) SELECT round_id, customer_id, :respondent, "
            "respondent_title, answered_on, comment, source, source_file, content_hash, created_at, updated_at "
            "FROM response WHERE respondent = :copy_of"), {"respondent": respondent, "copy_of": copy_of})
        connection.execute(text(
            "INSERT INTO answer (response_id, item_id, score, not_applicable, raw, comment) SELECT "
            "(SELECT id FROM response WHERE respondent = :respondent), item_id, score, not_applicable, raw, comment "
            "FROM answer WHERE response_id = (SELECT id FROM response WHERE respondent = :copy_of)"),
            {"respondent": respondent, "copy_of": copy_of})


def test_a_form_stored_twice_before_becomes_one_response_with_replace(workspace, cli, customers_csv, tmp_path):
    form = sent_form(workspace, cli, customers_csv, tmp_path, "C-002")
    secret = workspace.secret()
    first = fill(form, secret, {"quality": 90, "delivery": 70}, tmp_path / "first.xlsx", respondent="Anna Becker")
    assert cli("import", first).exit_code == 0
    store = workspace_store(workspace)
    _store_a_second_form_response(store, "Jonas Weber", copy_of="Anna Becker")
    assert report_items(cli)["delivery"]["n"] == 2                   # the defect's trace in the store
    corrected = fill(first, secret, {"delivery": 80}, tmp_path / "corrected.xlsx", respondent="Jonas Weber")

    refused = cli("import", corrected, "--format", "json")
    assert refused.exit_code == 1
    assert json.loads(refused.stdout)["problems"][0].endswith(
        "C-002 2024H1: already imported from 2 forms (respondents 'Anna Becker', 'Jonas Weber'); "
        "use --replace --reason TEXT to keep only this one")
    assert cli("import", first).exit_code == 1          # the same as one of them: still not one response

    result = cli("import", corrected, "--replace", "--reason", "corrected form")
    assert result.exit_code == 0, result.stderr
    assert "Responses removed" in result.stdout
    items = report_items(cli)
    assert (items["delivery"]["n"], items["delivery"]["mean"]) == (1, 80)
    assert status(cli)["responded"] == 1
    with store.read_session() as session:
        from sqlmodel import select

        from csat.store.models import Response

        assert session.exec(select(Response.respondent)).all() == ["Jonas Weber"]
        [deleted] = entries(session, table="response", key="2024H1/C-002/Anna Becker")[:1]
    assert deleted["action"] == "delete" and deleted["changes"]["old"]["answers"]["delivery"][0] == 70
    again = json.loads(cli("import", corrected, "--format", "json").stdout)
    assert (again["responses_unchanged"], again["responses_removed"]) == (1, 0)


def test_differences_name_not_applicable_item_comments_and_title(workspace, cli, customers_csv, tmp_path):
    form = sent_form(workspace, cli, customers_csv, tmp_path, "C-002")
    secret = workspace.secret()
    first = fill(form, secret, {"quality": 90, "price": "N/A"}, tmp_path / "first.xlsx")
    assert cli("import", first).exit_code == 0
    workbook = load_workbook(first)
    identity = FormIdentity.from_rows(identity_rows(workbook), secret)
    workbook[identity.sheet][identity.comments["delivery"]] = "late twice"
    workbook[identity.sheet][identity.items["price"]] = 80
    workbook[identity.sheet][identity.items["quality"]] = None
    workbook[identity.sheet][identity.title] = "Buyer"
    workbook.save(tmp_path / "second.xlsx")
    result = cli("import", tmp_path / "second.xlsx", "--format", "json")
    assert json.loads(result.stdout)["problems"][0].endswith(
        "C-002 2024H1: already imported with different answers (quality 90 -> blank, delivery comment, "
        "price N/A -> 80, title); use --replace --reason TEXT")


# A withdrawn form ----------------------------------------------------------------------------------

def test_a_withdrawn_form_stays_withdrawn_and_its_corrected_copy_corrects_it(workspace, cli, customers_csv, tmp_path):
    form = sent_form(workspace, cli, customers_csv, tmp_path, "C-002")
    fill(form, workspace.secret(), {"quality": 70, "delivery": 70}, respondent="Jonas Weber")
    assert cli("import", form).exit_code == 0
    response_id = json.loads(cli("response", "list", "--format", "json").stdout)[0]["id"]
    assert cli("response", "withdraw", str(response_id), "--reason", "scores typed by sales").exit_code == 0
    assert status(cli)["responded"] == 0

    again = json.loads(cli("import", form, "--format", "json").stdout)     # the same file once more
    assert (again["responses_new"], again["responses_withdrawn"]) == (0, 1)
    assert report_items(cli)["quality"]["n"] == 0 and status(cli)["responded"] == 0

    corrected = fill(form, workspace.secret(), {"quality": 90}, target=tmp_path / "corrected.xlsx",
                     respondent="Anna Weber")
    result = json.loads(cli("import", corrected, "--format", "json").stdout)   # no --replace needed
    assert (result["responses_new"], result["responses_replaced"]) == (0, 1)
    listed = json.loads(cli("response", "list", "--all", "--format", "json").stdout)
    assert [(record["id"], record["respondent"], record["withdrawn"]) for record in listed] == [
        (response_id, "Anna Weber", False)]
    assert report_items(cli)["quality"]["n"] == 1 and report_items(cli)["quality"]["mean"] == 90
    assert status(cli)["responded"] == 1
