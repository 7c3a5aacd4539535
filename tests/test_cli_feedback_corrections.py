"""Correcting the feedback log: `feedback edit`, `feedback void`, backfilled `reply/close --at`.

Each test asks what a person sees afterwards: `feedback show`, `feedback list`, the quarterly
summary, the staff digest and `audit list`.
"""

import json
from datetime import date, timedelta

import pytest
from feedback_fixtures import EXAMPLES, FEEDBACK_LOG


@pytest.fixture
def loaded(workspace, cli):
    assert cli("customer", "import", EXAMPLES / "customers.csv").exit_code == 0
    return cli


def shown(cli, number) -> dict:
    result = cli("feedback", "show", str(number), "--format", "json")
    assert result.exit_code == 0, result
    return json.loads(result.stdout)


def trail(cli, number) -> list[dict]:
    return json.loads(cli("audit", "list", "--table", "feedback", "--key", f"#{number}", "--format", "json").stdout)


def add(cli, *options) -> None:
    result = cli("feedback", "add", "C-003", "--kind", "quality", "--channel", "phone", "--text", "Housing crackd",
                 "--received", "2024-07-01 09:00", *options)
    assert result.exit_code == 0, result


def test_edit_corrects_fields_and_audits_old_and_new(loaded):
    cli = loaded
    add(cli)
    result = cli("feedback", "edit", "1", "--text", "Housing cracked", "--kind", "服务", "--product", "HX-200",
                 "--customer", "C-010", "--received", "2024-07-01 08:30", "--dept", "工程部")
    assert result.exit_code == 0, result
    assert "#1 text: Housing crackd -> Housing cracked" in result.stderr
    assert "#1 kind: quality -> service" in result.stderr and "#1 customer: C-003 -> C-010" in result.stderr
    entry = shown(cli, 1)
    assert {key: entry[key] for key in ("text", "kind", "complaint", "product", "customer", "received", "dept")} == {
        "text": "Housing cracked", "kind": "service", "complaint": True, "product": "HX-200", "customer": "C-010",
        "received": "2024-07-01T08:30:00", "dept": "engineering"}
    edit = next(item for item in trail(cli, 1) if item["action"] == "edit")
    assert edit["changes"] == {"customer": ["C-003", "C-010"], "received": ["2024-07-01T09:00:00", "2024-07-01T08:30:00"],
                               "kind": ["quality", "service"], "text": ["Housing crackd", "Housing cracked"],
                               "product": ["", "HX-200"], "dept": ["", "engineering"]}
    same = cli("feedback", "edit", "1", "--text", "Housing cracked")
    assert same.exit_code == 0 and "nothing changed" in same.stderr
    assert cli("feedback", "edit", "1").exit_code == 2  # nothing to correct is a usage mistake


def test_edit_keeps_the_state_rules(loaded):
    cli = loaded
    cli("feedback", "add", "C-001", "--kind", "market", "--channel", "meeting", "--text", "Competitor at 4 weeks",
        "--received", "2024-07-01 09:00")
    assert cli("feedback", "close", "1", "--at", "2024-07-02 09:00").exit_code == 0  # information closes unanswered
    as_complaint = cli("feedback", "edit", "1", "--kind", "quality")
    assert as_complaint.exit_code == 1
    assert as_complaint.stderr.strip() == "Error: a complaint cannot be closed before it has a reply"
    after_close = cli("feedback", "edit", "1", "--received", "2024-07-03")
    assert after_close.exit_code == 1 and "the close time 2024-07-02 09:00 is before the entry was received" in after_close.stderr
    no_reply = cli("feedback", "edit", "1", "--replied", "2024-07-01 12:00")
    assert no_reply.exit_code == 1 and "has no reply to correct" in no_reply.stderr
    future = cli("feedback", "edit", "1", "--closed", (date.today() + timedelta(days=2)).isoformat())
    assert future.exit_code == 1 and "is in the future" in future.stderr
    assert cli("feedback", "edit", "1", "--text", "  ").exit_code == 1
    assert cli("feedback", "edit", "1", "--customer", "NOPE").stderr.startswith("Error: unknown customer 'NOPE'")
    entry = shown(cli, 1)
    assert (entry["kind"], entry["received"], entry["closed_at"], entry["text"]) == (
        "market", "2024-07-01T09:00:00", "2024-07-02T09:00:00", "Competitor at 4 weeks")
    assert [item["action"] for item in trail(cli, 1) if item["action"] == "edit"] == []


