import json

import pytest

from csat.demo import run_demo


@pytest.fixture(autouse=True)
def own_store(monkeypatch):
    """The demo builds its own SQLite store whatever the backend of the test session (it refuses a shared one)."""
    monkeypatch.delenv("CSAT_DATABASE_URL", raising=False)


def test_demo_runs_the_whole_loop(tmp_path, cli):
    lines: list[str] = []
    root = run_demo(tmp_path / "demo", progress=lines.append)
    text = "\n".join(lines)
    assert "Imported 10 customers" in text
    assert "Sent the 2024H1 survey to 9 customers" in text and "C-006 to reach by phone or fax" in text
    assert "Imported 8 returned surveys" in text
    assert "Logged 18 customer feedback entries" in text
    assert "opened CAPA-" in text
    assert len(list((root / "outbox").glob("*.eml"))) == 9
    capas = json.loads(cli("--home", root, "capa", "list", "--format", "json").stdout)
    assert [capa["source"] for capa in capas] == ["item:2024H1/delivery", "item:2024H1/price"]


def test_demo_command_ends_with_the_report(tmp_path, cli):
    result = cli("demo", tmp_path / "demo-cli", "--lang", "zh")
    assert result.exit_code == 0, result
    assert result.stdout.startswith("2024H1 顾客满意度调查统计分析 · 华南精密制造有限公司")
    assert "华南精密制造有限公司" in result.stderr


def test_demo_goes_where_home_names_and_never_into_csat_home(tmp_path, cli, monkeypatch):
    """`csat --home DIR demo` builds the demo in DIR, as `csat --home DIR init` does; CSAT_HOME (the user's
    own workspace) is never the demo's folder, and two different folders at once are refused."""
    import tempfile

    made = cli("--home", tmp_path / "by-home", "demo")
    assert made.exit_code == 0, made
    assert len(list((tmp_path / "by-home" / "outbox").glob("*.eml"))) == 9
    capas = json.loads(cli("--home", tmp_path / "by-home", "capa", "list", "--format", "json").stdout)
    assert len(capas) == 2

    both = cli("--home", tmp_path / "one", "demo", tmp_path / "other")
    assert both.exit_code != 0
    assert "two different workspaces" in both.stderr
    assert not (tmp_path / "one").exists() and not (tmp_path / "other").exists()

    assert cli("init", tmp_path / "mine").exit_code == 0
    monkeypatch.setenv("CSAT_HOME", str(tmp_path / "mine"))
    (tmp_path / "temporary").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "temporary"))
    elsewhere = cli("demo")
    assert elsewhere.exit_code == 0, elsewhere
    assert not list((tmp_path / "mine" / "outbox").glob("*.eml"))
    assert json.loads(cli("capa", "list", "--format", "json").stdout) == []   # CSAT_HOME: still the user's own
    [demo] = (tmp_path / "temporary").glob("csat-demo-*")
    assert len(list((demo / "outbox").glob("*.eml"))) == 9


def test_demo_refuses_a_store_named_by_csat_database_url(tmp_path, cli, monkeypatch):
    """With CSAT_DATABASE_URL in the shell every workspace uses that store: the demo would put its sample
    customers and CAPAs into a company's records. It refuses, saying how to run it, and makes nothing."""
    monkeypatch.setenv("CSAT_DATABASE_URL", "postgresql://quality@127.0.0.1:1/records")
    result = cli("demo", tmp_path / "demo")
    assert result.exit_code == 1
    assert "CSAT_DATABASE_URL is set in this shell" in result.stderr
    assert "env -u CSAT_DATABASE_URL csat demo" in result.stderr
    assert not (tmp_path / "demo").exists()
