"""`csat export` and `csat import FILE.json`: every record out and back, checked by what people read.

The source is the demo workspace (a round with answers from files, feedback, CAPAs) on SQLite, with
a CAPA verified, every quarter of 2024 summarised and a time with microseconds; the target is the
test's own workspace, which is PostgreSQL under --backend postgresql (SQLite -> PostgreSQL).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from sqlalchemy import MetaData, select, text
from typer.testing import CliRunner

from csat.cli import app
from csat.store.engine import dispose_engines, engine_for

QUARTERS = ("2024Q1", "2024Q2", "2024Q3", "2024Q4")
SCHEMA = Path(__file__).parent.parent / "csat" / "data" / "export.schema.json"


def _run(*args) -> object:
    result = CliRunner().invoke(app, [str(arg) for arg in args], catch_exceptions=False)
    assert result.exit_code == 0, (args, result.stdout, result.stderr)
    return result


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    """A demo workspace on SQLite, made once for the module (tests copy it before changing it)."""
    from csat.demo import run_demo

    kept = {name: os.environ.pop(name) for name in ("CSAT_DATABASE_URL", "CSAT_HOME", "CSAT_LANG") if name in os.environ}
    folder = tmp_path_factory.mktemp("exchange") / "source"
    try:
        run_demo(folder)
        _run("capa", "update", "CAPA-2026-001", "--cause", "Late supplier", "--action", "Second supplier",
             "--home", folder)
        _run("capa", "verify", "CAPA-2026-001", "--by", "Zhou Li", "--result", "effective", "--note", "=SUM(A1)",
             "--home", folder)
        for quarter in QUARTERS:   # the first print records the summary; later prints show that record
            _run("feedback", "summary", "--quarter", quarter, "--home", folder)
        with engine_for(f"sqlite:///{folder / 'csat.db'}").begin() as connection:
            connection.execute(text("UPDATE feedback SET received_at = '2024-05-06 07:08:09.123456' WHERE id = 1"))
            connection.execute(text("UPDATE customer SET name = '=HYPERLINK(\"http://x\")' WHERE id = 2"))
            connection.execute(text("UPDATE customer SET contact = 'Li' || char(1) || 'Wei' WHERE id = 3"))
    finally:
        dispose_engines()
        os.environ.update(kept)
    return folder


def _copy(source: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "source"
    shutil.copytree(source, folder)
    return folder


def _export(cli, folder: Path, target: Path, *more) -> Path:
    result = cli("export", "-o", target, *more, "--home", folder)
    assert result.exit_code == 0, result
    assert target.exists()
    return target


def _without_sqlite_env(monkeypatch):
    """Commands on the SQLite source must not follow CSAT_DATABASE_URL to the test's PostgreSQL database."""
    url = os.environ.get("CSAT_DATABASE_URL")
    monkeypatch.delenv("CSAT_DATABASE_URL", raising=False)
    return url


def _with_env(monkeypatch, url):
    if url:
        monkeypatch.setenv("CSAT_DATABASE_URL", url)


def _seen(cli, folder: Path | None, *args) -> dict:
    """What a person reads, minus the moment it was printed."""
    where = ("--home", folder) if folder else ()
    result = cli(*args, "--format", "json", *where)
    assert result.exit_code == 0, result
    data = json.loads(result.stdout)
    data.pop("generated_at", None)
    return data


def _rows(url: str) -> dict[str, list[dict]]:
    """Every row of every table but the store's own state, as the store holds them."""
    engine = engine_for(url)
    metadata = MetaData()
    with engine.connect() as connection:
        metadata.reflect(connection)
        found = {}
        for table in metadata.sorted_tables:
            if table.name in ("alembic_version", "store_state"):
                continue
            rows = connection.execute(select(table).order_by(*table.primary_key.columns)).mappings().all()
            found[table.name] = [{key: value for key, value in row.items() if key != "token"} for row in rows]
    return found