def test_backfilled_reply_and_close_keep_their_order_and_both_times(loaded):
    cli = loaded
    add(cli)
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    assert "in the future" in cli("feedback", "reply", "1", "--text", "x", "--at", tomorrow).stderr
    assert "before the entry was received" in cli("feedback", "reply", "1", "--text", "x", "--at", "2024-06-30").stderr
    assert cli("feedback", "reply", "1", "--text", "Replacement sent", "--at", "2024-07-02 10:00").exit_code == 0
    early = cli("feedback", "close", "1", "--at", "2024-07-02 09:00")
    assert early.exit_code == 1 and "the close time 2024-07-02 09:00 is before the reply (2024-07-02 10:00)" in early.stderr
    assert "in the future" in cli("feedback", "close", "1", "--at", tomorrow).stderr
    assert cli("feedback", "close", "1", "--at", "2024-07-09 16:00").stderr.startswith("Closed #1 (2024-07-09 16:00)")
    assert shown(cli, 1)["closed_at"] == "2024-07-09T16:00:00"
    close = next(item for item in trail(cli, 1) if item["action"] == "close")
    assert close["changes"]["at"] == "2024-07-09T16:00:00"
    assert close["changes"]["entered_at"][:10] == date.today().isoformat()
    assert cli("feedback", "close", "1", "--at", "09/07/2024").exit_code == 2


def test_void_keeps_the_entry_out_of_lists_summaries_and_reminders(loaded, workspace):
    cli = loaded
    assert cli("feedback", "import", FEEDBACK_LOG).exit_code == 0
    before = json.loads(cli("feedback", "summary", "--quarter", "2024Q3", "--format", "json").stdout)
    assert (before["total"], before["complaints"], before["overdue"]) == (12, 8, [8, 13])
    result = cli("feedback", "void", "13", "--reason", "Same visit request as #8, logged twice")
    assert result.exit_code == 0 and "Voided #13: Same visit request as #8, logged twice" in result.stderr

    assert 13 not in [entry["id"] for entry in json.loads(cli("feedback", "list", "--format", "json").stdout)]
    everything = json.loads(cli("feedback", "list", "--all", "--format", "json").stdout)
    assert [(entry["id"], entry["void"]) for entry in everything if entry["id"] in (8, 13)] == [(8, False), (13, True)]
    assert "(void)" in cli("feedback", "list", "--all", "--customer", "C-003").stdout
    show = cli("feedback", "show", "13")
    assert "Same visit request as #8, logged twice" in show.stdout
    assert "#13 is void since" in show.stderr and "counts in no summary or reminder" in show.stderr

    # The summary recorded before stays as made, says it is stale, and a refresh leaves #13 out.
    reprinted = cli("feedback", "summary", "--quarter", "2024Q3", "--format", "json")
    assert json.loads(reprinted.stdout) == before
    assert "This summary is stale" in reprinted.stderr and "(1: edited, replied, closed or voided)" in reprinted.stderr
    after = json.loads(cli("feedback", "summary", "--quarter", "2024Q3", "--refresh", "--format", "json").stdout)
    assert after["version"] == 2
    assert (after["total"], after["complaints"], after["overdue"]) == (11, 7, [8])
    assert 13 not in after["open"] and after["by_customer"]["C-003"] == 3
    q4 = json.loads(cli("feedback", "summary", "--quarter", "2024Q4", "--format", "json").stdout)
    assert q4["previous_total"] == 11

    from csat.store.engine import open_store
    from csat.survey.digest import complaint_lines

    with open_store(workspace).read_session() as session:
        texts = [line.text for line in complaint_lines(session, workspace.settings, date(2024, 10, 30))]
    assert any("complaint #8 " in text for text in texts) and not any("#13 " in text for text in texts)

    actions = [item["action"] for item in trail(cli, 13)]
    assert actions[0] == "void"
    assert trail(cli, 13)[0]["changes"]["reason"] == "Same visit request as #8, logged twice"
    again = cli("feedback", "void", "13", "--reason", "again")
    assert again.exit_code == 1 and "already void" in again.stderr
    for words in (["reply", "13", "--text", "x"], ["close", "13"], ["edit", "13", "--text", "y"]):
        refused = cli("feedback", *words)
        assert refused.exit_code == 1 and "is void (Same visit request as #8, logged twice)" in refused.stderr
    capa = cli("capa", "open", "--from-feedback", "13")
    assert capa.exit_code == 1 and "a void entry gets no CAPA" in capa.stderr
    assert json.loads(cli("capa", "list", "--format", "json").stdout) == []
    assert cli("feedback", "void", "8").exit_code == 2  # --reason is required
    assert cli("feedback", "void", "8", "--reason", " ").exit_code == 1
