"""Shared fixtures: every test gets its own workspace on a real store.

`workspace` creates a workspace in tmp_path through the same code as
`csat init` and points CSAT_HOME at it; `store` opens it; `cli` runs the real
command line in-process and returns the result (exit code, stdout, stderr).

The store is a SQLite file in the workspace, or with `--backend postgresql`
(or CSAT_TEST_BACKEND=postgresql) a fresh database per test on a PostgreSQL
server the session starts itself (tests/postgres_fixtures.py): the autouse
fixture points CSAT_DATABASE_URL at it, so every workspace a test creates, in
process or in a subprocess, uses it. A test about SQLite by nature is marked
`@pytest.mark.sqlite_only("why")` and skipped on PostgreSQL with that reason.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from csat.cli import app
from csat.config import Workspace
from csat.store.engine import dispose_engines, open_store
from csat.workspace import create
from tests.postgres_fixtures import fresh_database, postgres_server, postgres_url  # noqa: F401

BACKENDS = ("sqlite", "postgresql")
BACKEND_ENV = "CSAT_TEST_BACKEND"
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def pytest_addoption(parser):
    parser.addoption(
        "--backend", choices=BACKENDS, default=os.environ.get(BACKEND_ENV) or "sqlite",
        help=f"store every test workspace on sqlite (a file) or postgresql (a fresh database per test on a "
             f"server the session starts); default ${BACKEND_ENV} or sqlite",
    )


def backend(config) -> str:
    return config.getoption("--backend")


def pytest_report_header(config):
    return f"csat store backend: {backend(config)}"


def pytest_collection_modifyitems(config, items):
    if backend(config) == "sqlite":
        return
    for item in items:
        marker = item.get_closest_marker("sqlite_only")
        if marker is not None:
            reason = marker.kwargs.get("reason") or (marker.args[0] if marker.args else "about SQLite")
            item.add_marker(pytest.mark.skip(reason=f"SQLite only: {reason}"))


@pytest.fixture
def store_backend(request) -> str:
    """The store this session runs the tests on: sqlite or postgresql."""
    return backend(request.config)


@pytest.fixture
def backend_database(request):
    """The URL every workspace of this test stores in: None on SQLite (the workspace's own file)."""
    if backend(request.config) == "sqlite":
        yield None
        return
    server = request.getfixturevalue("postgres_server")
    with fresh_database(server) as url:
        yield url


@pytest.fixture(autouse=True)
def isolated_environment(monkeypatch, tmp_path, backend_database):
    """No test sees the developer's workspace, database URL, secret or SMTP password."""
    for name in ("CSAT_HOME", "CSAT_DATABASE_URL", "CSAT_SECRET", "CSAT_SMTP_PASSWORD", "CSAT_ACTOR", "CSAT_LANG"):
        monkeypatch.delenv(name, raising=False)
    if backend_database:
        monkeypatch.setenv("CSAT_DATABASE_URL", backend_database)
    monkeypatch.chdir(tmp_path)
    from csat.cli import _common

    monkeypatch.setattr(_common.state, "home", None)
    yield
    dispose_engines()


@pytest.fixture
def workspace(tmp_path, monkeypatch) -> Workspace:
    root = tmp_path / "ws"
    create(root, company="Test Precision Co.", lang="en")
    monkeypatch.setenv("CSAT_HOME", str(root))
    opened = Workspace.open(root)
    open_store(opened)     # as a command sees it: the store's shared settings and signing secret laid over
    return opened


@pytest.fixture
def store(workspace):
    return open_store(workspace)


class Result:
    def __init__(self, result):
        self.exit_code = result.exit_code
        self.stdout = result.stdout
        self.stderr = result.stderr
        self.exception = result.exception

    def __repr__(self) -> str:
        return f"<Result exit={self.exit_code} stdout={self.stdout[-500:]!r} stderr={self.stderr[-500:]!r}>"


@pytest.fixture
def cli():
    """Run csat with arguments; returns exit code, stdout and stderr."""
    runner = CliRunner()

    def run(*args: str, input: str | None = None, env: dict | None = None) -> Result:
        result = runner.invoke(app, [str(arg) for arg in args], input=input, env=env, catch_exceptions=True)
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        return Result(result)

    return run


@pytest.fixture
def customers_csv() -> Path:
    return EXAMPLES / "customers.csv"


def pytest_configure(config):
    os.environ.setdefault("COLUMNS", "200")
    if backend(config) not in BACKENDS:  # argparse checks choices on the command line, not the env default
        raise pytest.UsageError(f"{BACKEND_ENV}={backend(config)!r}: the backend is one of {', '.join(BACKENDS)}")

