"""A real PostgreSQL server for the tests, started from the machine's binaries.

`.ci/run` installs PostgreSQL when it is missing; the fixture finds initdb,
creates a throw-away cluster on a free loopback port (as the `postgres` user
when the tests run as root, since PostgreSQL refuses root), and gives each
test its own database. CSAT_TEST_POSTGRES_URL points at an existing server
instead, e.g. a shared one on a developer machine.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest


def _binary(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _as_postgres(command: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", "postgres", "--", *command]


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory):
    """Base URL (without database) of a running PostgreSQL server."""
    existing = os.environ.get("CSAT_TEST_POSTGRES_URL")
    if existing:
        yield existing.rstrip("/")
        return
    initdb, pg_ctl = _binary("initdb"), _binary("pg_ctl")
    if not initdb or not pg_ctl:
        pytest.fail("PostgreSQL is not installed: run .ci/run (it installs it) or set CSAT_TEST_POSTGRES_URL")
    base = Path(f"/tmp/csat-pg-{uuid.uuid4().hex[:8]}")
    base.mkdir(mode=0o755)
    data, sockets = base / "data", base / "run"
    sockets.mkdir()
    if os.geteuid() == 0:
        shutil.chown(base, "postgres")
        shutil.chown(sockets, "postgres")
    port = _free_port()
    subprocess.run(_as_postgres([initdb, "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                                 "--locale=C"]), check=True, capture_output=True)
    options = f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off"
    subprocess.run(_as_postgres([pg_ctl, "-D", str(data), "-o", options, "-l", str(base / "log"), "-w", "start"]),
                   check=True, capture_output=True)
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}"
    finally:
        subprocess.run(_as_postgres([pg_ctl, "-D", str(data), "-m", "immediate", "stop"]), capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


@contextmanager
def fresh_database(server: str):
    """Create an empty database on the server, yield its URL, drop it afterwards."""
    import psycopg

    name = f"csat_test_{uuid.uuid4().hex[:10]}"
    admin = server.replace("postgresql+psycopg://", "postgresql://") + "/postgres"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{server}/{name}"
    finally:
        from csat.store.engine import dispose_engines

        dispose_engines()
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def postgres_url(postgres_server):
    """A fresh, empty database for one test."""
    with fresh_database(postgres_server) as url:
        yield url
