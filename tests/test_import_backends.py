"""The same sheets land as the same rows on SQLite (executemany) and PostgreSQL (COPY).

Each hypothesis example imports consolidated sheets (several periods, blank and N/A
cells, choice labels, comments, then a corrected sheet with --replace) into a SQLite
store and a PostgreSQL store, and compares the response, answer and audit rows,
leaving out only what legitimately differs (ids, times).
"""

import itertools
from contextlib import contextmanager
import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from csat.importer.run import run_import
from import_fixtures import write_sheet_csv, write_sheet_xlsx
from tests.conftest import EXAMPLES

CODES = [f"C-{number:03d}" for number in range(1, 11)]
ITEMS = ["quality", "delivery", "packaging", "overall"]          # overall: a choice item (labels)
_years = itertools.count(2101)   # halves not ended yet: their rounds open open, so --replace may change them

score = st.one_of(
    st.integers(min_value=0, max_value=100),
    st.decimals(min_value=0, max_value=100, places=1, allow_nan=False).map(float),
    st.sampled_from(["N/A", "不适用"]),
    st.none(),
)
label = st.sampled_from(["Very satisfied", "满意", "Neutral", "N/A", None])
comment = st.sampled_from([None, "", "on time", "交货及时\n包装好", "a \"quoted\" note, with\ttab"])


@st.composite
def sheets(draw):
    year = next(_years)
    periods = [f"{year}H1", f"{year}H2"]
    keys = draw(st.lists(st.tuples(st.sampled_from(CODES), st.sampled_from(["", "Li Wei", "王芳"]),
                                   st.sampled_from(periods)), min_size=1, max_size=10, unique=True))
    rows = [[code, period, who, draw(score), draw(score), draw(score), draw(label), draw(comment)]
            for code, who, period in keys]
    replaced = draw(st.lists(st.sampled_from(range(len(rows))), unique=True, max_size=len(rows)))
    corrected = [[*rows[index][:3], draw(score), draw(score), draw(score), draw(label), draw(comment)]
                 for index in replaced]
    return periods, rows, corrected, draw(st.sampled_from(["csv", "xlsx"]))


def _workspace(root: Path, monkeypatch, url: str | None):
    from csat.config import Workspace
    from csat.workspace import create

    _using(monkeypatch, url)
    from csat.store.engine import open_store

    create(root, company="Test Precision Co.", lang="en")
    opened = Workspace.open(root)
    open_store(opened)     # its shared settings and signing secret, as a command sees them
    return opened


def _using(monkeypatch, url: str | None) -> None:
    if url:
        monkeypatch.setenv("CSAT_DATABASE_URL", url)
    else:
        monkeypatch.delenv("CSAT_DATABASE_URL", raising=False)


def _rows(url: str, periods: list[str]) -> dict:
    """Responses, answers and audit entries of these periods, without ids and times."""
    from sqlalchemy import bindparam, text

    from csat.store.engine import engine_for

    periods_param = bindparam("periods", expanding=True)
    with engine_for(url).connect() as connection:
        responses = sorted(tuple("" if value is None else str(value) for value in row) for row in connection.execute(
            text("SELECT r.period, c.code, s.respondent, s.respondent_title, s.answered_on, s.comment, s.source, "
                 "s.source_file, s.content_hash, s.withdrawn_at, s.withdraw_reason FROM response s "
                 "JOIN survey_round r ON r.id = s.round_id JOIN customer c ON c.id = s.customer_id "
                 "WHERE r.period IN :periods").bindparams(periods_param), {"periods": periods}))
        answers = sorted(
            (row[0], row[1], row[2], row[3], row[4], bool(row[5]), row[6], row[7]) for row in connection.execute(
                text("SELECT r.period, c.code, s.respondent, i.code, a.score, a.not_applicable, a.raw, a.comment "
                     "FROM answer a JOIN response s ON s.id = a.response_id JOIN survey_round r ON r.id = s.round_id "
                     "JOIN customer c ON c.id = s.customer_id JOIN item i ON i.id = a.item_id "
                     "WHERE r.period IN :periods").bindparams(periods_param), {"periods": periods}))
        audit = []
        for table, action, key, changes in connection.execute(text(
                "SELECT table_name, action, record_key, changes FROM audit_log "
                "WHERE table_name = 'response' ORDER BY id")):
            parsed = json.loads(changes)
            parsed.get("new", {}).pop("ids", None)
            if any(period in key for period in periods) or any(
                    period in parsed.get("new", {}).get("periods", []) for period in periods):
                audit.append((table, action, key, json.dumps(parsed, sort_keys=True)))
        rounds = sorted(connection.execute(text(
            "SELECT period, status FROM survey_round WHERE period IN :periods").bindparams(periods_param),
            {"periods": periods}).all())
    return {"responses": responses, "answers": answers, "audit": sorted(audit), "rounds": [tuple(r) for r in rounds]}


