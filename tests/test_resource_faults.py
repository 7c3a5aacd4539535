"""Resource faults: a full disk, a read-only store, an SMTP server that hangs up mid-DATA.

The disk fills in a child process: RLIMIT_FSIZE (set between fork and exec)
makes every write past the limit fail with EFBIG, as a full disk fails with
ENOSPC (Python ignores SIGXFSZ, so the write raises instead of killing). The
SQLite store's -shm file (32 KB) must already exist, or opening the store
would be the write that fails: the test holds a connection open meanwhile.

The read-only store runs the command with permission bits applying to it
(tests/privileges.py: as root, without the capabilities that override them).
"""

from __future__ import annotations

import json
import os
import resource
import sqlite3
import subprocess
import sys
from contextlib import contextmanager

import pytest
from smtp_fixtures import Handler, running_smtp, use_smtp
from sqlmodel import select

from csat.registry import customers
from csat.store.engine import dispose_engines
from csat.store.models import Invitation
from csat.survey import send as survey
from tests.conftest import EXAMPLES
from tests.privileges import as_user, who

LIMIT = 1024  # bytes a child may write to any one file: far below a report, the store's WAL or an outbox message


def _csat(*args: str, workspace, limit: int | None = None) -> subprocess.CompletedProcess:
    def fill_the_disk():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return subprocess.run([sys.executable, "-m", "csat", *map(str, args)], cwd=workspace.root,
                          env=dict(os.environ, CSAT_HOME=str(workspace.root), CSAT_LANG="en"),
                          capture_output=True, text=True, timeout=180, check=False,
                          preexec_fn=fill_the_disk if limit else None)


@contextmanager
def _store_shared_memory(workspace):
    """Keep the SQLite store's -shm in place while a child with a small file size limit opens it."""
    path = workspace.root / "csat.db"
    if not path.exists():   # PostgreSQL: nothing of the store is written locally
        yield
        return
    database = sqlite3.connect(path)
    try:
        database.execute("SELECT COUNT(*) FROM customer").fetchall()
        yield
    finally:
        database.close()


@pytest.fixture
def answered(workspace, store, cli):
    assert cli("customer", "import", EXAMPLES / "customers.csv").exit_code == 0
    assert cli("import", EXAMPLES / "responses-2024H1.csv", "--half", "2024H1").exit_code == 0
    dispose_engines()
    return workspace


def _one_line(stderr: str) -> str:
    assert stderr.count("\n") == 1 and "Traceback" not in stderr, stderr
    return stderr


@pytest.mark.parametrize("fmt", ["xlsx", "html", "md"])
def test_report_to_a_full_disk_leaves_no_partial_file(answered, tmp_path, fmt):
    out = tmp_path / "reports"
    out.mkdir()
    previous = out / f"report.{fmt}"
    previous.write_text("last month's report\n")   # written over: it must survive a failed rewrite whole
    with _store_shared_memory(answered):
        result = _csat("report", "--half", "2024H1", "--format", fmt, "-o", previous, workspace=answered, limit=LIMIT)
    assert result.returncode == 1, result
    assert _one_line(result.stderr) == f"Error: cannot write {previous}: File too large\n"
    assert previous.read_text() == "last month's report\n"
    assert sorted(path.name for path in out.iterdir()) == [previous.name]   # no temporary left behind
    fresh = out / f"fresh.{fmt}"
    with _store_shared_memory(answered):
        result = _csat("report", "--half", "2024H1", "--format", fmt, "-o", fresh, workspace=answered, limit=LIMIT)
    assert result.returncode == 1 and not fresh.exists(), result
    assert _csat("report", "--half", "2024H1", "--format", fmt, "-o", fresh, workspace=answered).returncode == 0
    assert fresh.stat().st_size > LIMIT


def _rounds(workspace) -> list[dict]:
    listed = _csat("survey", "list", "--format", "json", workspace=workspace)
    assert listed.returncode == 0, listed
    return json.loads(listed.stdout)


@pytest.mark.sqlite_only("the disk that fills is the store's file's; a PostgreSQL server writes its own disk")
def test_import_on_a_full_disk_leaves_the_store_unchanged(answered, tmp_path):
    before = _rounds(answered)
    sheet = tmp_path / "responses-2025H1.csv"
    sheet.write_text((EXAMPLES / "responses-2024H1.csv").read_text(encoding="utf-8-sig"), encoding="utf-8-sig")
    with _store_shared_memory(answered):
        result = _csat("import", sheet, "--half", "2025H1", workspace=answered, limit=LIMIT)
    assert result.returncode == 1, result
    assert _one_line(result.stderr).startswith("Error: the store could not be written (is the disk full?)")
    assert "nothing of this change was stored" in result.stderr
    assert _rounds(answered) == before   # no 2025H1 round, no response, no archived file
    sources = _csat("sources", "list", "--format", "json", workspace=answered)
    assert "responses-2025H1.csv" not in sources.stdout
    database = sqlite3.connect(answered.root / "csat.db")
    assert database.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    database.close()
    again = _csat("import", sheet, "--half", "2025H1", workspace=answered)   # room again: all of it goes in
    assert again.returncode == 0, again
    assert sorted((listed["period"], listed["responded"]) for listed in _rounds(answered)) == [("2024H1", 8), ("2025H1", 8)]


