"""The signed xlsx form and the printable HTML form, written and read back for real."""

import io
import json
from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook

from csat.forms.identity import IDENTITY_SHEET, FormIdentity, IdentityError
from csat.forms.xlsx import identity_rows, read_identity
from csat.periods import Half
from csat.registry import customers, items
from csat.survey import rounds
from csat.survey import send as survey

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture
def forms(workspace, store):
    """The 2024H1 round's forms with the example template (a labelled choice item included)."""
    with store.session() as session:
        items.load_template(session, items.read_template(EXAMPLES / "items.toml"), replace=True)
        customers.add(session, code="C-1", name='Acme "Motors"\n<GmbH>', contact="Anna", email="a@acme.example")
        customers.add(session, code="C-2", name="深圳华科电子有限公司", contact="李伟", email="li@huake.example",
                      language="zh")
        round_ = rounds.open_round(session, Half.parse("2024H1"), due=date(2024, 7, 31), today=date(2024, 7, 1))
        recipients = [survey.Recipient.of(survey.ensure_invitation(session, round_, customer), customer)
                      for customer in customers.list_customers(session)]
        loaded = survey.RoundForms.load(session, workspace, round_)
    return loaded, {recipient.code: recipient for recipient in recipients}


def _open(data: bytes, **options):
    return load_workbook(io.BytesIO(data), **options)


def test_identity_is_signed_and_names_every_answer_cell(workspace, forms):
    loaded, recipients = forms
    data = loaded.xlsx(recipients["C-1"])
    workbook = _open(data)
    identity = FormIdentity.from_rows(identity_rows(workbook), workspace.secret())
    assert (identity.customer, identity.period, identity.token) == ("C-1", "2024H1", recipients["C-1"].token)
    assert list(identity.items) == ["quality", "delivery", "packaging", "overall"]
    assert set(identity.comments) == set(identity.items)
    hidden = workbook[IDENTITY_SHEET]
    assert hidden.sheet_state == "veryHidden"
    assert all(cell.data_type == "s" for row in hidden.iter_rows() for cell in row if cell.value is not None)
    sheet = workbook[identity.sheet]
    assert sheet.sheet_state == "visible" and workbook.active.title == identity.sheet
    # every named cell is an unlocked answer cell on the row of its item, and the rest of the sheet is locked
    answer_refs = [*identity.items.values(), *identity.comments.values(), identity.overall_comment,
                   identity.respondent, identity.title, identity.date]
    assert all(not sheet[ref].protection.locked for ref in answer_refs)
    for code, ref in identity.items.items():
        label = sheet.cell(row=sheet[ref].row, column=2).value
        assert label.startswith({"quality": "Product quality", "delivery": "On-time delivery",
                                 "packaging": "Packaging", "overall": "Overall satisfaction"}[code])
        assert sheet[identity.comments[code]].row == sheet[ref].row
    assert sheet["A1"].protection.locked and sheet["B10"].protection.locked
    assert sheet.protection.sheet and not sheet.protection.password
    text = " ".join(str(cell.value) for row in sheet.iter_rows() for cell in row if cell.value is not None)
    assert 'Acme "Motors" <GmbH> (C-1)' in text and "2024-07-31" in text and "[[csat:" not in text


def test_score_cells_are_validated_by_scale_or_choice_list(forms):
    loaded, recipients = forms
    for code, labels in (("C-1", "Very satisfied,Satisfied,Neutral"), ("C-2", "非常满意,满意,一般")):
        workbook = _open(loaded.xlsx(recipients[code]))
        identity = FormIdentity.from_rows(identity_rows(workbook), loaded.secret)
        validations = workbook[identity.sheet].data_validations.dataValidation
        by_cell = {str(ref): validation for validation in validations for ref in validation.sqref.ranges}
        numeric = by_cell[identity.items["quality"]]
        assert (numeric.type, numeric.formula1, numeric.formula2) == ("decimal", "0", "100")
        assert identity.items["delivery"] in {str(ref) for ref in numeric.sqref.ranges}
        choice = by_cell[identity.items["overall"]]
        assert choice.type == "list" and choice.formula1.startswith(f'"{labels}')


def test_chinese_customer_gets_a_chinese_form(forms):
    loaded, recipients = forms
    workbook = _open(loaded.xlsx(recipients["C-2"]))
    sheet = workbook.worksheets[0]
    assert sheet.title == "调查表" and sheet["A1"].value == "客户满意度调查表"
    values = [cell.value for row in sheet.iter_rows() for cell in row]
    assert "产品质量" in values and "2024年上半年（1-6月）" in values