def test_an_export_imported_into_a_new_workspace_reads_the_same(source, tmp_path, workspace, cli, monkeypatch):
    target_url = _without_sqlite_env(monkeypatch)
    exported = _export(cli, source, tmp_path / "all.json")
    reports = {period: _seen(cli, source, "report", "--half", period) for period in ("2024H1",)}
    summaries = {quarter: _seen(cli, source, "feedback", "summary", "--quarter", quarter) for quarter in QUARTERS}
    before = _rows(f"sqlite:///{source / 'csat.db'}")
    _with_env(monkeypatch, target_url)

    done = cli("import", exported)
    assert done.exit_code == 0, done
    assert "Imported" in done.stderr and "export format 1" in done.stderr
    for period, report in reports.items():
        assert _seen(cli, None, "report", "--half", period) == report
    for quarter, summary in summaries.items():
        assert _seen(cli, None, "feedback", "summary", "--quarter", quarter) == summary
    shown = cli("capa", "show", "CAPA-2026-001", "--format", "json")
    assert json.loads(shown.stdout)["verifications"][0]["note"] == "=SUM(A1)"

    after = _rows(workspace.database_url)
    for name, rows in before.items():
        got = after[name] if name != "audit_log" else after[name][:-1]
        assert got == rows, name     # ids, times to the microsecond, every column
    assert after["feedback"][0]["received_at"].microsecond == 123456
    last = after["audit_log"][-1]
    assert (last["table_name"], last["action"], last["record_key"]) == ("export", "import", "all.json")
    changes = json.loads(last["changes"])
    assert changes["format_version"] == 1 and changes["counts"]["answer"] == len(before["answer"])
    # the trail came over whole: its hash chain verifies in the new store, the import's entry chained on
    verified = cli("audit", "verify", "--format", "json")
    assert verified.exit_code == 0, verified
    assert json.loads(verified.stdout)["checked"] == len(after["audit_log"])
    # exported again (from PostgreSQL under --backend postgresql), the records are the same, plus the import's entry
    again = json.loads(_export(cli, workspace.root, tmp_path / "again.json").read_text(encoding="utf-8"))
    first = json.loads(exported.read_text(encoding="utf-8"))
    assert [table["name"] for table in again["tables"]] == [table["name"] for table in first["tables"]]
    for table, earlier in zip(again["tables"], first["tables"]):
        rows = table["rows"][:-1] if table["name"] == "audit_log" else table["rows"]
        assert (table["columns"], rows) == (earlier["columns"], earlier["rows"]), table["name"]
    # the imported store takes new records after the imported ids (PostgreSQL sequences reset)
    added = cli("feedback", "add", "C-001", "--kind", "service", "--channel", "phone", "--text", "Thanks")
    assert added.exit_code == 0, added
    assert max(row["id"] for row in _rows(workspace.database_url)["feedback"]) == len(before["feedback"]) + 1


def test_the_export_follows_its_schema_and_keeps_secrets_out(source, tmp_path, cli, monkeypatch):
    jsonschema = pytest.importorskip("jsonschema")
    _without_sqlite_env(monkeypatch)
    document = json.loads(_export(cli, source, tmp_path / "all.json").read_text(encoding="utf-8"))
    jsonschema.validate(document, json.loads(SCHEMA.read_text(encoding="utf-8")))
    names = [table["name"] for table in document["tables"]]
    assert names[0] == "customer" and names[-1] == "audit_log" and "store_state" not in names
    with engine_for(f"sqlite:///{source / 'csat.db'}").connect() as connection:
        secret = connection.execute(text("SELECT secret FROM store_state")).scalar()
        tokens = [token for (token,) in connection.execute(text("SELECT token FROM invitation"))]
    whole = json.dumps(document)
    assert secret not in whole and tokens and not any(token in whole for token in tokens)
    sources = next(table for table in document["tables"] if table["name"] == "source_file")
    assert sources["count"] >= 1 and "content" in sources["columns"]


