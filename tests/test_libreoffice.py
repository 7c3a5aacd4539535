"""A filled form re-saved by LibreOffice Calc itself, then imported.

LibreOffice rewrites hidden sheets and cell types its own way; `.ci/run`
installs it (Calc, headless). Where it cannot be installed, the same test
re-saves the form with XlsxWriter the way LibreOffice does, so the path is
still exercised.
"""

import shutil
import subprocess
from pathlib import Path

from import_fixtures import filled_sent_form, resave_like_libreoffice



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
    form = filled_sent_form(workspace, cli, tmp_path)

    resaved = _resave(form, tmp_path)
    result = cli("import", resaved, "--format", "json")
    assert result.exit_code == 0, result
    assert '"responses_new": 1' in result.stdout and '"answers_stored": 8' in result.stdout
    report = cli("report", "--half", "2024H1", "--format", "json").stdout
    assert '"responses": 1' in report
