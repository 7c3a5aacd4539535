"""Shared fixtures: every test gets its own workspace on a real SQLite file.

`workspace` creates a workspace in tmp_path through the same code as
`csat init` and points CSAT_HOME at it; `store` opens it; `cli` runs the real
command line in-process and returns the result (exit code, stdout, stderr).
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

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture(autouse=True)
def isolated_environment(monkeypatch, tmp_path):
    """No test sees the developer's workspace, database URL, secret or SMTP password."""
    for name in ("CSAT_HOME", "CSAT_DATABASE_URL", "CSAT_SECRET", "CSAT_SMTP_PASSWORD", "CSAT_ACTOR"):
        monkeypatch.delenv(name, raising=False)
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
    return Workspace.open(root)


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
