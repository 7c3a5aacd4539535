"""A database URL csat cannot use is one line on stderr with the password hidden, never a traceback."""

import pytest

from csat.errors import ConfigError
from csat.store.engine import check_url


@pytest.mark.parametrize("url, message", [
    ("postgresql+psycopg://quality:p@ss:w/rd%@db.example:5432/csat",
     "database URL postgresql+psycopg://quality:***@db.example:5432/csat cannot be read; special characters in "
     "the password must be percent-encoded (@ as %40, : as %3A, / as %2F, % as %25)"),
    ("mysql://quality:s3cret@db.example/csat",
     "database URL mysql://quality:***@db.example/csat: csat runs on SQLite (sqlite:///csat.db) or PostgreSQL "
     "(postgresql+psycopg://user@host:5432/csat)"),
    ("postgresql+psycopg2://quality:s3cret@db.example/csat",
     "database URL postgresql+psycopg2://quality:***@db.example/csat: csat talks to PostgreSQL through psycopg 3; "
     "write postgresql+psycopg://..."),
])
def test_unusable_urls_are_one_line_without_the_password(url, message):
    with pytest.raises(ConfigError) as caught:
        check_url(url)
    assert str(caught.value) == message
    assert "s3cret" not in str(caught.value) and "w/rd" not in str(caught.value)


def test_percent_encoded_passwords_and_sqlite_files_are_accepted():
    check_url("postgresql+psycopg://quality:p%40ss%3Aw%2Frd%25@db.example:5432/csat")
    check_url("sqlite:////srv/quality/csat.db")


def test_the_command_line_says_it_in_one_line(workspace, cli, monkeypatch):
    monkeypatch.setenv("CSAT_DATABASE_URL", "postgresql+psycopg://quality:p@ss:w/rd%@db.example:5432/csat")
    result = cli("db", "status")
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr and "w/rd" not in result.stderr
    assert "percent-encoded" in result.stderr
