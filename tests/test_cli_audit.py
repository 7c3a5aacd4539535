"""`csat audit list`: by date range, by a record's plain number, and who is recorded (CSAT_ACTOR)."""

import json
from datetime import datetime

from sqlalchemy import update

from tests.conftest import EXAMPLES


def trail(cli, *options) -> list[dict]:
    result = cli("audit", "list", "--limit", "1000", "--format", "json", *options)
    assert result.exit_code == 0, result
    return json.loads(result.stdout)


def _stamp(store, table: str, key: str, moment: str) -> None:
    """Date the audit entries of one record (the test cannot wait for July to come round)."""
    from csat.store.models import AuditLog

    with store.session() as session:
        session.connection().execute(
            update(AuditLog.__table__).where(AuditLog.table_name == table, AuditLog.record_key == key)
            .values(at=datetime.fromisoformat(moment)))


def test_since_and_until_take_whole_days_or_times(workspace, store, cli):
    """Issue #16.9: what changed in July, for the management review or an auditor."""
    assert cli("customer", "import", EXAMPLES / "customers.csv").exit_code == 0
    assert cli("feedback", "add", "C-003", "--kind", "quality", "--channel", "phone", "--text", "Cracked housing",
               "--received", "2024-07-01 08:00").exit_code == 0
    opened = cli("capa", "open", "--from-feedback", "1", "--due", "2999-12-31")
    assert opened.exit_code == 0, opened
    number = opened.stdout.strip()
    assert cli("customer", "edit", "C-004", "--contact", "Anna Becker").exit_code == 0
    _stamp(store, "customer", "C-003", "2024-06-30 23:59:59")
    _stamp(store, "feedback", "#1", "2024-07-01 00:00:00")
    _stamp(store, "capa", number, "2024-07-31 18:00:00")
    _stamp(store, "customer", "C-004", "2024-08-01 00:00:00")
    july = trail(cli, "--since", "2024-07-01", "--until", "2024-07-31")
    assert {(entry["table"], entry["key"]) for entry in july} == {("feedback", "#1"), ("capa", number)}
    morning = trail(cli, "--since", "2024-07-01", "--until", "2024-07-31 12:00")
    assert {entry["table"] for entry in morning} == {"feedback"}
    assert {entry["key"] for entry in trail(cli, "--since", "2024-08-01T00:00", "--until", "2024-12-31", "--table", "customer")} == {"C-004"}
    assert {entry["key"] for entry in trail(cli, "--until", "2024-06-30", "--table", "customer", "--key", "C-003")} == {"C-003"}
    table = cli("audit", "list", "--since", "2024-07-01", "--until", "2024-07-31")
    assert "2024-07-31 18:00:00" in table.stdout and "2024-08-01" not in table.stdout
    bad = cli("audit", "list", "--since", "1 July")
    assert bad.exit_code == 2 and "'1 July' is not a date or time" in bad.stderr
    backwards = cli("audit", "list", "--since", "2024-08-01", "--until", "2024-07-01")
    assert backwards.exit_code == 2 and "is after --until" in backwards.stderr


def test_key_finds_feedback_by_its_plain_number(workspace, store, cli):
    assert cli("customer", "import", EXAMPLES / "customers.csv").exit_code == 0
    assert cli("feedback", "import", EXAMPLES / "feedback-log.csv").exit_code == 0
    assert cli("feedback", "reply", "7", "--text", "Called back").exit_code == 0
    plain = trail(cli, "--table", "feedback", "--key", "7")
    assert plain and plain == trail(cli, "--table", "feedback", "--key", "#7")
    assert {entry["key"] for entry in plain} == {"#7"} and plain[0]["action"] == "reply"
    opened = cli("capa", "open", "--from-feedback", "7", "--due", "2999-12-31")
    number = opened.stdout.strip()
    by_number = trail(cli, "--key", number)
    assert by_number and {(entry["table"], entry["key"]) for entry in by_number} == {("capa", number)}


def test_csat_actor_names_who_acted_on_a_shared_login(workspace, cli):
    """The README's example: the OS login is a shared account, CSAT_ACTOR says who it was."""
    assert cli("customer", "import", EXAMPLES / "customers.csv").exit_code == 0
    added = cli("feedback", "add", "C-003", "--kind", "quality", "--channel", "phone", "--text", "Cracked housing",
                env={"CSAT_ACTOR": "Li Wei"})
    assert added.exit_code == 0, added
    entry = trail(cli, "--table", "feedback", "--key", "1")[0]
    assert entry["actor"] == "Li Wei" and entry["action"] == "insert"
    assert "Li Wei" in cli("audit", "list", "--table", "feedback", "--key", "#1").stdout
