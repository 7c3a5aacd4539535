"""Feedback, summary and CAPA on PostgreSQL: the same commands through a database URL."""

import json
from datetime import date

from feedback_fixtures import EXAMPLES, FEEDBACK_LOG


def test_feedback_and_capa_on_postgres(tmp_path, monkeypatch, cli, postgres_url):
    monkeypatch.setenv("CSAT_DATABASE_URL", postgres_url)
    assert cli("init", tmp_path / "ws").exit_code == 0
    monkeypatch.setenv("CSAT_HOME", str(tmp_path / "ws"))
    assert cli("customer", "import", EXAMPLES / "customers.csv").exit_code == 0
    assert "18 added" in cli("feedback", "import", FEEDBACK_LOG).stderr
    assert "18 unchanged" in cli("feedback", "import", FEEDBACK_LOG).stderr
    summary = json.loads(cli("feedback", "summary", "--quarter", "2024Q3", "--format", "json").stdout)
    assert (summary["total"], summary["complaints"], summary["previous_total"]) == (12, 8, 3)
    assert summary["overdue"] == [8, 13] and summary["special_attention"] == ["C-003"]
    assert [entry["id"] for entry in json.loads(cli("feedback", "list", "--open", "--format", "json").stdout)] == \
        [3, 5, 7, 8, 13, 15]
    numbers = [cli("capa", "open", "--from-feedback", str(entry)).stdout.strip() for entry in (13, 8, 13)]
    year = date.today().year
    assert numbers == [f"CAPA-{year}-001", f"CAPA-{year}-002", f"CAPA-{year}-001"]
    number = numbers[0]
    assert cli("capa", "update", number, "--cause", "Worn insert", "--action", "Shot counter").exit_code == 0
    assert cli("capa", "close", number).exit_code == 1
    assert cli("capa", "verify", number, "--by", "Zhou Li", "--result", "effective").exit_code == 0
    assert cli("capa", "close", number).exit_code == 0
    listed = json.loads(cli("capa", "list", "--format", "json").stdout)
    assert [(record["number"], record["status"]) for record in listed] == [(number, "closed"), (numbers[1], "open")]
    assert cli("capa", "form", number, "-o", tmp_path / "form.xlsx").exit_code == 0
