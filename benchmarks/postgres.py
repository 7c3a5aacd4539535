"""A throw-away PostgreSQL cluster for a speed case, started from the machine's binaries.

The same approach as the tests' fixture (tests/postgres_fixtures.py), without pytest:
initdb into a temporary folder, a free loopback port, default durability
(fsync on, as a real server runs), and as the
`postgres` user when run as root (PostgreSQL refuses root). CSAT_BENCH_POSTGRES_URL
points at an existing server instead (its base URL, without a database).
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


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
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@contextmanager
def server() -> Iterator[str]:
    """Base URL (postgresql+psycopg://user@host:port, no database) of a running server."""
    existing = os.environ.get("CSAT_BENCH_POSTGRES_URL")
    if existing:
        yield existing.rstrip("/")
        return
    initdb, pg_ctl = _binary("initdb"), _binary("pg_ctl")
    if not initdb or not pg_ctl:
        raise SystemExit("PostgreSQL is not installed (initdb, pg_ctl); set CSAT_BENCH_POSTGRES_URL to use a server")
    base = Path(tempfile.mkdtemp(prefix="csat-bench-pg-"))
    base.chmod(0o755)
    data, sockets = base / "data", base / "run"
    sockets.mkdir()
    if os.geteuid() == 0:
        shutil.chown(base, "postgres")
        shutil.chown(sockets, "postgres")
    port = _free_port()
    try:
        subprocess.run(_as_postgres([initdb, "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                                     "--locale=C"]), check=True, capture_output=True)
        options = f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1"
        subprocess.run(_as_postgres([pg_ctl, "-D", str(data), "-o", options, "-l", str(base / "log"), "-w", "start"]),
                       check=True, capture_output=True)
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}"
    finally:
        if (data / "postmaster.pid").exists():
            subprocess.run(_as_postgres([pg_ctl, "-D", str(data), "-m", "immediate", "stop"]), capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


def admin(base_url: str, sql: str) -> None:
    """Run one statement (CREATE/DROP DATABASE) on the server's postgres database, outside a transaction."""
    import psycopg

    with psycopg.connect(base_url.replace("postgresql+psycopg://", "postgresql://") + "/postgres",
                         autocommit=True) as connection:
        connection.execute(sql)