def test_re_addressed_form_is_detected(workspace, forms):
    loaded, recipients = forms
    workbook = _open(loaded.xlsx(recipients["C-1"]))
    hidden = workbook[IDENTITY_SHEET]
    for row in hidden.iter_rows():
        if row[0].value == "customer":
            row[1].value = "C-2"
    buffer = io.BytesIO()
    workbook.save(buffer)
    with pytest.raises(IdentityError, match="signature invalid"):
        read_identity(buffer.getvalue(), workspace.secret())
    with pytest.raises(IdentityError):
        read_identity(loaded.xlsx(recipients["C-1"]), b"another workspace's secret")


def test_form_survives_a_libreoffice_style_resave(workspace, forms, tmp_path):
    """LibreOffice turns very hidden sheets into hidden ones and stores text that looks numeric as numbers."""
    loaded, recipients = forms
    workbook = _open(loaded.xlsx(recipients["C-1"]))
    identity = FormIdentity.from_rows(identity_rows(workbook), workspace.secret())
    sheet = workbook[identity.sheet]
    sheet[identity.items["quality"]] = 92
    sheet[identity.items["overall"]] = "Satisfied"
    sheet[identity.comments["delivery"]] = "Late twice in March"
    sheet[identity.respondent] = "Anna Becker"
    sheet[identity.date] = date(2024, 7, 10)
    hidden = workbook[IDENTITY_SHEET]
    hidden.sheet_state = "hidden"
    for row in hidden.iter_rows():
        value = row[1].value
        if isinstance(value, str) and value.isdigit():
            row[1].value = float(value)  # e.g. format "1" comes back as the number 1.0
    path = tmp_path / "returned.xlsx"
    workbook.save(path)
    reread = load_workbook(path)
    assert reread[IDENTITY_SHEET]["B1"].value == 1
    verified = read_identity(path, workspace.secret())
    assert verified == identity
    assert reread[verified.sheet][verified.items["quality"]].value == 92


def test_round_keeps_its_template_after_edits(workspace, store, forms):
    loaded, recipients = forms
    with store.session() as session:
        items.load_template(session, items.default_template(), replace=True)
        round_ = rounds.get_round(session, "2024H1")
        again = survey.RoundForms.load(session, workspace, round_)
    identity = read_identity(again.xlsx(recipients["C-1"]), workspace.secret())
    assert list(identity.items) == ["quality", "delivery", "packaging", "overall"]


def test_html_form_is_escaped_and_printable(forms):
    loaded, recipients = forms
    page = loaded.html(recipients["C-1"])
    assert "Acme &#34;Motors&#34; &lt;GmbH&gt;" in page or "Acme &quot;Motors&quot; &lt;GmbH&gt;" in page
    assert "<GmbH>" not in page
    assert "size: A4" in page and "Packaging and labelling" in page and "Very satisfied" in page
    assert recipients["C-1"].token in page
    chinese = loaded.html(recipients["C-2"])
    assert "客户满意度调查表" in chinese and "非常满意" in chinese


def test_forms_are_built_once_per_language(forms):
    loaded, recipients = forms
    loaded.xlsx(recipients["C-1"])
    template = loaded.xlsx_template("en")
    loaded.xlsx(recipients["C-1"])
    assert loaded.xlsx_template("en") is template
    assert set(loaded._templates) == {"en"}


def test_choice_labels_with_commas_use_a_hidden_list(workspace, store):
    with store.session() as session:
        specs = items.parse_template({"item": [{"code": "overall", "label_en": "Overall", "choice": [
            {"label_en": "Good, mostly", "points": 80}, {"label_en": "Poor", "points": 20}]}]}, "test")
        items.load_template(session, specs, replace=True)
        customer = customers.add(session, code="C-9", name="Nine", email="n@nine.example")
        round_ = rounds.open_round(session, Half.parse("2024H2"))
        recipient = survey.Recipient.of(survey.ensure_invitation(session, round_, customer), customer)
        loaded = survey.RoundForms.load(session, workspace, round_)
    workbook = _open(loaded.xlsx(recipient))
    identity = read_identity(loaded.xlsx(recipient), workspace.secret())
    [validation] = workbook[identity.sheet].data_validations.dataValidation
    assert validation.formula1 == "csat_lists!$A$1:$A$2"
    assert workbook["csat_lists"].sheet_state == "veryHidden"
    assert [row[0].value for row in workbook["csat_lists"].iter_rows()] == ["Good, mostly", "Poor"]
    assert json.loads(json.dumps(identity.items)) == {"overall": "D10"}
