"""Issue #18 item 5: files follow the umask, csat.toml with a password is 0600, a chmod survives.

The commands run as a person runs them: `csat` in a subprocess whose umask the shell set,
so nothing here depends on the umask of the test runner.
"""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES


def csat_under_umask(umask: str, folder: Path, *commands: list[str]) -> list[subprocess.CompletedProcess]:
    """Run each csat command in turn in a fresh process started with `umask UMASK`."""
    results = []
    env = {**os.environ, "CSAT_HOME": str(folder / "ws")}
    for command in commands:
        script = f"umask {umask}; exec \"$@\""
        result = subprocess.run(["sh", "-c", script, "sh", sys.executable, "-m", "csat", *command],
                                cwd=folder, env=env, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, (command, result.stderr)
        results.append(result)
    return results


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize(("umask", "expected"), [("077", 0o600), ("022", 0o644)])
def test_written_files_follow_the_umask(tmp_path, umask, expected, store_backend):
    ws = tmp_path / "ws"
    csat_under_umask(
        umask, tmp_path,
        ["init", str(ws), "--company", "Umask Co."],
        ["customer", "import", str(EXAMPLES / "customers.csv")],
        ["survey", "send", "--half", "2024H1"],
        ["survey", "form", "C-006", "--half", "2024H1", "-o", "C-006.xlsx"],
        ["report", "--half", "2024H1", "--format", "html", "-o", "report.html"],
        ["config", "set", "remind.staff", "qa@example.com"],
    )
    written = {"csat.toml": ws / "csat.toml", "form": tmp_path / "C-006.xlsx", "report": tmp_path / "report.html"}
    written |= {f"outbox {path.name}": path for path in sorted((ws / "outbox").glob("*.eml"))[:2]}
    assert len(written) == 5
    assert {name: oct(mode(path)) for name, path in written.items()} == {name: oct(expected) for name in written}
    assert not (ws / ".csat-secret").exists()     # the signing key lives in the store (#18), not in a file here
    if store_backend == "sqlite":
        csat_under_umask(umask, tmp_path, ["db", "backup", "backups/copy.db"])
        assert mode(tmp_path / "backups" / "copy.db") == expected
        assert mode(ws / "csat.db") == expected


def test_config_set_keeps_a_stricter_mode(tmp_path):
    """`chmod 600 csat.toml` then `config set` under umask 022: it stays 600 (it was reset to 644)."""
    ws = tmp_path / "ws"
    csat_under_umask("022", tmp_path, ["init", str(ws)])
    assert mode(ws / "csat.toml") == 0o644
    os.chmod(ws / "csat.toml", 0o600)
    csat_under_umask("022", tmp_path, ["config", "set", "mail.timeout", "20"])   # a per-machine key: csat.toml
    assert mode(ws / "csat.toml") == 0o600
    assert "timeout = 20" in (ws / "csat.toml").read_text()
    os.chmod(ws / "csat.toml", 0o640)            # group-readable on purpose: kept as the user set it
    csat_under_umask("077", tmp_path, ["config", "set", "mail.timeout", "25"])
    assert mode(ws / "csat.toml") == 0o640


def test_a_password_in_the_url_makes_the_config_private_and_is_never_shown(tmp_path, monkeypatch):
    ws = tmp_path / "ws"
    monkeypatch.delenv("CSAT_DATABASE_URL", raising=False)
    url = "postgresql+psycopg://csat:s3cr%40t%3Aword@db.example:5432/csat"
    _init, set_url, shown, got = csat_under_umask(
        "022", tmp_path,
        ["init", str(ws)],
        ["config", "set", "store.url", url],
        ["config", "show"],
        ["config", "get", "store.url"],
    )
    assert mode(ws / "csat.toml") == 0o600
    assert url in (ws / "csat.toml").read_text()
    for output in (set_url.stdout + set_url.stderr, shown.stdout + shown.stderr, got.stdout + got.stderr):
        assert "s3cr" not in output
    assert 'url = "postgresql+psycopg://csat:***@db.example:5432/csat"' in shown.stdout
    assert got.stdout.strip() == "postgresql+psycopg://csat:***@db.example:5432/csat"
    assert "store.url = postgresql+psycopg://csat:***@db.example:5432/csat" in set_url.stderr


def test_doctor_warns_about_a_password_others_can_read(workspace, cli, monkeypatch):
    """A password put into csat.toml by hand keeps the file's mode: doctor says so."""
    monkeypatch.delenv("CSAT_DATABASE_URL", raising=False)
    text = re.sub(r'^url = ".*"$', 'url = "postgresql+psycopg://csat:hunter2@127.0.0.1:1/csat"',
                  workspace.config_path.read_text(), flags=re.M)
    workspace.config_path.write_text(text)
    workspace.config_path.chmod(0o644)
    result = cli("doctor")
    assert (f"warn workspace    {workspace.config_path} holds the database password and is readable by others "
            f"(mode 644); run `chmod 600 {workspace.config_path}`") in result.stderr, result
    assert "hunter2" not in result.stderr + result.stdout
    workspace.config_path.chmod(0o600)
    assert f"ok   workspace    {workspace.config_path}" in cli("doctor").stderr


def test_doctor_names_an_unset_password_variable_and_runs_the_other_checks(workspace, cli, monkeypatch):
    monkeypatch.delenv("CSAT_DATABASE_URL", raising=False)
    assert cli("config", "set", "store.url", "postgresql+psycopg://csat@127.0.0.1:1/csat").exit_code == 0
    assert cli("config", "set", "store.password_env", "CSAT_DB_PASSWORD").exit_code == 0
    result = cli("doctor")
    assert result.exit_code == 1
    assert ("fail store        store.password_env names CSAT_DB_PASSWORD, which is not set in the environment"
            in result.stderr), result
    assert "secret" in result.stderr and "ok   mail" in result.stderr   # the checks after the store still run
