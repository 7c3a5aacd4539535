"""The audit trail's hash chain (issue #14): every writer chains, `csat audit verify` finds an edited,
deleted or moved entry, the 0010 upgrade chains what was there, the same rows verify on SQLite and on
PostgreSQL, and writers racing on PostgreSQL never fork the chain."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command

from csat.store.chain import GENESIS, canonical, entry_hash
from csat.store.engine import engine_for, upgrade
from csat.store.migrations import alembic_config
from tests.conftest import EXAMPLES


def verify(cli, *options):
    return cli("audit", "verify", *options)


def verified(cli) -> dict:
    result = verify(cli, "--format", "json")
    assert result.exit_code == 0, result
    return json.loads(result.stdout)


def broken(cli) -> dict:
    result = verify(cli, "--format", "json")
    assert result.exit_code == 1, result
    found = json.loads(result.stdout)
    assert found["ok"] is False
    assert f"audit entry #{found['entry']}" in result.stderr
    return found


def _entries(store) -> int:
    with store.engine.connect() as connection:
        return connection.execute(sa.text("SELECT count(*) FROM audit_log")).scalar()


def _busy_workspace(cli, tmp_path) -> None:
    """Entries from every kind of writer: the ORM hook, record(), the bulk import, the send's outcome log."""
    from import_fixtures import write_sheet_csv

    assert cli("customer", "import", EXAMPLES / "customers.csv").exit_code == 0
    assert cli("customer", "edit", "C-004", "--contact", "Anna Becker").exit_code == 0
    assert cli("feedback", "add", "C-003", "--kind", "quality", "--channel", "phone", "--text", "Cracked housing",
               "--received", "2024-07-01 08:00").exit_code == 0
    opened = cli("capa", "open", "--from-feedback", "1", "--due", "2999-12-31")
    assert opened.exit_code == 0, opened
    sheet = write_sheet_csv(tmp_path / "answers.csv", ["customer", "respondent", "quality", "delivery"],
                            [[f"C-00{number}", f"Buyer {number}", 80 + number, 90] for number in range(1, 6)])
    imported = cli("import", sheet, "--half", "2024H1")
    assert imported.exit_code == 0, imported


def test_every_writer_chains_and_verify_counts_the_entries(workspace, store, cli, tmp_path):
    fresh = verified(cli)     # the workspace's shared settings, stored by init
    assert fresh["ok"] is True and fresh["checked"] == _entries(store) and "entry" not in fresh
    assert fresh["message"] == (f"{fresh['checked']} audit entries checked: none was changed, deleted or moved"
                                " since it was written")
    _busy_workspace(cli, tmp_path)
    assert cli("survey", "open", "--half", "2025H1").exit_code == 0
    sent = cli("survey", "send", "--half", "2025H1", "--outbox")
    total = _entries(store)
    result = verified(cli)
    assert result["ok"] and result["checked"] == total > 10
    with store.engine.connect() as connection:
        head = connection.execute(sa.text("SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1")).one()
        tables = {row[0] for row in connection.execute(sa.text("SELECT DISTINCT table_name FROM audit_log"))}
    assert (result["head_id"], result["head_hash"]) == tuple(head)
    assert {"customer", "feedback", "capa", "response"} <= tables
    if sent.exit_code == 0:
        assert "invitation" in tables
    table = verify(cli)
    assert table.exit_code == 0 and table.stdout.startswith(f"{total} audit entries checked")
    # What a person sees of the trail is unchanged by the chain.
    listed = json.loads(cli("audit", "list", "--format", "json", "--table", "customer", "--key", "C-004").stdout)
    assert listed[0]["changes"]["contact"][1] == "Anna Becker"


def _tamper(store, sql: str, **values) -> None:
    with store.engine.begin() as connection:
        connection.execute(sa.text(sql), values)


def _ids(store) -> list[int]:
    with store.engine.connect() as connection:
        return [row[0] for row in connection.execute(sa.text("SELECT id FROM audit_log ORDER BY id"))]


@pytest.mark.parametrize("change", ["changes", "actor", "at"])
def test_an_edited_entry_is_named(workspace, store, cli, tmp_path, change):
    _busy_workspace(cli, tmp_path)
    victim = _ids(store)[3]
    value = {"changes": '{"new": {"name": "Forged"}}', "actor": "mallory", "at": datetime(2020, 1, 1)}[change]
    _tamper(store, f"UPDATE audit_log SET {change} = :value WHERE id = :id", value=value, id=victim)
    found = broken(cli)
    assert (found["entry"], found["problem"], found["checked"]) == (victim, "edited", 3)
    table = verify(cli)
    assert table.exit_code == 1 and table.stdout == ""
    assert f"audit entry #{victim} does not match its hash: it was changed after it was written" in table.stderr


