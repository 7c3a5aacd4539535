"""Locks that speak: a waiter names who holds the lock, gives up after store.lock_timeout, takes over from the dead.

The holders here are real processes: a csat store session in a child process, suspended with SIGSTOP the way a
laptop lid closes mid-import, so the server still sees its session and its locks.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager

import pytest

from csat.store.locking import exclusive, lock_key
from tests.conftest import EXAMPLES

HOST = socket.gethostname().split(".")[0]

# A csat process that opens the store, takes a lock the way a command does, says so, and then does nothing.
HOLDER = """
import sys, time
from csat.store import locking
from csat.store.engine import Store
from sqlalchemy import text
locking.command = sys.argv[3]
store = Store(sys.argv[1])
with store.session() as session:
    if sys.argv[2] == "table":
        session.execute(text("LOCK TABLE customer IN ACCESS EXCLUSIVE MODE"))
    else:
        locking.hold_for_transaction(session, sys.argv[2], "x")
    print("held", flush=True)
    time.sleep(600)
"""


@contextmanager
def suspended_holder(url: str, lock: str, command: str):
    """A real csat process holding `lock` on the store at `url`, stopped with SIGSTOP; yields its pid."""
    process = subprocess.Popen([sys.executable, "-c", HOLDER, url, lock, command], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline().strip() == "held", process.stderr.read()
        os.kill(process.pid, signal.SIGSTOP)
        yield process.pid
    finally:
        os.kill(process.pid, signal.SIGCONT)
        process.kill()
        process.wait(timeout=30)


def run_csat(*args, env: dict) -> tuple[subprocess.CompletedProcess, float]:
    environment = {key: value for key, value in os.environ.items() if key not in ("CSAT_HOME", "CSAT_DATABASE_URL")}
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "csat", *[str(arg) for arg in args]], env=environment | env,
                            capture_output=True, text=True, timeout=120)
    return result, time.monotonic() - started


@pytest.fixture
def on_postgres(tmp_path, monkeypatch, cli, postgres_url):
    """A workspace on a fresh PostgreSQL database with the example customers and a 2 s lock timeout."""
    monkeypatch.setenv("CSAT_DATABASE_URL", postgres_url)
    root = tmp_path / "ws"
    assert cli("init", root).exit_code == 0
    monkeypatch.setenv("CSAT_HOME", str(root))
    assert cli("customer", "import", EXAMPLES / "customers.csv").exit_code == 0
    assert cli("config", "set", "store.lock_timeout", "2").exit_code == 0
    return {"CSAT_HOME": str(root), "CSAT_DATABASE_URL": postgres_url}


def test_an_import_behind_a_suspended_import_names_it_and_gives_up_after_the_lock_timeout(on_postgres, tmp_path,
                                                                                         cli):
    sheet = tmp_path / "answers.csv"
    sheet.write_text("customer,respondent,quality,delivery\nC-001,Buyer,90,80\n", encoding="utf-8")
    with suspended_holder(on_postgres["CSAT_DATABASE_URL"], "responses", "import") as holder:
        result, took = run_csat("import", sheet, "--half", "2024H1", env=on_postgres)
    assert result.returncode == 1, result
    assert 2 <= took < 20
    lines = result.stderr.strip().splitlines()
    named = f"held by `csat import` (pid {holder} on {HOST}, user "
    assert lines[0].startswith("waiting for another import or response entry on this store to finish: " + named)
    assert "idle in its transaction" in lines[0]
    assert lines[-1].startswith("Error: gave up after 2 s waiting for another import or response entry on this "
                                "store: " + named), lines
    assert "store.lock_timeout" in lines[-1] and "Traceback" not in result.stderr
    # Nothing half done: the person sees no response and can import once the holder is gone.
    assert json.loads(cli("response", "list", "--half", "2024H1", "--format", "json").stdout or "[]") == []
    imported = cli("import", sheet, "--half", "2024H1")
    assert imported.exit_code == 0, imported
    assert len(json.loads(cli("response", "list", "--half", "2024H1", "--format", "json").stdout)) == 1


def test_a_read_behind_a_suspended_table_lock_gives_up_in_one_line_naming_the_holder(on_postgres):
    with suspended_holder(on_postgres["CSAT_DATABASE_URL"], "table", "items load") as holder:
        result, took = run_csat("customer", "list", env=on_postgres)
    assert result.returncode == 1, result
    assert took < 20
    assert result.stderr.startswith("Error: gave up after 2 s waiting for a lock on the store at ")
    assert f"held by `csat items load` (pid {holder} on {HOST}, user " in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "password" not in result.stderr


def test_a_waiter_goes_on_when_the_holder_finishes_within_the_timeout(on_postgres, cli):
    assert cli("config", "set", "store.lock_timeout", "60").exit_code == 0
    with suspended_holder(on_postgres["CSAT_DATABASE_URL"], "feedback", "feedback add") as holder:
        environment = {key: value for key, value in os.environ.items() if key not in ("CSAT_HOME",)} | on_postgres
        waiter = subprocess.Popen([sys.executable, "-m", "csat", "feedback", "add", "C-002", "--kind", "service",
                                   "--channel", "phone", "--text", "Nobody called back"],
                                  env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        said = waiter.stderr.readline()
        assert f": held by `csat feedback add` (pid {holder} on {HOST}" in said
        os.kill(holder, signal.SIGKILL)                 # the holder goes away: the server frees its lock
        _, stderr = waiter.communicate(timeout=60)
    assert waiter.returncode == 0, stderr
    listed = json.loads(cli("feedback", "list", "--format", "json").stdout)
    assert [entry["text"] for entry in listed] == ["Nobody called back"]


def _hold_server_lock(url: str, name: str, application: str):
    import psycopg

    connection = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True,
                                 application_name=application)
    connection.execute("SELECT pg_advisory_lock(%s)", (lock_key(name),))
    return connection


def test_remind_on_another_machine_is_named_and_a_dead_one_on_this_host_is_taken_over(on_postgres, cli):
    url = on_postgres["CSAT_DATABASE_URL"]
    with _hold_server_lock(url, "remind", "csat 4242@laptop-7 bob remind"):
        result = cli("remind")
    assert result.exit_code == 0
    assert "another run is in progress, held by `csat remind` (pid 4242 on laptop-7, user bob, database role " \
        "postgres, since " in result.stderr.replace("\n", " ")

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    with _hold_server_lock(url, "remind", f"csat {gone.pid}@{HOST} bob remind") as lingering:
        result = cli("remind", "-v")
        assert result.exit_code == 0, result
        assert "another run is in progress" not in result.stderr
        assert f"taking over the lock of `csat remind` (pid {gone.pid} on {HOST}" in result.stderr
        assert "nothing due for staff" in result.stderr or "csat remind" in result.stderr
        assert lingering.closed or _session_is_gone(lingering)


def _session_is_gone(connection) -> bool:
    import psycopg

    try:
        connection.execute("SELECT 1")
    except psycopg.OperationalError:
        return True
    return False


def test_a_second_remind_names_the_running_one_from_the_lock_file(workspace, store, cli):
    from csat.store import locking

    locking.command = "remind"
    try:
        with exclusive(workspace.root, "remind", store):
            recorded = json.loads((workspace.root / ".csat-remind.lock").read_text(encoding="utf-8"))
            result = cli("remind")
    finally:
        locking.command = ""
    assert recorded["pid"] == os.getpid() and recorded["host"] == HOST and recorded["started"]
    assert result.exit_code == 0
    text = result.stderr.replace("\n", " ")
    assert f"another run is in progress, held by `csat remind` (pid {os.getpid()} on {HOST}, user " in text
    assert "since " in text and "nothing done" in text


def test_a_lock_file_left_by_a_dead_run_is_taken_over(workspace, cli):
    (workspace.root / ".csat-remind.lock").write_text(json.dumps(
        {"host": HOST, "pid": 999999, "user": "bob", "command": "remind", "started": "2026-01-01T08:00:00+00:00"}))
    result = cli("remind", "-v")
    assert result.exit_code == 0 and "another run is in progress" not in result.stderr, result
    assert "csat remind" in result.stderr


def test_a_send_while_another_runs_names_it(workspace, store, cli, customers_csv):
    cli("customer", "import", customers_csv)
    with exclusive(workspace.root, "send", store):
        result = cli("survey", "send", "--half", "2024H1")
    assert result.exit_code == 1
    assert "another `csat survey send` is running on this store" in result.stderr
    assert f"(pid {os.getpid()} on {HOST}, user " in result.stderr.replace("\n", " ")
