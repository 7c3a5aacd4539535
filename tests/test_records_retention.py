"""Record retention (issue #14): `csat records check` and `csat records purge`, on SQLite and PostgreSQL.

The old records are from 2015 and the young ones from 2024 and later; `check` is judged at a fixed
--today, and a purge refusal is built from today's date when the test runs, so every date passes.
"""

from __future__ import annotations

import json
from datetime import date

import sqlalchemy as sa

from tests.conftest import EXAMPLES


def _sheet(path, rows):
    from import_fixtures import write_sheet_csv

    return write_sheet_csv(path, ["customer", "respondent", "quality", "delivery"], rows)


def _old_and_young(cli, store, tmp_path) -> dict:
    """2015H1 (old) and 2024H1 rounds; feedback #1 (old, its CAPA closed in 2015), #2 (old, its CAPA open),
    #3 (2024); returns the CAPA numbers."""
    assert cli("customer", "import", EXAMPLES / "customers.csv").exit_code == 0
    for period in ("2015H1", "2024H1"):
        sheet = _sheet(tmp_path / f"{period}.csv", [["C-001", "Buyer", 80, 90], ["C-002", "Buyer", 70, 60]])
        assert cli("import", sheet, "--half", period).exit_code == 0
    for received in ("2015-03-01 08:00", "2015-04-01 08:00", "2024-07-01 08:00"):
        added = cli("feedback", "add", "C-003", "--kind", "quality", "--channel", "phone", "--text", "Cracked",
                    "--received", received)
        assert added.exit_code == 0, added
    closed = cli("capa", "open", "--from-feedback", "1", "--due", "2999-12-31").stdout.strip()
    kept = cli("capa", "open", "--from-feedback", "2", "--due", "2999-12-31").stdout.strip()
    assert cli("capa", "update", closed, "--cause", "Mould worn", "--action", "New mould").exit_code == 0
    assert cli("capa", "verify", closed, "--by", "Zhou Li", "--result", "effective").exit_code == 0
    assert cli("capa", "close", closed).exit_code == 0
    with store.engine.begin() as connection:   # closed in 2015 (the test cannot wait eleven years)
        connection.execute(sa.text("UPDATE capa SET closed_at = :at WHERE number = :number"),
                           {"at": "2015-05-01 10:00:00", "number": closed})
    return {"closed": closed, "open": kept}


def _count(store, table: str) -> int:
    with store.engine.connect() as connection:
        return connection.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar()


def test_check_lists_what_is_older_than_keep_years(workspace, store, cli, tmp_path):
    capas = _old_and_young(cli, store, tmp_path)
    result = cli("records", "check", "--today", "2026-12-01", "--format", "json")
    assert result.exit_code == 0, result
    found = json.loads(result.stdout)
    assert (found["keep_years"], found["before"], found["today"]) == (3, "2023-12-01", "2026-12-01")
    listed = {(row["kind"], row["key"]): row for row in found["records"]}
    assert set(listed) == {("round", "2015H1"), ("feedback", "#1"), ("feedback", "#2"), ("capa", capas["closed"])}
    assert (listed[("round", "2015H1")]["responses"], listed[("round", "2015H1")]["answers"]) == (2, 4)
    assert listed[("round", "2015H1")]["date"] == "2015-06-30"
    assert listed[("feedback", "#2")]["purge"] is False and listed[("feedback", "#2")]["kept_for"] == capas["open"]
    assert listed[("capa", capas["closed"])]["date"] == "2015-05-01"
    assert found["counts"] == {"rounds": 1, "feedback": 1, "capas": 1, "invitations": 0, "responses": 2,
                               "answers": 4, "kept": 1}
    table = cli("records", "check", "--today", "2026-12-01")
    assert "Survey round" in table.stdout and capas["open"] in table.stdout
    assert "Older than 3 years (before 2023-12-01)" in table.stderr
    # Judged in 2030, 2024H1 is old too; the open CAPA never is.
    later = json.loads(cli("records", "check", "--today", "2030-01-01", "--format", "json").stdout)
    assert ("round", "2024H1") in {(row["kind"], row["key"]) for row in later["records"]}
    assert capas["open"] not in {row["key"] for row in later["records"]}
    assert cli("records", "check", "--today", "1 July").exit_code == 2


def test_purge_is_a_dry_run_without_yes_and_needs_a_reason(workspace, store, cli, tmp_path):
    _old_and_young(cli, store, tmp_path)
    entries = _count(store, "audit_log")
    dry = cli("records", "purge", "--before", "2016-01-01")
    assert dry.exit_code == 0, dry
    assert "2015H1" in dry.stdout and "Dry run, nothing deleted" in dry.stderr
    assert "2015H1" in cli("survey", "list").stdout and _count(store, "audit_log") == entries
    unreasoned = cli("records", "purge", "--before", "2016-01-01", "--yes")
    assert unreasoned.exit_code == 2 and "needs a reason: add --reason TEXT" in unreasoned.stderr
    assert _count(store, "survey_round") == 2


