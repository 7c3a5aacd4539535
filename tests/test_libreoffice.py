"""A filled form re-saved by LibreOffice Calc itself, then imported.

LibreOffice rewrites hidden sheets and cell types its own way; `.ci/run`
installs it (Calc, headless). Where Calc is missing the real test is skipped
with that reason (visible in `pytest -ra`), and a second test re-saves the
form with XlsxWriter the way LibreOffice does, so the import path is always
exercised.
"""

import shutil
import subprocess
from pathlib import Path

import pytest
from import_fixtures import filled_sent_form, resave_like_libreoffice


def _calc() -> str:
    """The soffice program, or a skip saying it is missing."""
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        pytest.skip("LibreOffice Calc (soffice) is not installed; .ci/run installs libreoffice-calc-nogui")
    return soffice


def _resave_with_calc(source: Path, folder: Path) -> Path:
    out = folder / "libreoffice"
    subprocess.run([_calc(), "--headless", "--norestore", f"-env:UserInstallation=file://{folder / 'profile'}",
                    "--convert-to", "xlsx:Calc MS Excel 2007 XML", "--outdir", str(out), str(source)],
                   check=True, capture_output=True, timeout=180)
    return out / source.name


def _imports_as_one_response(cli, resaved: Path) -> None:
    result = cli("import", resaved, "--format", "json")
    assert result.exit_code == 0, result
    assert '"responses_new": 1' in result.stdout and '"answers_stored": 8' in result.stdout
    report = cli("report", "--half", "2024H1", "--format", "json").stdout
    assert '"responses": 1' in report


def test_form_resaved_by_libreoffice_imports(workspace, cli, customers_csv, tmp_path):
    _calc()  # skip before building anything when Calc is missing
    cli("customer", "import", customers_csv)
    form = filled_sent_form(workspace, cli, tmp_path)
    _imports_as_one_response(cli, _resave_with_calc(form, tmp_path))


def test_form_resaved_the_libreoffice_way_imports(workspace, cli, customers_csv, tmp_path):
    cli("customer", "import", customers_csv)
    form = filled_sent_form(workspace, cli, tmp_path)
    _imports_as_one_response(cli, resave_like_libreoffice(form, tmp_path / "resaved.xlsx"))