@pytest.fixture
def two_stores(tmp_path, monkeypatch, postgres_url):
    """(sqlite workspace, its url, postgresql workspace, its url), each with customers and the example items."""
    from csat.registry import items
    from csat.store.engine import open_store
    from import_fixtures import import_customers

    stores = []
    for name, url in (("sqlite", None), ("postgresql", postgres_url)):
        opened = _workspace(tmp_path / name, monkeypatch, url)
        store = open_store(opened)
        with store.session() as session:
            items.load_template(session, items.read_template(EXAMPLES / "items.toml"), replace=True)
        import_customers(store, EXAMPLES / "customers.csv")
        stores.append((opened, opened.database_url))
    _using(monkeypatch, None)
    return stores


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sheet=sheets())
def test_same_rows_on_sqlite_and_postgres(two_stores, monkeypatch, sheet):
    periods, rows, corrected, kind = sheet
    header = ["customer", "period", "respondent", *ITEMS, "comment"]
    with tempfile.TemporaryDirectory() as folder:
        first = write_sheet_csv if kind == "csv" else write_sheet_xlsx
        sheet_path = first(Path(folder) / f"answers.{kind}", header, rows)
        fix_path = first(Path(folder) / f"fix.{kind}", header, corrected) if corrected else None
        results = []
        for workspace, url in two_stores:
            _using(monkeypatch, None if url.startswith("sqlite") else url)
            report = run_import(workspace, [sheet_path])
            assert report.ok, report.problems
            fixed = run_import(workspace, [fix_path], replace=True) if fix_path else None
            assert fixed is None or fixed.ok, fixed.problems
            results.append((report.record(), fixed.record() if fixed else None, _rows(url, periods)))
        _using(monkeypatch, None)
    (sqlite_first, sqlite_fix, sqlite_rows), (pg_first, pg_fix, pg_rows) = results
    assert sqlite_first == pg_first and sqlite_fix == pg_fix     # what the user is told
    assert sqlite_rows == pg_rows                                  # what is stored
    assert len(sqlite_rows["responses"]) == len(rows)


def test_failure_after_copy_rolls_back_everything_on_postgres(tmp_path, monkeypatch, cli, postgres_url):
    """COPY runs in the import's transaction: a failure after it leaves no response, answer, round or audit row."""
    from sqlalchemy import text

    import csat.importer.write as write
    from csat.store.engine import engine_for
    from import_fixtures import import_customers
    from csat.store.engine import open_store

    opened = _workspace(tmp_path / "pg", monkeypatch, postgres_url)
    monkeypatch.setenv("CSAT_HOME", str(opened.root))
    import_customers(open_store(opened), EXAMPLES / "customers.csv")
    seen = {}

    def fail_after_copy(connection, context, groups, sources=None):
        seen["answers"] = connection.exec_driver_sql("SELECT count(*) FROM answer").scalar()
        seen["audit"] = connection.exec_driver_sql("SELECT count(*) FROM audit_log WHERE table_name = 'response'"
                                                   ).scalar()
        raise RuntimeError("disk full (simulated)")

    monkeypatch.setattr(write, "_audit_new", fail_after_copy)
    with pytest.raises(RuntimeError, match="simulated"):
        run_import(opened, [EXAMPLES / "responses-2024H1.csv"], half="2024H1")
    assert seen["answers"] == 64                 # the answers were in, through COPY, when it failed
    with engine_for(postgres_url).connect() as connection:
        counts = {table: connection.execute(text(f"SELECT count(*) FROM {table}")).scalar()
                  for table in ("response", "answer", "survey_round")}
        audited = connection.execute(text(
            "SELECT count(*) FROM audit_log WHERE table_name IN ('response', 'survey_round')")).scalar()
    assert counts == {"response": 0, "answer": 0, "survey_round": 0} and audited == 0
    monkeypatch.undo()
    _using(monkeypatch, postgres_url)
    monkeypatch.setenv("CSAT_HOME", str(opened.root))
    listing = cli("survey", "list", "-f", "json")
    assert listing.exit_code == 0 and json.loads(listing.stdout) == []      # what a person sees: no round
    again = json.loads(cli("import", EXAMPLES / "responses-2024H1.csv", "--half", "2024H1", "-f", "json").stdout)
    assert (again["responses_new"], again["answers_stored"]) == (8, 64)     # and the import can simply be re-run