def test_a_date_inside_keep_years_is_refused(workspace, store, cli, tmp_path):
    _old_and_young(cli, store, tmp_path)
    today = date.today()
    young = cli("records", "purge", "--before", today.isoformat(), "--yes", "--reason", "tidy")
    assert young.exit_code == 1
    assert "would purge records younger than records.keep_years (3 years)" in young.stderr
    # A longer keep_years moves the line: 2016-01-01 is then inside it.
    assert cli("config", "set", "records.keep_years", str(today.year - 2015 + 1)).exit_code == 0
    assert cli("records", "purge", "--before", "2016-01-01").exit_code == 1
    refused = cli("config", "set", "records.keep_years", "0")
    assert refused.exit_code == 1 and "records.keep_years" in refused.stderr
    assert _count(store, "survey_round") == 2 and _count(store, "feedback") == 3


def test_purge_removes_the_records_and_what_hangs_on_them_in_one_audit_entry(workspace, store, cli, tmp_path):
    capas = _old_and_young(cli, store, tmp_path)
    entries = _count(store, "audit_log")
    done = cli("records", "purge", "--before", "2016-01-01", "--yes", "--reason", "record control: kept 3 years",
               "--format", "json")
    assert done.exit_code == 0, done
    assert json.loads(done.stdout)["counts"] == {"rounds": 1, "feedback": 1, "capas": 1, "invitations": 0,
                                                 "responses": 2, "answers": 4, "kept": 1}
    assert "Purged survey rounds 1 (responses 2, answers 4), feedback entries 1, closed CAPAs 1" in done.stderr
    # What a person sees afterwards: the round, the entry and the CAPA are gone, the rest is as it was.
    rounds = json.loads(cli("survey", "list", "--format", "json").stdout)
    assert [row["period"] for row in rounds] == ["2024H1"]
    report = cli("report", "--half", "2015H1")
    assert report.exit_code == 1 and "no survey round for 2015H1" in report.stderr
    assert json.loads(cli("report", "--half", "2024H1", "--format", "json").stdout)["responses"] == 2
    feedback = json.loads(cli("feedback", "list", "--format", "json").stdout)
    assert sorted(entry["id"] for entry in feedback) == [2, 3]
    numbers = {row["number"] for row in json.loads(cli("capa", "list", "--format", "json").stdout)}
    assert numbers == {capas["open"]}
    assert _count(store, "capa_verification") == 0 and _count(store, "answer") == 4
    # One audit entry says what went, and the chain still verifies.
    assert _count(store, "audit_log") == entries + 1
    trail = json.loads(cli("audit", "list", "--table", "records", "--format", "json").stdout)
    assert len(trail) == 1 and trail[0]["action"] == "purge" and trail[0]["key"] == "before 2016-01-01"
    changes = trail[0]["changes"]
    assert changes["rounds"] == {"count": 1, "periods": ["2015H1"]}
    assert (changes["responses"], changes["answers"]) == (2, 4)
    assert changes["feedback"] == {"count": 1, "numbers": ["#1"]}
    assert changes["capas"] == {"count": 1, "numbers": [capas["closed"]]}
    assert changes["reason"] == "record control: kept 3 years" and changes["keep_years"] == 3
    # ... and reads as counts in the table people see, not as Python's dict text.
    shown = cli("audit", "list", "--table", "records").stdout
    assert "rounds: 1 (2015H1)" in shown and "capas: 1 (" in shown and "{" not in shown and "->" not in shown
    verified = cli("audit", "verify", "--format", "json")
    assert verified.exit_code == 0 and json.loads(verified.stdout)["checked"] == entries + 1
    # Nothing more to purge but the entry a kept CAPA needs.
    again = json.loads(cli("records", "purge", "--before", "2016-01-01", "--format", "json").stdout)
    assert again["counts"]["kept"] == 1 and again["counts"]["rounds"] == 0


def test_retention_speaks_chinese_in_a_chinese_workspace(workspace, store, cli, tmp_path, monkeypatch):
    _old_and_young(cli, store, tmp_path)
    monkeypatch.setenv("CSAT_LANG", "zh")
    check = cli("records", "check", "--today", "2026-12-01")
    assert check.exit_code == 0 and "调查轮次" in check.stdout and "超过 3 年（早于 2023-12-01）" in check.stderr
    dry = cli("records", "purge", "--before", "2016-01-01")
    assert dry.exit_code == 0 and "预演，未删除任何内容" in dry.stderr
    young = cli("records", "purge", "--before", date.today().isoformat())
    assert young.exit_code == 1 and "会清除未满 records.keep_years（3 年）的记录" in young.stderr
    done = cli("records", "purge", "--before", "2016-01-01", "--yes", "--reason", "记录控制程序：保存 3 年")
    assert done.exit_code == 0 and "已清除早于 2016-01-01 的" in done.stderr
    assert "已校验" in cli("audit", "verify").stdout
