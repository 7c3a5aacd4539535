"""`csat doctor` on a real PostgreSQL server: version, latency, schema revision, CREATE privilege."""

import uuid

import psycopg
from smtp_fixtures import closed_port

from csat.store.migrations import HEAD


def _plain(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def _lines(result) -> dict[str, str]:
    """check name -> 'status detail', from doctor's stderr."""
    lines = {}
    for line in result.stderr.splitlines():
        words = line.split(None, 2)
        if len(words) == 3 and words[0] in ("ok", "warn", "fail"):
            lines[words[1]] = f"{words[0]} {words[2]}"
    return lines


def test_doctor_reports_server_latency_schema_and_privileges(tmp_path, monkeypatch, cli, postgres_url):
    monkeypatch.setenv("CSAT_DATABASE_URL", postgres_url)
    assert cli("init", tmp_path / "ws").exit_code == 0
    monkeypatch.setenv("CSAT_HOME", str(tmp_path / "ws"))
    with psycopg.connect(_plain(postgres_url)) as connection:
        version = connection.execute("SHOW server_version").fetchone()[0]
    result = cli("doctor")
    assert result.exit_code == 0, result
    lines = _lines(result)
    assert lines["store"].startswith(f"ok PostgreSQL {version} at postgresql+psycopg://postgres@127.0.0.1:")
    assert lines["latency"].startswith("ok ") and "ms per round trip (median of 5 SELECT 1)" in lines["latency"]
    assert lines["schema"] == f"ok revision {HEAD}, the one this csat expects"
    assert lines["privileges"] == "ok role postgres may create tables in schema public (`csat db upgrade` needs it)"


def test_doctor_warns_when_the_role_may_not_create_tables(tmp_path, monkeypatch, cli, postgres_url):
    monkeypatch.setenv("CSAT_DATABASE_URL", postgres_url)
    assert cli("init", tmp_path / "ws").exit_code == 0
    role = f"clerk_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(_plain(postgres_url), autocommit=True) as connection:
        connection.execute(f"CREATE ROLE {role} LOGIN")
        connection.execute(f"GRANT USAGE ON SCHEMA public TO {role}")
        connection.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}")
    monkeypatch.setenv("CSAT_DATABASE_URL", postgres_url.replace("//postgres@", f"//{role}@"))
    monkeypatch.setenv("CSAT_HOME", str(tmp_path / "ws"))
    result = cli("doctor")
    assert result.exit_code == 0, result                   # daily work does not need CREATE: a warning
    assert _lines(result)["privileges"] == (
        f"warn role {role} may not create tables in schema public: `csat db upgrade` will fail; run it as the "
        f"database owner, or GRANT CREATE ON SCHEMA public TO {role}")
    assert _lines(result)["schema"].startswith("ok revision")


def test_doctor_fails_on_an_older_or_missing_schema(tmp_path, monkeypatch, cli, postgres_url):
    monkeypatch.setenv("CSAT_DATABASE_URL", postgres_url)
    assert cli("init", tmp_path / "ws").exit_code == 0
    monkeypatch.setenv("CSAT_HOME", str(tmp_path / "ws"))
    with psycopg.connect(_plain(postgres_url), autocommit=True) as connection:
        connection.execute("UPDATE alembic_version SET version_num = '0004'")
    result = cli("doctor")
    assert result.exit_code == 1
    assert _lines(result)["schema"] == f"fail revision 0004 is older than this csat's {HEAD}; run `csat db upgrade`"
    assert "check(s) failed: schema" in result.stderr
    with psycopg.connect(_plain(postgres_url), autocommit=True) as connection:
        connection.execute("DROP TABLE alembic_version")
    lines = _lines(cli("doctor"))
    assert lines["schema"].startswith("fail no csat schema in postgresql+psycopg://") and "csat db upgrade" in lines["schema"]
    assert lines["store"].startswith("ok PostgreSQL")


def test_doctor_fails_in_one_line_when_the_server_is_unreachable(tmp_path, monkeypatch, cli, postgres_url):
    assert cli("init", tmp_path / "ws").exit_code == 0
    monkeypatch.setenv("CSAT_HOME", str(tmp_path / "ws"))
    monkeypatch.setenv("CSAT_DATABASE_URL", f"postgresql+psycopg://csat:s3cret@127.0.0.1:{closed_port()}/csat")
    result = cli("doctor")
    assert result.exit_code == 1
    store = _lines(result)["store"]
    assert store.startswith("fail cannot connect to postgresql+psycopg://csat:***@127.0.0.1:")
    assert "s3cret" not in result.stderr and "Traceback" not in result.stderr
    assert [line for line in result.stderr.splitlines() if "Is the server running" in line] == [
        next(line for line in result.stderr.splitlines() if line.startswith("fail store"))]   # one line
    assert "latency" not in _lines(result)