def test_copy_rows_raises_a_server_error_and_keeps_nothing(tmp_path, monkeypatch, postgres_url):
    """A row the server refuses inside the COPY stream fails the transaction (the queued writer hands the error back)."""
    import psycopg
    from sqlalchemy import text

    from csat.store.bulk import copy_rows
    from csat.store.engine import engine_for

    _workspace(tmp_path / "pg", monkeypatch, postgres_url)
    engine = engine_for(postgres_url)
    good = [("2024-01-01 00:00:00", "tester", "customer", None, "", "insert", "{}")] * 5000
    with pytest.raises(psycopg.errors.ForeignKeyViolation):
        with engine.begin() as connection:
            columns = ("at", "actor", "table_name", "record_id", "record_key", "action", "changes")
            assert copy_rows(connection, "audit_log", columns, good) == 5000
            copy_rows(connection, "answer", ("response_id", "item_id", "score", "not_applicable", "raw", "comment"),
                      [(999_999, 1, 80.0, False, "", "")])
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM audit_log WHERE actor = 'tester'")).scalar() == 0


def _fixed_sheet(folder: Path) -> tuple[list[str], Path]:
    """Two periods of every customer, two respondents each: N/A, blanks, choice labels and Chinese notes."""
    periods = ["2099H1", "2099H2"]
    rows = []
    for number, (code, period, who) in enumerate(itertools.product(CODES, periods, ["", "王芳"])):
        rows.append([code, period, who, 60 + number % 40, "N/A" if number % 3 == 0 else 70.5,
                     None if number % 4 == 0 else "不适用", ["Very satisfied", "满意", None][number % 3],
                     ["交货及时\n包装好", None, "a \"quoted\" note, with\ttab"][number % 3]])
    return periods, write_sheet_xlsx(folder / "answers.xlsx", ["customer", "period", "respondent", *ITEMS, "comment"],
                                     rows)


def _constraints(url: str, tables: tuple[str, ...] = ("response", "answer")) -> list[tuple]:
    from sqlalchemy import text

    from csat.store.engine import engine_for

    with engine_for(url).connect() as connection:
        return [row for table in tables for row in connection.execute(text(
            "SELECT conname, pg_get_constraintdef(oid), convalidated FROM pg_constraint "
            "WHERE conrelid = CAST(:table AS regclass) ORDER BY conname"), {"table": table})]


@pytest.fixture
def check_once(monkeypatch):
    """Every load takes the check-once path when it can; yields what each load of answers was told."""
    import csat.importer.write as write
    import csat.store.bulk as bulk

    monkeypatch.setattr(bulk, "CHECK_ONCE_MIN_ROWS", 1)
    told: list[bool] = []
    original = bulk.foreign_keys_checked_once

    @contextmanager
    def recording(connection, table, rows):
        with original(connection, table, rows) as once:
            told.append(once)
            yield once

    monkeypatch.setattr(write, "foreign_keys_checked_once", recording)
    return told


def test_large_load_checks_foreign_keys_once_and_stores_the_same_rows(two_stores, monkeypatch, check_once, cli):
    """The PostgreSQL path for big sheets (answer keys checked once at the end, binary COPY) stores what SQLite does,
    and leaves the response and answer tables' constraints as the migrations made them."""
    pg_url = two_stores[1][1]
    constraints = _constraints(pg_url)
    assert {name for name, _, _ in constraints} >= {"response_customer_id_fkey", "response_round_id_fkey",
                                                     "answer_item_id_fkey", "answer_response_id_fkey"}
    with tempfile.TemporaryDirectory() as folder:
        periods, sheet = _fixed_sheet(Path(folder))
        records, reports = [], []
        for workspace, url in two_stores:
            _using(monkeypatch, None if url.startswith("sqlite") else url)
            result = run_import(workspace, [sheet])
            assert result.ok, result.problems
            records.append((result.record(), _rows(url, periods)))
            monkeypatch.setenv("CSAT_HOME", str(workspace.root))
            shown = cli("report", "--half", periods[0], "-f", "json")
            assert shown.exit_code == 0, shown
            reports.append(json.loads(shown.stdout)["items"])
        _using(monkeypatch, None)
    assert check_once == [False, False, True, True]    # SQLite's bulk session skips the checks; PostgreSQL: responses, answers
    assert records[0] == records[1] and len(records[1][1]["answers"]) == 40 * len(ITEMS)
    assert reports[0] == reports[1]                              # what the quality manager reads
    assert _constraints(pg_url) == constraints                  # same names, definitions, and validated


