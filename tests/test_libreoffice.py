"""A filled form re-saved by LibreOffice Calc itself, then imported.

LibreOffice rewrites hidden sheets and cell types its own way; `.ci/run`
installs it (Calc, headless). Where it cannot be installed, the same test
re-saves the form with XlsxWriter the way LibreOffice does, so the path is
still exercised.
"""

import email
import shutil
import subprocess
from email import policy
from pathlib import Path

from import_fixtures import resave_like_libreoffice
from openpyxl import load_workbook

from csat.forms.identity import FormIdentity
from csat.forms.xlsx import identity_rows


def _resave(source: Path, folder: Path) -> Path:
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        return resave_like_libreoffice(source, folder / "resaved.xlsx")
    out = folder / "libreoffice"
    subprocess.run([soffice, "--headless", "--norestore", f"-env:UserInstallation=file://{folder / 'profile'}",
                    "--convert-to", "xlsx:Calc MS Excel 2007 XML", "--outdir", str(out), str(source)],
                   check=True, capture_output=True, timeout=180)
    return out / source.name


def test_form_resaved_by_libreoffice_imports(workspace, cli, customers_csv, tmp_path):
    cli("customer", "import", customers_csv)
    assert cli("survey", "send", "--half", "2024H1", "--customer", "C-003").exit_code == 0
    message = email.message_from_bytes(next(workspace.outbox.glob("*.eml")).read_bytes(), policy=policy.default)
    form = tmp_path / "form.xlsx"
    form.write_bytes(next(message.iter_attachments()).get_content())
    workbook = load_workbook(form)
    identity = FormIdentity.from_rows(identity_rows(workbook), workspace.secret())
    sheet = workbook[identity.sheet]
    for offset, cell in enumerate(identity.items.values()):
        sheet[cell] = 80 + offset
    sheet[identity.respondent] = "李伟"
    workbook.save(form)

    resaved = _resave(form, tmp_path)
    result = cli("import", resaved, "--format", "json")
    assert result.exit_code == 0, result
    assert '"responses_new": 1' in result.stdout and '"answers_stored": 8' in result.stdout
    report = cli("report", "--half", "2024H1", "--format", "json").stdout
    assert '"responses": 1' in report
