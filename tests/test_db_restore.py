"""`csat db restore` and backups taken while others write: a store comes back whole or not at all."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
import time
from datetime import date
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import text

from csat.periods import Half
from csat.store.engine import dispose_engines, engine_for
from csat.store.migrations import HEAD, alembic_config

SQLITE = pytest.mark.sqlite_only("`csat db backup` and `csat db restore` copy SQLite files")


def _codes(cli) -> list[str]:
    result = cli("customer", "list", "--format", "csv")
    assert result.exit_code == 0, result
    return [line.split(",")[0].lstrip("\ufeff") for line in result.stdout.splitlines()[1:]]


def _store_path(workspace) -> Path:
    return Path(workspace.database_url[len("sqlite:///"):])


@SQLITE
def test_restore_refuses_to_clobber_then_restores_with_force(workspace, cli, tmp_path):
    assert cli("customer", "add", "C-OLD", "--name", "Before Ltd").exit_code == 0
    backup = tmp_path / "backups" / "b.db"
    assert cli("db", "backup", backup).exit_code == 0
    assert cli("customer", "add", "C-NEW", "--name", "After Ltd").exit_code == 0

    refused = cli("db", "restore", backup)
    assert refused.exit_code == 1 and "--force" in refused.stderr, refused
    assert len(refused.stderr.strip().splitlines()) == 1
    assert _codes(cli) == ["C-NEW", "C-OLD"]

    restored = cli("db", "restore", backup, "--force")
    assert restored.exit_code == 0, restored
    assert _codes(cli) == ["C-OLD"]
    kept = list(_store_path(workspace).parent.glob("csat.db.before-restore-*"))
    assert len(kept) == 1 and str(kept[0]) in restored.stderr.replace("\n", "")
    with sqlite3.connect(kept[0]) as copy:
        assert sorted(code for (code,) in copy.execute("SELECT code FROM customer")) == ["C-NEW", "C-OLD"]
    copy.close()
    assert "(current)" in cli("db", "status").stderr
    # the restored store takes new records as any other
    assert cli("customer", "add", "C-3", "--name", "Third").exit_code == 0
    assert _codes(cli) == ["C-3", "C-OLD"]


def _foreign_files(folder: Path, backup: Path) -> dict[str, Path]:
    noise = folder / "noise.db"
    noise.write_bytes(os.urandom(8192))
    cut = folder / "cut.db"
    whole = backup.read_bytes()
    cut.write_bytes(whole[: len(whole) // 2])
    foreign = folder / "foreign.db"
    with sqlite3.connect(foreign) as connection:
        connection.execute("CREATE TABLE things (id INTEGER PRIMARY KEY, name TEXT)")
    connection.close()
    newer = folder / "newer.db"
    newer.write_bytes(whole)
    with sqlite3.connect(newer) as connection:
        connection.execute("UPDATE alembic_version SET version_num = '0999'")
    connection.close()
    damaged = folder / "damaged.db"
    with sqlite3.connect(damaged) as connection:
        connection.execute("PRAGMA page_size = 1024")
        connection.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)")
        connection.execute(f"INSERT INTO alembic_version VALUES ('{HEAD}')")
        connection.execute("CREATE TABLE filler (id INTEGER PRIMARY KEY, body TEXT)")
        connection.executemany("INSERT INTO filler (body) VALUES (?)", [("x" * 500,) for _ in range(200)])
        connection.execute("CREATE INDEX filler_body ON filler (body)")
    connection.close()
    data = bytearray(damaged.read_bytes())
    data[-3000:-2000] = os.urandom(1000)     # a page of the index, overwritten
    damaged.write_bytes(bytes(data))
    return {"noise": noise, "cut": cut, "foreign": foreign, "newer": newer, "damaged": damaged}


@SQLITE
def test_corrupt_or_foreign_files_are_refused_and_the_store_is_unchanged(workspace, cli, tmp_path):
    assert cli("customer", "add", "C-1", "--name", "One").exit_code == 0
    backup = tmp_path / "b.db"
    assert cli("db", "backup", backup).exit_code == 0
    assert cli("customer", "add", "C-2", "--name", "Two").exit_code == 0
    for kind, path in _foreign_files(tmp_path, backup).items():
        refused = cli("db", "restore", path, "--force")
        assert refused.exit_code == 1, (kind, refused)
        assert len(refused.stderr.strip().splitlines()) == 1, (kind, refused.stderr)
        assert str(path) in refused.stderr.replace("\n", ""), (kind, refused.stderr)
        assert _codes(cli) == ["C-1", "C-2"], kind
        assert not list(_store_path(workspace).parent.glob("csat.db.before-restore-*")), kind
    assert "a newer csat" in cli("db", "restore", tmp_path / "newer.db", "--force").stderr
    assert "damaged" in cli("db", "restore", tmp_path / "damaged.db", "--force").stderr


@SQLITE
def test_an_older_backup_is_upgraded_after_restoring(workspace, cli, tmp_path):
    old = tmp_path / "old.db"
    with engine_for(f"sqlite:///{old}").begin() as connection:
        command.upgrade(alembic_config(connection), "0004")
        connection.execute(text("INSERT INTO customer (code, name, contact, email, phone, segment, language, active, "
                                "created_at, updated_at) VALUES ('C-1', 'One', '', 'one@example.com', '', '', 'en', "
                                "1, '2024-01-01', '2024-01-01')"))
    dispose_engines()
    restored = cli("db", "restore", old, "--force")
    assert restored.exit_code == 0, restored
    assert f"Upgraded the restored store from schema 0004 to schema {HEAD}" in restored.stderr
    assert _codes(cli) == ["C-1"]
    with sqlite3.connect(old) as connection:   # the backup itself is left as it was
        assert connection.execute("SELECT version_num FROM alembic_version").fetchone() == ("0004",)
    connection.close()


@SQLITE
def test_restore_messages_are_chinese_in_a_chinese_workspace(workspace, cli, tmp_path):
    assert cli("config", "set", "company.lang", "zh").exit_code == 0
    backup = tmp_path / "b.db"
    assert cli("db", "backup", backup).exit_code == 0
    refused = cli("db", "restore", backup)
    assert refused.exit_code == 1 and "--force" in refused.stderr and "已" in refused.stderr, refused.stderr
    noise = tmp_path / "noise.db"
    noise.write_bytes(b"not a database at all" * 100)
    refused = cli("db", "restore", noise, "--force")
    assert refused.exit_code == 1 and "不是" in refused.stderr, refused.stderr


def test_on_postgresql_backup_and_restore_name_the_server_tools(workspace, cli, monkeypatch, tmp_path):
    monkeypatch.setenv("CSAT_DATABASE_URL", "postgresql+psycopg://quality:s3cr%40t@db.example:5433/csat_plant")
    backup = cli("db", "backup", tmp_path / "b.db")
    assert backup.exit_code == 1
    assert "pg_dump --format=custom --host=db.example --port=5433 --username=quality" in backup.stderr
    restore = cli("db", "restore", tmp_path / "b.db")
    assert restore.exit_code == 1
    assert "pg_restore" in restore.stderr and "--dbname=csat_plant" in restore.stderr
    for result in (backup, restore):
        assert "s3cr" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "b.db").exists()


WRITER = textwrap.dedent('''
    import sys
    from pathlib import Path

    from csat.config import Workspace
    from csat.importer.run import run_import

    root, folder, stop = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    half, day = sys.argv[4], sys.argv[5]
    workspace = Workspace.open(root)
    codes = [f"C-{number:03d}" for number in range(1, 11)]
    header = "customer,respondent,date,quality,delivery,price,responsiveness,tech_support,after_sales,communication,complaint_handling,comment"
    batch = 0
    while not stop.exists() and batch < 400:
        batch += 1
        path = folder / f"batch-{batch}.csv"
        lines = [header] + [f"{code},Person {batch},{day},{80 + batch % 20},78,85,88,90,N/A,91,87,batch {batch}"
                            for code in codes]
        path.write_text("\\n".join(lines) + "\\n", encoding="utf-8")
        report = run_import(workspace, [path], half=half)
        assert not report.problems, report.problems
        print(batch, flush=True)
''')


@SQLITE
def test_a_backup_taken_while_another_process_writes_is_consistent(workspace, cli, tmp_path, customers_csv):
    assert cli("customer", "import", customers_csv).exit_code == 0
    script, stop, folder = tmp_path / "writer.py", tmp_path / "stop", tmp_path / "batches"
    script.write_text(WRITER, encoding="utf-8")
    folder.mkdir()
    today = date.today()     # the current half's round stays open while answers come in
    writer = subprocess.Popen([sys.executable, str(script), str(workspace.root), str(folder), str(stop),
                               str(Half.containing(today)), today.isoformat()],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert writer.stdout.readline().strip() == "1", writer.stderr.read() if writer.poll() is not None else ""
        backups = []
        for number in range(4):
            target = tmp_path / f"during-{number}.db"
            result = cli("db", "backup", target)
            assert result.exit_code == 0, result
            backups.append(target)
            time.sleep(0.2)
    finally:
        stop.touch()
        out, err = writer.communicate(timeout=120)
    assert writer.returncode == 0, err
    counts = []
    for backup in backups:
        with sqlite3.connect(backup) as copy:
            assert copy.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            items = copy.execute("SELECT COUNT(*) FROM round_item").fetchone()[0]
            answers_per_response = copy.execute(
                "SELECT response.id, COUNT(answer.response_id) FROM response LEFT JOIN answer"
                " ON answer.response_id = response.id GROUP BY response.id").fetchall()
            responses = len(answers_per_response)
            # a consistent prefix: whole imports only, each response with every answer, each with its file archived
            assert responses % 10 == 0
            assert all(count == items for _id, count in answers_per_response), answers_per_response
            files = copy.execute("SELECT COUNT(*) FROM source_file WHERE kind = 'responses'").fetchone()[0]
            assert files == responses // 10
        copy.close()
        counts.append(responses)
    assert counts == sorted(counts) and counts[0] >= 10
    print("responses in the backups:", counts, "batches written:", len(out.split()) + 1)
    final = cli("survey", "status", "--half", str(Half.containing(today)), "--format", "json")
    assert final.exit_code == 0
