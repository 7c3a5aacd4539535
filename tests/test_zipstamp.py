"""Stamped zip copies are valid archives (CRC checked) with exactly the filled-in text, and forms stay readable."""

import io
import random
import re
import string
import zipfile
from datetime import date

import pytest
from openpyxl import load_workbook

from csat import customers, rounds, survey
from csat.forms.identity import IDENTITY_SHEET, FormIdentity
from csat.forms.xlsx import identity_rows
from csat.forms.zipstamp import StampedZip
from csat.periods import Half
from csat.sheets.read import read_xlsx

FIELD = re.compile(r"\{(\w+)\}")


def _archive():
    noise = "".join(random.Random(7).choices(string.ascii_letters + " <>/=\"", k=90_000))
    fixed = [("[Content_Types].xml", b"<Types/>" * 50), ("docs/\u8bf4\u660e.txt", "中文说明".encode()),
             ("empty.bin", b"")]
    templated = [
        ("edges.xml", "{a}{b}middle{a}{c}"),
        ("big.xml", f"<head>{noise}</head><v>{{b}}</v>{noise}"),
        ("plain.xml", "<x>{c}</x>"),
    ]
    return StampedZip(fixed, templated, FIELD), fixed, templated


@pytest.mark.parametrize("values", [
    {"a": "A", "b": "B", "c": "C"},
    {"a": "", "b": "", "c": ""},
    {"a": "深圳华科 &amp; 李伟", "b": "x" * 70_000, "c": "Ünïcødé ✓"},
])
def test_every_copy_is_a_valid_zip_with_the_filled_in_text(values):
    stamped, fixed, templated = _archive()
    assert stamped.fields == {"a", "b", "c"}
    data = stamped.stamp(values)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None  # every entry inflates and matches its CRC-32
        assert archive.namelist() == [name for name, _ in fixed] + [name for name, _ in templated]
        for name, content in fixed:
            assert archive.read(name) == content
        for name, text in templated:
            assert archive.read(name).decode("utf-8") == FIELD.sub(lambda found: values[found[1]], text)
        assert all(info.compress_type == zipfile.ZIP_DEFLATED for info in archive.infolist())
        assert archive.getinfo("edges.xml").date_time == (2020, 1, 1, 0, 0, 0)


def test_copies_differ_only_by_their_values():
    stamped, _, _ = _archive()
    first = stamped.stamp({"a": "1", "b": "2", "c": "3"})
    assert stamped.stamp({"a": "1", "b": "2", "c": "3"}) == first
    assert stamped.stamp({"a": "1", "b": "2", "c": "4"}) != first


def test_a_stamped_form_reads_in_calamine_through_the_guard_and_in_openpyxl(workspace, store, tmp_path):
    with store.session() as session:
        customer = customers.add(session, code="C-2", name="深圳华科电子有限公司 & <Co>", contact="李伟",
                                 email="li@huake.example", language="zh")
        round_ = rounds.open_round(session, Half.parse("2024H1"), due=date(2024, 7, 31))
        recipient = survey.Recipient.of(survey.ensure_invitation(session, round_, customer), customer)
        forms = survey.RoundForms.load(session, workspace, round_)
    data = forms.xlsx(recipient)
    path = tmp_path / "form.xlsx"
    path.write_bytes(data)
    sheets = read_xlsx(path, also=(IDENTITY_SHEET,))
    cells = {value for sheet in sheets for _, _, row in sheet.rows for value in row if value is not None}
    assert "深圳华科电子有限公司 & <Co> (C-2)" in cells and "李伟" in cells and recipient.token in cells
    workbook = load_workbook(io.BytesIO(data))
    identity = FormIdentity.from_rows(identity_rows(workbook), workspace.secret())
    assert (identity.customer, identity.token) == ("C-2", recipient.token)
    assert workbook[IDENTITY_SHEET].sheet_state == "veryHidden"