def test_an_edited_entry_with_its_hash_recomputed_breaks_the_next_link(workspace, store, cli, tmp_path):
    _busy_workspace(cli, tmp_path)
    ids = _ids(store)
    with store.engine.begin() as connection:
        row = connection.execute(sa.text("SELECT id, at, actor, host, table_name, record_id, record_key, action,"
                                         " changes, prev_hash FROM audit_log WHERE id = :id"), {"id": ids[2]}).one()
        forged = (*row[:8], '{"new": {}}')
        at = row[1] if isinstance(row[1], datetime) else datetime.fromisoformat(row[1])
        forged = (forged[0], at, *forged[2:])
        connection.execute(sa.text("UPDATE audit_log SET changes = :changes, hash = :hash WHERE id = :id"),
                           {"changes": '{"new": {}}', "hash": entry_hash(forged, row[9]), "id": ids[2]})
    found = broken(cli)
    assert (found["entry"], found["problem"]) == (ids[3], "broken_link")


def test_a_deleted_entry_is_named_by_the_one_after_it(workspace, store, cli, tmp_path):
    _busy_workspace(cli, tmp_path)
    ids = _ids(store)
    _tamper(store, "DELETE FROM audit_log WHERE id = :id", id=ids[4])
    found = broken(cli)
    assert (found["entry"], found["problem"], found["checked"]) == (ids[5], "broken_link", 4)
    assert "does not follow the entry before it: an entry was deleted or moved there" in verify(cli).stderr


def test_the_first_entry_deleted_is_found_too(workspace, store, cli, tmp_path):
    _busy_workspace(cli, tmp_path)
    ids = _ids(store)
    _tamper(store, "DELETE FROM audit_log WHERE id = :id", id=ids[0])
    assert (broken(cli)["entry"], broken(cli)["problem"]) == (ids[1], "broken_link")


def test_two_entries_swapped_by_id_are_found(workspace, store, cli, tmp_path):
    _busy_workspace(cli, tmp_path)
    ids = _ids(store)
    first, second = ids[2], ids[6]
    _tamper(store, "UPDATE audit_log SET id = -1 WHERE id = :id", id=first)
    _tamper(store, "UPDATE audit_log SET id = :to WHERE id = :id", to=first, id=second)
    _tamper(store, "UPDATE audit_log SET id = :to WHERE id = -1", to=second)
    found = broken(cli)
    assert found["entry"] == first and found["problem"] in ("broken_link", "edited")


def test_two_entries_swapped_by_content_are_found(workspace, store, cli, tmp_path):
    _busy_workspace(cli, tmp_path)
    ids = _ids(store)
    first, second = ids[1], ids[2]
    columns = "at, actor, host, table_name, record_id, record_key, action, changes"
    with store.engine.begin() as connection:
        rows = {identity: connection.execute(sa.text(f"SELECT {columns} FROM audit_log WHERE id = :id"),
                                             {"id": identity}).one() for identity in (first, second)}
        names = [name.strip() for name in columns.split(",")]
        for target, source in ((first, second), (second, first)):
            connection.execute(sa.text(f"UPDATE audit_log SET {', '.join(f'{n} = :{n}' for n in names)}"
                                       " WHERE id = :id"), dict(zip(names, rows[source])) | {"id": target})
    found = broken(cli)
    assert (found["entry"], found["problem"]) == (first, "edited")


def test_the_serialisation_is_fixed():
    """What an auditor's own script must reproduce: documented in csat.store.chain."""
    entry = (7, datetime(2024, 7, 1, 8, 0), "李工", "qa-pc", "feedback", None, "#1", "insert", '{"new": {"a": 1}}')
    assert canonical(entry, GENESIS).decode("utf-8") == (
        '[7,"2024-07-01T08:00:00.000000","李工","qa-pc","feedback",null,"#1","insert","{\\"new\\": {\\"a\\": 1}}",'
        f'"{GENESIS}"]')
    assert entry_hash(entry, GENESIS) == entry_hash(entry, GENESIS) != entry_hash((*entry[:5], "", *entry[6:]), GENESIS)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return request.getfixturevalue("postgres_url")


def test_the_upgrade_chains_the_entries_already_there(database_url):
    """Entries written before 0010 (by 0.9) get their hashes in id order; later writers chain onto them."""
    from csat.store.audit import record
    from csat.store.chain import verify as walk

    with engine_for(database_url).begin() as connection:
        command.upgrade(alembic_config(connection), "0009")
    with engine_for(database_url).begin() as connection:
        connection.execute(sa.text(
            "INSERT INTO audit_log (at, actor, host, table_name, record_id, record_key, action, changes) VALUES "
            + ", ".join(f"(:at, 'alice', 'pc', 'customer', {n}, 'C-{n:03d}', 'insert', '{{}}')" for n in range(1, 2502))),
            {"at": datetime(2024, 3, 1, 9, 30, 15)})
    upgrade(database_url)
    engine = engine_for(database_url)
    with engine.connect() as connection:
        verdict = walk(connection, batch=1000)
        assert verdict.ok and verdict.checked == 2501
        first = connection.execute(sa.text("SELECT prev_hash, hash FROM audit_log WHERE id = 1")).one()
    assert first[0] == GENESIS and first[1] == entry_hash(
        (1, datetime(2024, 3, 1, 9, 30, 15), "alice", "pc", "customer", 1, "C-001", "insert", "{}"), GENESIS)
    with engine.begin() as connection:
        record(connection, "customer", "update", 1, "C-001", {"name": ["A", "B"]})
    with engine.connect() as connection:
        assert walk(connection).checked == 2502
    with engine.begin() as connection:
        command.downgrade(alembic_config(connection), "0009")
        assert connection.execute(sa.text("SELECT count(*) FROM audit_log")).scalar() == 2502