def test_a_half_export_holds_that_half(source, tmp_path, workspace, cli, monkeypatch):
    target_url = _without_sqlite_env(monkeypatch)
    document_path = _export(cli, source, tmp_path / "h1.json", "--half", "2024H1")
    report = _seen(cli, source, "report", "--half", "2024H1")
    document = json.loads(document_path.read_text(encoding="utf-8"))
    tables = {table["name"]: table for table in document["tables"]}
    assert document["half"] == "2024H1" and tables["survey_round"]["count"] == 1
    received = tables["feedback"]["columns"].index("received_at")
    assert all("2024-01-01" <= row[received] < "2024-07-01" for row in tables["feedback"]["rows"])
    assert {row[1] for row in tables["quarter_summary"]["rows"]} == {"2024Q1", "2024Q2"}
    empty = cli("export", "-o", tmp_path / "none.json", "--half", "2019H1", "--home", source)
    assert empty.exit_code == 1 and "2019H1" in empty.stderr and not (tmp_path / "none.json").exists()
    _with_env(monkeypatch, target_url)
    assert cli("import", document_path).exit_code == 0
    assert _seen(cli, None, "report", "--half", "2024H1") == report


def test_xlsx_export_is_one_sheet_per_table_with_text_as_text(source, tmp_path, cli, monkeypatch):
    from openpyxl import load_workbook

    _without_sqlite_env(monkeypatch)
    path = _export(cli, source, tmp_path / "all.xlsx")
    book = load_workbook(path, read_only=False)
    assert {"export", "customer", "response", "answer", "feedback", "capa", "audit_log"} <= set(book.sheetnames)
    customers = book["customer"]
    header = [cell.value for cell in customers[1]]
    name = header.index("name")
    cell = customers.cell(row=3, column=name + 1)
    assert cell.value == '=HYPERLINK("http://x")' and cell.data_type == "s"
    contact = header.index("contact")
    assert customers.cell(row=4, column=contact + 1).value == "Li\\x01Wei"   # no xlsx holds \x01; the JSON does
    assert "content" not in [cell.value for cell in book["source_file"][1]]
    with engine_for(f"sqlite:///{source / 'csat.db'}").connect() as connection:
        answers = connection.execute(text("SELECT COUNT(*) FROM answer")).scalar()
    assert book["answer"].max_row == answers + 1


def test_import_into_a_store_with_records_is_refused_and_changes_nothing(source, tmp_path, workspace, cli, monkeypatch):
    target_url = _without_sqlite_env(monkeypatch)
    exported = _export(cli, source, tmp_path / "all.json")
    _with_env(monkeypatch, target_url)
    assert cli("customer", "add", "K-1", "--name", "Kept Ltd").exit_code == 0
    before = _rows(workspace.database_url)
    refused = cli("import", exported)
    assert refused.exit_code == 1
    assert "already holds records (customer 1)" in refused.stderr and len(refused.stderr.strip().splitlines()) == 1
    assert _rows(workspace.database_url) == before
    assert "K-1" in cli("customer", "list").stdout


