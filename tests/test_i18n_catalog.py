"""One message catalog per language, complete and compiled; the language csat speaks is the one asked for.

The completeness check extracts every message from the source as scripts/catalogs.py
does (`_()`, `ngettext()`, `N_()`, `in_language()`, and the --help texts of commands),
so a message added anywhere without its Chinese fails here.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _catalogs_tool():
    spec = importlib.util.spec_from_file_location("catalogs", ROOT / "scripts" / "catalogs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_message_is_translated_in_both_catalogs_and_compiled():
    problems = _catalogs_tool().problems()
    assert problems == [], "run python scripts/catalogs.py, translate, run it again:\n" + "\n".join(problems)


def test_the_check_finds_a_new_untranslated_message(tmp_path):
    tool = _catalogs_tool()
    template = tool.extract_messages()
    template.add("A message nobody translated yet: {customer}", locations=[("csat/new.py", 1)])
    assert [line for line in tool.problems(template) if "nobody translated" in line] == [
        "zh: not in the catalog (csat/new.py): 'A message nobody translated yet: {customer}'",
        "en: not in the catalog (csat/new.py): 'A message nobody translated yet: {customer}'",
    ]


def test_command_help_texts_are_extracted():
    ids = {message.id for message in _catalogs_tool().extract_messages() if message.id}
    assert "Add, import, list and edit customers." in ids   # add_typer(help=...)
    assert any(str(text).startswith("Create a workspace, or join a store") for text in ids)   # a command's docstring


def test_placeholders_are_named_and_reorderable():
    from csat.i18n import in_language

    text = in_language("zh", "Added customer {code} ({name})", code="C-011", name="Acme")
    assert "C-011" in text and "Acme" in text and "{" not in text


@pytest.mark.parametrize("setting, env, expected", [
    ("zh", None, "zh"), ("en", None, "en"), ("en", "zh", "zh"), ("zh", "en", "en"), ("zh", "fr", "zh"),
])
def test_staff_language_is_the_workspace_unless_csat_lang(setting, env, expected, monkeypatch):
    from csat.i18n import staff_language

    if env is None:
        monkeypatch.delenv("CSAT_LANG", raising=False)
    else:
        monkeypatch.setenv("CSAT_LANG", env)
    assert staff_language(setting) == expected


def _init(cli, folder, lang):
    result = cli("init", str(folder), "--lang", lang, "--company", "华南精密制造有限公司")
    assert result.exit_code == 0, result
    return result


def test_init_speaks_the_language_of_the_new_workspace(tmp_path, cli, monkeypatch):
    monkeypatch.delenv("CSAT_LANG", raising=False)
    monkeypatch.delenv("CSAT_DATABASE_URL", raising=False)   # two new stores, one per folder
    said = _init(cli, tmp_path / "zh", "zh").stderr
    assert "已在" in said and "Created" not in said
    assert "Created csat workspace in" in _init(cli, tmp_path / "en", "en").stderr


def test_help_follows_the_workspace_and_csat_lang(tmp_path, cli, monkeypatch):
    monkeypatch.delenv("CSAT_LANG", raising=False)
    _init(cli, tmp_path, "zh")
    monkeypatch.setenv("CSAT_HOME", str(tmp_path))
    chinese = cli("customer", "--help")
    assert chinese.exit_code == 0 and "添加" in chinese.stdout and "Add, import, list and edit customers." not in chinese.stdout
    option = cli("customer", "add", "--help").stdout
    assert "--name" in option and "客户" in option
    monkeypatch.setenv("CSAT_LANG", "en")
    assert "Add, import, list and edit customers." in cli("customer", "--help").stdout


def test_errors_follow_the_workspace_language(tmp_path, cli, monkeypatch):
    monkeypatch.delenv("CSAT_LANG", raising=False)
    _init(cli, tmp_path, "zh")
    monkeypatch.setenv("CSAT_HOME", str(tmp_path))
    missing = cli("customer", "show", "C-404")
    assert missing.exit_code == 1 and "C-404" in missing.stderr and "错误" in missing.stderr
    monkeypatch.setenv("CSAT_LANG", "en")
    assert "Error" in cli("customer", "show", "C-404").stderr


def test_file_refusals_follow_the_workspace_language(tmp_path, cli, monkeypatch):
    monkeypatch.delenv("CSAT_LANG", raising=False)
    _init(cli, tmp_path / "ws", "zh")
    monkeypatch.setenv("CSAT_HOME", str(tmp_path / "ws"))
    fake = tmp_path / "customers.xls"
    fake.write_text("code,name\nC-1,Acme\n", encoding="utf-8")
    refused = cli("customer", "import", str(fake))
    assert refused.exit_code == 1 and "不是 Excel 97-2003 工作簿" in refused.stderr and "另存为 .xlsx" in refused.stderr
    monkeypatch.setenv("CSAT_LANG", "en")
    assert "not an Excel 97-2003 workbook" in cli("customer", "import", str(fake)).stderr


def test_every_lock_waiting_text_is_marked_and_translated():
    """The "waiting for ..." line names what another csat does: the callers' texts must reach the catalog."""
    import ast

    from csat.i18n import catalog

    package = Path(__file__).resolve().parent.parent / "csat"
    found = []
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) \
                    in ("hold_for_transaction", "wait_for_server_lock") and len(node.args) >= 3:
                text = node.args[2]
                where = f"{path.relative_to(package)}:{node.lineno}"
                if isinstance(text, ast.Name):   # a parameter passed on (locking.py itself)
                    continue
                assert isinstance(text, ast.Call) and getattr(text.func, "id", None) == "N_", where
                message = ast.literal_eval(text.args[0])
                assert catalog("zh").gettext(message) != message, (where, message)
                found.append(message)
    assert "another CAPA being opened on this store" in found and len(found) >= 5
