"""`csat import` run as a program starts its reader from the raw arguments, before Typer loads (early_start.py)."""

import os
import subprocess
import sys
from pathlib import Path

from import_fixtures import count_rows, write_sheet_xlsx

from csat.cli import app
from csat.importer import early_start


def test_plain_import_command_lines_are_recognised():
    files = early_start.import_files
    assert files(["import", "a.xlsx", "b.xlsx", "--half", "2024H1"]) == [Path("a.xlsx"), Path("b.xlsx")]
    assert files(["--home", "ws", "import", "--dry-run", "-f", "json", "a.xlsx"]) == [Path("a.xlsx")]
    assert files(["--home=ws", "import", "a.xlsx", "--half=2024H1", "--replace", "--reason", "typo", "-v"]) == [
        Path("a.xlsx")]
    # Anything else is left to the command itself: other commands, help, unknown options, exports, no files.
    assert files(["report", "a.xlsx"]) is None
    assert files(["import", "a.xlsx", "--help"]) is None
    assert files(["import", "a.xlsx", "--what"]) is None
    assert files(["import", "--", "a.xlsx"]) is None
    assert files(["import", "export.json"]) is None
    assert files(["import"]) is None
    assert files(["--version"]) is None


def test_every_option_of_the_import_command_is_known():
    """An option added to `csat import` must be added to early_start too, or a value could pass for a file."""
    import typer.main

    command = typer.main.get_command(app)
    known = early_start.VALUE_OPTIONS | early_start.FLAG_OPTIONS
    for parameter in command.commands["import"].params:
        for option in [*parameter.opts, *parameter.secondary_opts]:
            if option.startswith("-") and option not in ("--help", "-h"):
                assert option in known, option
                assert (option in early_start.VALUE_OPTIONS) == (not parameter.is_flag), option
    for parameter in command.params:     # the root's: only --home comes before `import`
        assert "--home" in parameter.opts or parameter.is_flag


def test_a_reader_is_taken_only_for_the_same_files(tmp_path):
    sheet = write_sheet_xlsx(tmp_path / "a.xlsx", ["customer", "quality"], [["C-001", 90]])
    early_start.start(["import", str(sheet)])
    assert early_start.take([tmp_path / "other.xlsx"]) is None      # another file list: stopped, not used
    assert early_start.take([sheet]) is None
    early_start.start(["import", str(sheet)])
    reading = early_start.take([sheet])
    try:
        assert [sheet.name for sheet in reading.result(sheet)] == ["Responses"]
    finally:
        reading.close()
    early_start.start(["import", str(sheet)])
    early_start.stop()
    assert early_start.take([sheet]) is None


def _csat(home: Path, *arguments: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "CSAT_HOME": str(home)}
    return subprocess.run([sys.executable, "-m", "csat", *arguments], capture_output=True, text=True, env=env,
                          cwd=home)


def test_import_as_a_program_stores_what_the_early_reader_read(workspace, store, cli, customers_csv, tmp_path):
    """What a person sees after `python -m csat import`: the summary, and the responses in the store."""
    assert cli("customer", "import", customers_csv).exit_code == 0
    sheet = write_sheet_xlsx(tmp_path / "answers.xlsx", ["customer", "quality"], [["C-001", 90], ["C-002", 70]])
    result = _csat(workspace.root, "import", str(sheet), "--half", "2024H1", "--format", "json")
    assert result.returncode == 0, result.stderr
    assert '"responses_new": 2' in result.stdout
    assert count_rows(store, "response") == 2
    # A usage mistake after the reader started: exit 2 with the usual line, the reader stopped, nothing stored.
    again = _csat(workspace.root, "import", str(sheet), "--half", "2024X9")
    assert again.returncode == 2
    assert "--half" in again.stderr
    assert count_rows(store, "response") == 2


# Runs the installed `csat` script's entry point as pip's wrapper does, noting whether Typer had loaded
# by the time the reader was started.
_ENTRY_POINT = """
import sys
from importlib.metadata import entry_points

from csat.importer import early_start

plain_start = early_start.start


def start(args):
    plain_start(args)
    print("typer loaded before the reader:", "typer" in sys.modules, file=sys.stderr)


early_start.start = start
[script] = entry_points(group="console_scripts", name="csat")
sys.argv = ["csat", *sys.argv[1:]]
sys.exit(script.load()())
"""


def test_the_installed_csat_command_starts_the_reader_before_typer_loads(workspace, store, cli, customers_csv,
                                                                         tmp_path):
    """The head start is for the command people type, not only for `python -m csat`."""
    assert cli("customer", "import", customers_csv).exit_code == 0
    sheet = write_sheet_xlsx(tmp_path / "answers.xlsx", ["customer", "quality"], [["C-001", 90]])
    result = subprocess.run([sys.executable, "-c", _ENTRY_POINT, "import", str(sheet), "--half", "2024H1",
                             "--format", "json"],
                            check=False, capture_output=True, text=True,
                            env={**os.environ, "CSAT_HOME": str(workspace.root)}, cwd=workspace.root)
    assert result.returncode == 0, result.stderr
    assert "typer loaded before the reader: False" in result.stderr
    assert '"responses_new": 1' in result.stdout
    assert count_rows(store, "response") == 1