def _broken_files(folder: Path, exported: Path) -> dict[str, Path]:
    whole = exported.read_bytes()
    cut = folder / "cut.json"
    cut.write_bytes(whole[: len(whole) * 2 // 3])
    foreign = folder / "foreign.json"
    foreign.write_text('{"customers": [{"code": "C-1"}]}', encoding="utf-8")
    newer = folder / "newer.json"
    newer.write_bytes(whole.replace(b'"format_version": 1', b'"format_version": 99', 1))
    miscounted = folder / "miscounted.json"
    miscounted.write_bytes(whole.replace(b'], "count": ', b'], "count": 1', 1))
    wrong_type = folder / "wrong.json"
    document = json.loads(whole)
    document["tables"][0]["rows"][0][document["tables"][0]["columns"].index("created_at")] = "yesterday"
    wrong_type.write_text(json.dumps(document), encoding="utf-8")
    return {"cut": cut, "foreign": foreign, "newer": newer, "miscounted": miscounted, "wrong": wrong_type}


def test_corrupt_foreign_and_newer_files_are_refused_in_one_line(source, tmp_path, workspace, cli, monkeypatch):
    target_url = _without_sqlite_env(monkeypatch)
    exported = _export(cli, source, tmp_path / "all.json")
    _with_env(monkeypatch, target_url)
    before = _rows(workspace.database_url)
    expected = {"cut": "not a csat export", "foreign": "not a csat export", "newer": "export format 99",
                "miscounted": "rows but holds", "wrong": "not a csat export"}
    for kind, path in _broken_files(tmp_path, exported).items():
        refused = cli("import", path)
        assert refused.exit_code == 1, (kind, refused)
        assert expected[kind] in refused.stderr, (kind, refused.stderr)
        assert len(refused.stderr.strip().splitlines()) == 1, (kind, refused.stderr)
        assert "nothing was written" in refused.stderr
        assert _rows(workspace.database_url) == before, kind


def test_an_export_is_imported_on_its_own(source, tmp_path, workspace, cli, monkeypatch):
    usage = cli("import", tmp_path / "a.json", "--half", "2024H1")
    assert usage.exit_code == 2


def test_import_refusals_are_in_chinese_in_a_chinese_workspace(source, tmp_path, workspace, cli, monkeypatch):
    target_url = _without_sqlite_env(monkeypatch)
    exported = _export(cli, source, tmp_path / "all.json")
    _with_env(monkeypatch, target_url)
    assert cli("config", "set", "company.lang", "zh").exit_code == 0
    assert cli("customer", "add", "K-1", "--name", "Kept Ltd").exit_code == 0
    refused = cli("import", exported)
    assert refused.exit_code == 1 and "已" in refused.stderr, refused.stderr
    foreign = tmp_path / "foreign.json"
    foreign.write_text('{"format_version": "x", "tables": []}', encoding="utf-8")
    refused = cli("import", foreign)
    assert refused.exit_code == 1 and "不是" in refused.stderr, refused.stderr


@pytest.mark.sqlite_only("the README section restores a `csat db backup` file, which is SQLite's")
def test_the_readme_section_runs_as_written_and_speaks_chinese(tmp_path, monkeypatch, cli):
    import re
    import shlex

    from prose import english_lines

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    start = readme.index("### Export, import and restore")
    section = readme[start:readme.index("\n### ", start + 10)]
    commands = [shlex.split(line, comments=True)[1:] for block in re.findall(r"```sh\n(.*?)```", section, re.DOTALL)
                for line in block.splitlines() if line.startswith("csat ")]
    assert [words[0] for words in commands] == ["export", "export", "init", "import", "db"]
    monkeypatch.setenv("HOME", str(tmp_path))
    home = tmp_path / "quality" / "csat"
    examples = Path(__file__).resolve().parent.parent / "examples"
    assert cli("init", home, "--lang", "zh").exit_code == 0
    monkeypatch.setenv("CSAT_HOME", str(home))
    assert cli("customer", "import", examples / "customers.csv").exit_code == 0
    added = cli("response", "add", "C-001", "--half", "2024H1", "--score", "quality=90", "--score", "delivery=80")
    assert added.exit_code == 0, added
    assert cli("db", "backup", "backups/csat-2024-07-01.db").exit_code == 0
    report = _seen(cli, None, "report", "--half", "2024H1")
    data = [" ".join(words) for words in commands] + [(examples / "customers.csv").read_text(encoding="utf-8-sig"),
                                                       str(tmp_path)]
    wrong = []
    for words in commands:
        result = cli(*[word.replace("~/", f"{tmp_path}/") for word in words])
        assert result.exit_code == 0, (words, result)
        wrong += [f"csat {shlex.join(words)}: {line}" for line in english_lines(result.stderr, data)]
    assert wrong == [], "\n".join(wrong)
    assert _seen(cli, tmp_path / "quality" / "csat-copy", "report", "--half", "2024H1") == report
    assert _seen(cli, None, "report", "--half", "2024H1") == report
