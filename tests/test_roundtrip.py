"""The whole survey loop with the real parts: send -> e-mail -> filled form -> import -> report.

Forms come from the real send path (outbox .eml files), are filled as a
customer would with openpyxl, optionally re-saved the way LibreOffice rewrites
cell types and hidden sheets, and imported through the CLI.
"""

import email
import json
from email import policy
from pathlib import Path

from import_fixtures import resave_like_libreoffice
from openpyxl import load_workbook

from csat.forms.identity import FormIdentity
from csat.forms.xlsx import identity_rows

SCORES = {"quality": 92, "delivery": 78, "price": 85.5, "responsiveness": 90, "tech_support": "N/A",
          "after_sales": None, "communication": 88, "complaint_handling": 86}


def _attachments(outbox: Path, folder: Path) -> dict[str, Path]:
    """customer code -> the xlsx form attached to the invitation in the outbox."""
    forms = {}
    for path in sorted(outbox.glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        attachment = next(message.iter_attachments())
        target = folder / attachment.get_filename()
        target.write_bytes(attachment.get_content())
        code = attachment.get_filename().removeprefix("survey-2024H1-").removesuffix(".xlsx")
        forms[code] = target
    return forms


def _fill(path: Path, secret: bytes, scores: dict, respondent: str) -> FormIdentity:
    workbook = load_workbook(path)
    identity = FormIdentity.from_rows(identity_rows(workbook), secret)
    sheet = workbook[identity.sheet]
    for code, value in scores.items():
        if value is not None:
            sheet[identity.items[code]] = value
    sheet[identity.comments["delivery"]] = "两次交货延迟 / two late deliveries"
    sheet[identity.respondent] = respondent
    comment = sheet[identity.overall_comment]
    comment.value, comment.data_type = "=cmd|' /C calc'!A0", "s"  # text that looks like a formula (typed as text)
    workbook.save(path)
    return identity


def test_send_fill_import_report(workspace, cli, customers_csv, tmp_path):
    assert cli("customer", "import", customers_csv).exit_code == 0
    sent = cli("survey", "send", "--half", "2024H1")
    assert sent.exit_code == 0, sent
    forms = _attachments(workspace.outbox, tmp_path)
    assert len(forms) == 9  # C-006 has no e-mail
    _fill(forms["C-001"], workspace.secret(), SCORES, "Anna Becker")
    _fill(forms["C-003"], workspace.secret(), SCORES | {"quality": 70}, "李伟")
    resaved = resave_like_libreoffice(forms["C-003"], tmp_path / "C-003-libreoffice.xlsx")

    result = cli("import", forms["C-001"], resaved, "--format", "json")
    assert result.exit_code == 0, result
    summary = json.loads(result.stdout)
    assert summary["responses_new"] == 2 and summary["answers_stored"] == 16
    again = json.loads(cli("import", forms["C-001"], resaved, "--format", "json").stdout)
    assert again["responses_new"] == 0 and again["responses_unchanged"] == 2

    status = json.loads(cli("survey", "status", "--half", "2024H1", "--format", "json").stdout)
    responded = {customer["code"] for customer in status["customers"] if customer["responded"]}
    assert responded == {"C-001", "C-003"} and status["responded"] == 2

    report = json.loads(cli("report", "--half", "2024H1", "--format", "json").stdout)
    items = {item["code"]: item for item in report["items"]}
    assert items["quality"]["n"] == 2 and items["quality"]["mean"] == 81
    assert items["tech_support"]["n"] == 0 and items["delivery"]["status"] == "below"


def test_readdressed_form_is_rejected(workspace, cli, customers_csv, tmp_path):
    cli("customer", "import", customers_csv)
    cli("survey", "send", "--half", "2024H1", "--customer", "C-001")
    form = _attachments(workspace.outbox, tmp_path)["C-001"]
    _fill(form, workspace.secret(), SCORES, "Anna Becker")
    workbook = load_workbook(form)
    hidden = workbook["csat_form"]
    for row in hidden.iter_rows():
        if row[0].value == "customer":
            row[1].value = "C-002"
    workbook.save(form)
    result = cli("import", form)
    assert result.exit_code == 1
    assert "signature invalid" in result.stderr and form.name in result.stderr
    assert json.loads(cli("survey", "status", "--format", "json").stdout)["responded"] == 0