def test_a_trail_copied_row_by_row_from_sqlite_to_postgresql_still_verifies(tmp_path, postgres_url):
    """Helper export copies audit rows verbatim between backends: the same rows must give the same hashes."""
    from csat.store.audit import record_many
    from csat.store.chain import verify as walk

    sqlite_url = f"sqlite:///{tmp_path / 'store.db'}"
    for url in (sqlite_url, postgres_url):
        upgrade(url)
    with engine_for(sqlite_url).begin() as connection:
        record_many(connection, "feedback", "insert", [(n, f"#{n}", {"new": {"text": "裂纹 ' \" \\ é", "n": n}})
                                                       for n in range(1, 40)])
        record_many(connection, "response", "insert", [(None, "import a.xlsx", '{"new": {"ids": "1-9"}}'),
                                                       (3, "", None)])
    columns = ("id", "at", "actor", "host", "table_name", "record_id", "record_key", "action", "changes",
               "prev_hash", "hash")
    log = sa.table("audit_log", *(sa.column(name, sa.DateTime() if name == "at" else None) for name in columns))
    with engine_for(sqlite_url).connect() as connection:
        rows = [dict(row._mapping) for row in connection.execute(sa.select(*log.c).order_by(log.c.id))]
    with engine_for(postgres_url).begin() as connection:
        connection.execute(sa.insert(log), rows)
    for url in (sqlite_url, postgres_url):
        with engine_for(url).connect() as connection:
            verdict = walk(connection)
            assert verdict.ok and verdict.checked == 41 and verdict.head_hash == rows[-1]["hash"]
    with engine_for(postgres_url).begin() as connection:   # and a writer on PostgreSQL chains on after them
        record_many(connection, "capa", "open", [(1, "CAPA-1", {})])
    with engine_for(postgres_url).connect() as connection:
        assert walk(connection).checked == 42


def test_writers_racing_on_postgresql_never_fork_the_chain(tmp_path, monkeypatch, cli, postgres_url):
    """Eight processes write at once (feedback, customer edits, imports): one chain, every entry on it."""
    from import_fixtures import write_sheet_csv
    from test_concurrency import no_crash, race

    from csat.config import Workspace
    from csat.store.engine import open_store

    monkeypatch.setenv("CSAT_DATABASE_URL", postgres_url)
    root = tmp_path / "ws"
    assert cli("init", root).exit_code == 0
    monkeypatch.setenv("CSAT_HOME", str(root))
    assert cli("customer", "import", EXAMPLES / "customers.csv").exit_code == 0
    environment = {"CSAT_HOME": str(root), "CSAT_DATABASE_URL": postgres_url}
    runs = []
    for number in range(1, 4):
        runs.append((environment, ["feedback", "add", f"C-00{number}", "--kind", "quality", "--channel", "phone",
                                   "--text", f"Complaint {number}", "--received", "2024-07-01 08:00"]))
        runs.append((environment, ["customer", "edit", f"C-00{number + 3}", "--contact", f"Contact {number}"]))
    for number, period in enumerate(("2024H1", "2024H2")):
        sheet = write_sheet_csv(tmp_path / f"answers-{period}.csv", ["customer", "respondent", "quality"],
                                [[f"C-00{code}", "Buyer", 70 + number] for code in range(1, 8)])
        runs.append((environment, ["import", sheet, "--half", period]))
    for attempt in range(2):
        results = race(tmp_path / f"race-{attempt}", runs)
        for result in results:
            no_crash(result)
            assert result.returncode == 0, result
        result = verified(cli)
        assert result["checked"] == _entries(open_store(Workspace.open(Path(root)))), result


def test_doctor_shows_the_chain_head(workspace, store, cli, monkeypatch):
    head = verified(cli)
    doctor = cli("doctor")
    shown = doctor.stdout + doctor.stderr
    assert f"audit trail head #{head['head_id']}, hash {head['head_hash']}" in shown
    monkeypatch.setenv("CSAT_LANG", "zh")
    doctor = cli("doctor")
    assert f"审计追踪最新记录 #{head['head_id']}" in doctor.stdout + doctor.stderr
