"""Issue #18 "Secrets": where the PostgreSQL password comes from.

A server of its own that checks passwords (scram-sha-256; the suite's shared server trusts
everyone, so a password there proves nothing), and a role whose password has every
character a URL trips on. The password reaches the server from store.password_env,
PGPASSWORD, a pgpass file or the URL itself (percent-encoded), and is never printed.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest

from csat.config import Workspace
from csat.workspace import config_set
from csat.workspace import create

PASSWORD = "p@ss:w/rd%25 x"
SUPERUSER_PASSWORD = "admin-secret"


def _binary(name: str) -> str | None:
    return shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None)


def _as_postgres(command: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@pytest.fixture(scope="module")
def password_server():
    """(host, port) of a PostgreSQL server that requires passwords, with role csat owning database csat."""
    initdb, pg_ctl = _binary("initdb"), _binary("pg_ctl")
    if not initdb or not pg_ctl:
        pytest.skip("PostgreSQL binaries are not installed")
    base = Path(f"/tmp/csat-pgpw-{uuid.uuid4().hex[:8]}")
    base.mkdir(mode=0o755)
    data, sockets = base / "data", base / "run"
    sockets.mkdir()
    pwfile = base / "pw"
    pwfile.write_text(SUPERUSER_PASSWORD + "\n")
    if os.geteuid() == 0:
        for path in (base, sockets, pwfile):
            shutil.chown(path, "postgres")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    subprocess.run(_as_postgres([initdb, "-D", str(data), "-U", "postgres", "--auth=scram-sha-256",
                                 f"--pwfile={pwfile}", "-E", "UTF8", "--locale=C"]), check=True, capture_output=True)
    options = f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off"
    subprocess.run(_as_postgres([pg_ctl, "-D", str(data), "-o", options, "-l", str(base / "log"), "-w", "start"]),
                   check=True, capture_output=True)
    try:
        import psycopg
        from psycopg import sql

        admin = f"host=127.0.0.1 port={port} user=postgres password={SUPERUSER_PASSWORD} dbname=postgres"
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(sql.SQL("CREATE ROLE csat LOGIN PASSWORD {}").format(sql.Literal(PASSWORD)))
            connection.execute("CREATE DATABASE csat OWNER csat")
        yield "127.0.0.1", port
    finally:
        subprocess.run(_as_postgres([pg_ctl, "-D", str(data), "-m", "immediate", "stop"]), capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def server_workspace(tmp_path, monkeypatch, password_server):
    """A workspace whose csat.toml points at the password server, the URL without a password."""
    for name in ("CSAT_DATABASE_URL", "PGPASSWORD", "PGPASSFILE", "CSAT_DB_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PGPASSFILE", str(tmp_path / "no-pgpass"))  # never the developer's ~/.pgpass
    root = tmp_path / "ws"
    create(root)
    monkeypatch.setenv("CSAT_HOME", str(root))
    host, port = password_server
    config_set(Workspace.open(root), "store.url", f"postgresql+psycopg://csat@{host}:{port}/csat")
    return Workspace.open(root)


def _upgrade_and_status(cli):
    upgraded = cli("db", "upgrade")
    status = cli("db", "status")
    return upgraded, status


def test_password_from_the_variable_store_password_env_names(server_workspace, cli, monkeypatch):
    assert cli("config", "set", "store.password_env", "CSAT_DB_PASSWORD").exit_code == 0
    missing = cli("db", "status")
    assert missing.exit_code == 1
    assert "store.password_env names CSAT_DB_PASSWORD, which is not set" in missing.stderr
    monkeypatch.setenv("CSAT_DB_PASSWORD", PASSWORD)
    upgraded, status = _upgrade_and_status(cli)
    assert upgraded.exit_code == 0, upgraded
    assert status.exit_code == 0 and "(current)" in status.stderr, status
    assert "127.0.0.1" in status.stderr and PASSWORD not in status.stdout + status.stderr
    assert PASSWORD not in server_workspace.config_path.read_text()
    code = f"PW-{uuid.uuid4().hex[:6]}"
    assert cli("customer", "add", code, "--name", "Password Motors", "--email", "buyer@pw.example").exit_code == 0
    shown = cli("customer", "show", code)
    assert shown.exit_code == 0 and "Password Motors" in shown.stdout, shown


def test_pgpassword_and_pgpass_are_read_by_libpq(server_workspace, cli, monkeypatch, tmp_path, password_server):
    refused = cli("db", "status")
    assert refused.exit_code == 1 and "\n" not in refused.stderr.strip(), refused
    monkeypatch.setenv("PGPASSWORD", PASSWORD)
    upgraded, status = _upgrade_and_status(cli)
    assert upgraded.exit_code == 0 and "(current)" in status.stderr, (upgraded, status)
    monkeypatch.delenv("PGPASSWORD")
    host, port = password_server
    pgpass = tmp_path / "pgpass"
    escaped = PASSWORD.replace("\\", "\\\\").replace(":", "\\:")
    pgpass.write_text(f"{host}:{port}:csat:csat:{escaped}\n")
    pgpass.chmod(0o600)
    monkeypatch.setenv("PGPASSFILE", str(pgpass))
    status = cli("db", "status")
    assert status.exit_code == 0 and "(current)" in status.stderr, status


def test_wrong_password_is_one_line_without_the_password(server_workspace, cli, monkeypatch):
    monkeypatch.setenv("PGPASSWORD", "not-" + PASSWORD)
    status = cli("db", "status")
    assert status.exit_code == 1 and "password authentication failed" in status.stderr, status
    assert len(status.stderr.strip().splitlines()) == 1 and PASSWORD not in status.stderr


def test_percent_encoded_password_in_the_url(server_workspace, cli, password_server):
    host, port = password_server
    url = f"postgresql+psycopg://csat:{quote(PASSWORD, safe='')}@{host}:{port}/csat"
    assert cli("config", "set", "store.url", url).exit_code == 0
    assert oct(server_workspace.config_path.stat().st_mode & 0o777) == oct(0o600)
    upgraded, status = _upgrade_and_status(cli)
    assert upgraded.exit_code == 0 and "(current)" in status.stderr, (upgraded, status)
    shown = cli("config", "show").stdout
    assert f"postgresql+psycopg://csat:***@{host}:{port}/csat" in shown
    assert quote(PASSWORD, safe="") not in shown + status.stdout + upgraded.stderr


@pytest.mark.parametrize(("url", "shown"), [
    ("postgresql+psycopg://csat:p@ss:w/rd@db:5432/csat", "postgresql+psycopg://csat:***@db:5432/csat"),
    ("postgresql+psycopg://csat@db/csat?sslmode=require&password=xyz", "postgresql+psycopg://csat@db/csat?sslmode=require&password=***"),
    ("postgresql+psycopg://csat@db/csat", "postgresql+psycopg://csat@db/csat"),
    ("sqlite:///csat.db", "sqlite:///csat.db"),
])
def test_config_show_hides_every_way_of_writing_a_password(workspace, cli, url, shown, monkeypatch):
    import re

    from csat.config import hide_url_password, holds_secret

    assert hide_url_password(url) == shown
    assert holds_secret(Workspace.open(workspace.root).settings) is False
    monkeypatch.delenv("CSAT_DATABASE_URL", raising=False)     # csat.toml's URL is the one in effect
    text = re.sub(r'^url = ".*"$', lambda _match: f'url = "{url}"', workspace.config_path.read_text(), flags=re.M)
    workspace.config_path.write_text(text)
    assert f'url = "{shown}"' in cli("config", "show").stdout
    assert cli("config", "get", "store.url").stdout.strip() == shown