@pytest.mark.sqlite_only("file and folder permissions of the store's file; a PostgreSQL server has its own")
@pytest.mark.parametrize("locked", ["file", "folder"])
def test_read_only_store_reads_and_refuses_writes_in_one_line(answered, locked):
    database = answered.root / "csat.db"
    database.chmod(0o444)
    if locked == "folder":
        answered.root.chmod(0o555)
    try:
        report = as_user("report", "--half", "2024H1", "--format", "json", cwd=answered.root)
        assert report.returncode == 0, (who(), report)
        assert json.loads(report.stdout)["responses"] == 8
        for command in (["import", EXAMPLES / "responses-2024H1.csv", "--half", "2025H1"],
                        ["feedback", "import", EXAMPLES / "feedback-log.csv"],
                        ["customer", "add", "X-1", "--name", "New Customer"]):
            refused = as_user(*command, cwd=answered.root)
            assert refused.returncode == 1, (who(), command, refused)
            assert _one_line(refused.stderr).startswith("Error: the store is read-only"), (command, refused.stderr)
    finally:
        answered.root.chmod(0o755)
        database.chmod(0o644)
    assert [listed["period"] for listed in _rounds(answered)] == ["2024H1"]
    assert _csat("feedback", "list", "--format", "json", workspace=answered).stdout.strip() in ("[]", "")


class HangUpInData(Handler):
    """Takes the whole message, then closes the connection instead of answering the end of DATA, for `hang_up_on`."""

    def __init__(self, hang_up_on: set[str]):
        super().__init__()
        self.hang_up_on = hang_up_on
        self.hung_up: list[str] = []

    async def handle_DATA(self, server, session, envelope):
        victims = self.hang_up_on.intersection(envelope.rcpt_tos)
        if victims:
            self.hang_up_on.difference_update(victims)   # once each: the re-run goes through
            self.hung_up.extend(victims)
            server.transport.close()
            return "421 4.3.0 connection dropped"   # never reaches the client: the transport is closed
        return await super().handle_DATA(server, session, envelope)


def test_smtp_server_hanging_up_mid_data_marks_nothing_sent_and_rerun_sends_once(workspace, store, cli):
    with store.session() as session:
        customers.import_file(session, EXAMPLES / "customers.csv")
    victim = "liwei@huake.example"
    handler = HangUpInData({victim})
    with running_smtp(handler) as server:
        use_smtp(workspace, server.port)
        first = cli("survey", "send", "--half", "2024H1")
        assert first.exit_code == 1, first
        assert handler.hung_up == [victim]
        assert "C-003" in first.stderr and "Traceback" not in first.stderr, first.stderr
        with store.read_session() as session:
            invitation = session.exec(select(Invitation).where(Invitation.email == victim)).one()
            assert invitation.status == "failed" and invitation.message_id == "" and invitation.error
        assert victim not in server.recipients() and len(server.received) == 8   # the others still went out
        status = cli("survey", "status", "--half", "2024H1", "--format", "json")
        assert '"failed": 1' in status.stdout and '"sent": 8' in status.stdout, status.stdout
        again = cli("survey", "send", "--half", "2024H1")
        assert again.exit_code == 0 and "1 sent" in again.stderr, again
        assert server.recipients().count(victim) == 1 and len(server.received) == 9
        assert '"sent": 9' in cli("survey", "status", "--half", "2024H1", "--format", "json").stdout


def test_smtp_hang_up_mid_data_in_a_send_round_call(workspace, store):
    """The core function reports the hang-up as that customer's failure with the server's silence as reason."""
    with store.session() as session:
        customers.import_file(session, EXAMPLES / "customers.csv")
    handler = HangUpInData({"anna.becker@acme-motors.example"})
    with running_smtp(handler) as server:
        use_smtp(workspace, server.port)
        report = survey.send_round(workspace, store, "2024H1")
    [(code, reason)] = report.failed
    assert code == "C-001" and reason and "\n" not in reason
    assert len(report.sent) == 8


def test_read_only_postgresql_store_reads_and_refuses_writes_in_one_line(answered, store_backend):
    """The PostgreSQL way a store is read-only: the database refuses writes (a replica, or set so by its admin)."""
    if store_backend != "postgresql":
        pytest.skip("PostgreSQL only: the SQLite store's read-only file and folder are tested above")
    from sqlalchemy import create_engine, make_url, text
    from sqlalchemy.pool import NullPool

    url = os.environ["CSAT_DATABASE_URL"]
    name = make_url(url).database
    admin = create_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT")

    def read_only(value: str) -> None:
        with admin.connect() as connection:
            connection.execute(text("SET default_transaction_read_only = off"))   # this session can undo it
            connection.execute(text(f'ALTER DATABASE "{name}" SET default_transaction_read_only = {value}'))

    read_only("on")
    try:
        # Reading works. (Not `report` yet: on PostgreSQL it builds a temporary table, which a read-only
        # transaction refuses too; it says so in one line, as below.)
        assert [(listed["period"], listed["responded"]) for listed in _rounds(answered)] == [("2024H1", 8)]
        report = _csat("report", "--half", "2024H1", "--format", "json", workspace=answered)
        assert report.returncode == 0 or _one_line(report.stderr).startswith("Error: the store is read-only"), report
        for command in (["import", EXAMPLES / "responses-2024H1.csv", "--half", "2025H1"],
                        ["feedback", "import", EXAMPLES / "feedback-log.csv"],
                        ["customer", "add", "X-1", "--name", "New Customer"]):
            refused = _csat(*command, workspace=answered)
            assert refused.returncode == 1, (command, refused)
            assert _one_line(refused.stderr).startswith("Error: the store is read-only"), (command, refused.stderr)
    finally:
        read_only("off")
        admin.dispose()
    assert [listed["period"] for listed in _rounds(answered)] == ["2024H1"]