def test_check_once_refuses_a_row_that_refers_to_nothing(tmp_path, monkeypatch, postgres_url):
    """Checked once or row by row, an answer of no response fails the transaction; the constraints stay."""
    import psycopg
    from sqlalchemy import text

    import csat.store.bulk as bulk
    from csat.store.engine import engine_for

    _workspace(tmp_path / "pg", monkeypatch, postgres_url)
    monkeypatch.setattr(bulk, "CHECK_ONCE_MIN_ROWS", 1)
    constraints = _constraints(postgres_url)
    engine = engine_for(postgres_url)
    with pytest.raises(psycopg.errors.ForeignKeyViolation):
        with engine.begin() as connection:
            with bulk.foreign_keys_checked_once(connection, "answer", 1) as once:
                assert once
                bulk.copy_rows(connection, "answer", ("response_id", "item_id", "score", "not_applicable", "raw",
                                                      "comment"), [(999_999, 1, 80.0, False, "", "")])
                assert connection.execute(text("SELECT count(*) FROM answer")).scalar() == 1   # not checked yet
    assert _constraints(postgres_url) == constraints
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM answer")).scalar() == 0


def test_check_once_gives_way_to_a_reader_and_checks_row_by_row(tmp_path, monkeypatch, postgres_url, check_once,
                                                                cli):
    """A session reading the tables (a report, pgAdmin left open) is not waited for: the import asks for its lock
    with NOWAIT, checks row by row instead, and stores everything."""
    from sqlalchemy import text

    from csat.registry import items
    from csat.store.engine import dispose_engines, engine_for, open_store
    from import_fixtures import import_customers

    workspace = _workspace(tmp_path / "pg", monkeypatch, postgres_url)
    store = open_store(workspace)
    with store.session() as session:
        items.load_template(session, items.read_template(EXAMPLES / "items.toml"), replace=True)
    import_customers(store, EXAMPLES / "customers.csv")
    monkeypatch.setenv("PGOPTIONS", "-c lock_timeout=10s")       # a wait for the reader fails instead of hanging
    dispose_engines()
    reader = engine_for(postgres_url).connect()
    try:
        reader.execute(text("SELECT count(*) FROM customer, item"))   # holds ACCESS SHARE on both until it ends
        result = run_import(workspace, [_fixed_sheet(tmp_path)[1]])
        assert result.ok and result.answers_stored == 40 * len(ITEMS)
    finally:
        reader.close()
    assert check_once == [False, False]
    monkeypatch.setenv("CSAT_HOME", str(workspace.root))
    shown = json.loads(cli("report", "--half", "2099H1", "-f", "json").stdout)
    assert {item["code"]: item["n"] for item in shown["items"]}["quality"] == 20     # 10 customers, 2 respondents


def test_binary_copy_writes_text_in_the_client_encoding(two_stores, monkeypatch):
    """Binary COPY text goes in the connection's client encoding: a GB18030 client stores the same Chinese."""
    from csat.store.engine import dispose_engines, engine_for

    pg_url = two_stores[1][1]
    monkeypatch.setenv("PGCLIENTENCODING", "GB18030")
    dispose_engines()
    with tempfile.TemporaryDirectory() as folder:
        periods, sheet = _fixed_sheet(Path(folder))
        rows = []
        for workspace, url in two_stores:
            _using(monkeypatch, None if url.startswith("sqlite") else url)
            assert run_import(workspace, [sheet]).ok
            rows.append(_rows(url, periods)["answers"])
        _using(monkeypatch, None)
    assert rows[0] == rows[1]
    assert ("2099H1", "C-001", "王芳", "packaging", None, True, "不适用", "") in rows[1]
    with engine_for(pg_url).connect() as connection:
        assert connection.connection.driver_connection.info.encoding == "gb18030"    # the case this test is about


@pytest.mark.sqlite_only("SQLite's page cache and foreign-key pragmas of a bulk session")
def test_a_bulk_session_settings_end_with_it(workspace, store):
    """The import's bulk session runs with a larger page cache and without per-row foreign key checks;
    the pooled connection goes back to the next session with SQLite's defaults."""
    from csat.store.engine import BULK_CACHE_KIB, DEFAULT_CACHE_KIB

    with store.session(bulk=True) as session:
        database = session.connection().connection.dbapi_connection
        assert database.execute("PRAGMA cache_size").fetchone()[0] == -BULK_CACHE_KIB
        assert database.execute("PRAGMA foreign_keys").fetchone()[0] == 0
    with store.session() as session:
        database = session.connection().connection.dbapi_connection
        assert database.execute("PRAGMA cache_size").fetchone()[0] == -DEFAULT_CACHE_KIB
        assert database.execute("PRAGMA foreign_keys").fetchone()[0] == 1
