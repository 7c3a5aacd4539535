"""Quarterly summaries as records: kept as made, re-printed unchanged, stale after later entries, refreshed as versions.

The history is examples/feedback-log.csv (2024; entry numbers equal its rows) plus entries and
replies back-dated with `--received` and `--at`, so every test passes on any day. What a person
sees is checked: the printed summary (table, Markdown, JSON, xlsx), what stderr says about the
record, `--versions`, the audit trail and the staff digest.
"""

import json
from datetime import date, datetime

import pytest
from feedback_fixtures import EXAMPLES, FEEDBACK_LOG, with_customers, with_log  # noqa: F401
from openpyxl import load_workbook
from prose import english_lines

from csat.errors import CsatError
from csat.feedback import summary as summaries
from csat.feedback import summary_record
from csat.periods import Quarter

Q3 = Quarter.parse("2024Q3")
# Saturday 5 Oct 2024, Monday to Friday counted (an English workspace's calendar is "none").
MADE = datetime(2024, 10, 5, 10, 0)


@pytest.fixture
def loaded(workspace, cli):
    assert cli("customer", "import", EXAMPLES / "customers.csv").exit_code == 0
    assert cli("feedback", "import", FEEDBACK_LOG).exit_code == 0
    return cli


def _printed(cli, tmp_path, name: str) -> dict:
    """The summary of 2024Q3 in every format, as a person gets it."""
    outputs = {}
    for fmt in ("table", "md", "json"):
        result = cli("feedback", "summary", "--quarter", "2024Q3", "--format", fmt)
        assert result.exit_code == 0, result
        outputs[fmt] = result.stdout
        outputs[f"{fmt} stderr"] = result.stderr
    workbook = tmp_path / f"{name}.xlsx"
    assert cli("feedback", "summary", "--quarter", "2024Q3", "-o", workbook).exit_code == 0
    outputs["xlsx"] = {sheet.title: [list(row) for row in sheet.iter_rows(values_only=True)]
                       for sheet in load_workbook(workbook)}
    return outputs


# ---- the figures, on a clock the test controls -----------------------------------------------

def test_reply_time_figures_count_the_unanswered_and_the_late(workspace, with_log):
    with with_log.session() as session:
        shown = summary_record.show(session, workspace.settings, Q3, now=MADE)
    summary = shown.summary
    assert (shown.state, summary["version"], summary["summarised_at"], summary["recorded"]) == ("made", 1, MADE, True)
    # #8 received Mon 12 Aug and #13 Wed 18 Sep, unanswered on Sat 5 Oct: 39 and 12 working days.
    assert summary["unanswered"] == [8, 13] and summary["unanswered_count"] == 2
    assert (summary["unanswered_oldest_working_days"], summary["unanswered_oldest"]) == (39, 8)
    # #5 received Mon 15 Jul, due Wed 17 Jul, answered Fri 19 Jul: two working days late.
    assert (summary["replied_late"], summary["replied_late_count"]) == ([5], 1)
    assert (summary["replied_late_worst_working_days"], summary["replied_late_worst"]) == (2, 5)
    figures = dict(summaries.headline(summary))
    assert figures["Complaints unanswered"] == "2 (#8, #13), oldest 39 working days"
    assert figures["Replies after the deadline"] == "1 (#5), worst 2 working days late (#5)"
    assert figures["Version"] == "1" and figures["Made on"].startswith("2024-10-05 10:00 by ")
    chinese = dict(summaries.headline(summary, "zh"))
    assert chinese["未答复的投诉"] == "2 条（#8, #13），最久已 39 个工作日"


def test_working_days_follow_the_chinese_calendar(workspace, with_log):
    workspace.settings.calendar.country = "CN"
    with with_log.session() as session:
        summary = summary_record.show(session, workspace.settings, Q3, now=MADE).summary
    # #8 (Mon 12 Aug) to Sat 5 Oct: 14 days in August; in September Sat 14 and Sun 29 are working
    # days and 16-17 (Mid-Autumn) are not: 21; 1-5 Oct is National Day.
    assert (summary["unanswered_oldest_working_days"], summary["unanswered_oldest"]) == (35, 8)


def test_a_record_stays_as_made_and_turns_stale(workspace, with_log):
    from csat.feedback import log as feedback

    settings = workspace.settings
    with with_log.session() as session:
        made = summary_record.show(session, settings, Q3, now=MADE)
    with with_log.session() as session:
        again = summary_record.show(session, settings, Q3, now=datetime(2024, 10, 9, 8))
        assert (again.state, again.stale, again.summary) == ("recorded", False, made.summary)
        feedback.add(session, settings, "C-002", "service", "phone", "Late engineer, logged late",
                     received=datetime(2024, 9, 20, 9), now=datetime(2024, 10, 9, 9))
        feedback.reply(session, 8, "Calibration tools sent", at=datetime(2024, 10, 9, 9), now=datetime(2024, 10, 9, 9))
        feedback.add(session, settings, "C-002", "service", "phone", "Not of Q3", received=datetime(2024, 10, 8, 9),
                     now=datetime(2024, 10, 9, 9))
    with with_log.session() as session:
        later = summary_record.show(session, settings, Q3, now=datetime(2024, 10, 10, 8))
        assert later.state == "recorded" and later.summary == made.summary
        assert later.changes == {"added": 1, "changed": 1} and later.stale
        assert [(item["quarter"], item["version"], item["added"], item["changed"])
                for item in summary_record.stale_summaries(session)] == [("2024Q3", 1, 1, 1)]
        refreshed = summary_record.show(session, settings, Q3, refresh=True, now=datetime(2024, 10, 10, 9))
        assert (refreshed.state, refreshed.summary["version"], refreshed.summary["total"]) == ("made", 2, 13)
        assert refreshed.summary["unanswered"] == [13, 19]
        assert summary_record.stale_summaries(session) == []
        first = summary_record.show(session, settings, Q3, version=1, now=datetime(2024, 10, 10, 9))
        assert first.summary == made.summary and first.versions == 2
        with pytest.raises(CsatError, match="2024Q3 has no summary version 3; it has 1, 2"):
            summary_record.show(session, settings, Q3, version=3, now=datetime(2024, 10, 10, 9))


def test_an_entry_moved_out_of_the_quarter_makes_it_stale(workspace, with_log):
    from csat.feedback import log as feedback

    with with_log.session() as session:
        summary_record.show(session, workspace.settings, Q3, now=MADE)
    with with_log.session() as session:
        feedback.edit(session, workspace.settings, 15, {"received": datetime(2024, 10, 1, 8)}, now=datetime(2024, 10, 9))
    with with_log.session() as session:
        assert summary_record.show(session, workspace.settings, Q3, now=datetime(2024, 10, 10)).changes == \
            {"added": 0, "changed": 1}


def test_a_quarter_not_ended_is_a_preview_never_recorded(workspace, with_log):
    with with_log.session() as session:
        preview = summary_record.show(session, workspace.settings, Q3, now=datetime(2024, 9, 30, 23, 59))
        assert (preview.state, preview.summary["recorded"], preview.summary["version"]) == ("preview", False, None)
        assert dict(summaries.headline(preview.summary))["Made on"] == \
            "2024-09-30, preview (quarter not ended, not recorded)"
        with pytest.raises(CsatError, match="quarter 2024Q3 has not ended"):
            summary_record.show(session, workspace.settings, Q3, refresh=True, now=datetime(2024, 9, 30, 23, 59))
        assert summary_record.versions(session, "2024Q3") == []


# ---- through the command line, as people use it -------------------------------------------------

def test_reprint_is_identical_after_later_feedback(loaded, tmp_path):
    cli = loaded
    first = _printed(cli, tmp_path, "first")
    assert "Recorded the 2024Q3 summary as version 1" in first["table stderr"]
    assert "Version 1 of the 2024Q3 summary, as made on" in first["md stderr"]
    made = json.loads(first["json"])
    assert (made["version"], made["recorded"], made["total"]) == (1, True, 12)
    assert "Version" in first["table"] and made["summarised_at"][:16].replace("T", " ") in first["table"]

    added = cli("feedback", "add", "C-001", "--kind", "quality", "--channel", "phone", "--text", "Seal leak",
                "--received", "2024-09-20 10:00")   # back-dated into the summarised quarter
    assert added.exit_code == 0, added
    assert cli("feedback", "reply", "8", "--text", "Tools sent", "--at", "2024-10-20 10:00").exit_code == 0
    assert cli("feedback", "close", "15", "--at", "2024-10-21 10:00").exit_code == 0
    assert cli("feedback", "void", "14", "--reason", "Not feedback").exit_code == 0

    second = _printed(cli, tmp_path, "second")
    for fmt in ("table", "md", "json", "xlsx"):
        assert second[fmt] == first[fmt], fmt
    stale = second["table stderr"]
    assert "This summary is stale: since it was made, entries of 2024Q3 were added (1) or changed (3:" in stale
    assert "`csat feedback summary --quarter 2024Q3 --refresh` records a new version" in stale

    listed = json.loads(cli("feedback", "list", "--quarter", "2024Q3", "--format", "json").stdout)
    assert len(listed) == 12   # 12 + the back-dated one - the voided one: the log moved on, the record did not


def test_refresh_makes_version_2_and_both_are_shown(loaded, tmp_path):
    cli = loaded
    v1 = cli("feedback", "summary", "--quarter", "2024Q3", "--format", "json").stdout
    assert cli("feedback", "add", "C-001", "--kind", "service", "--channel", "visit", "--text", "Late visit",
               "--received", "2024-08-01 09:00").exit_code == 0
    refreshed = cli("feedback", "summary", "--quarter", "2024Q3", "--refresh", "--format", "json")
    assert refreshed.exit_code == 0, refreshed
    assert "Recorded the 2024Q3 summary as version 2, the earlier versions kept: 13 entries, 9 complaints" \
        in refreshed.stderr
    v2 = json.loads(refreshed.stdout)
    assert (v2["version"], v2["total"], v2["complaints"]) == (2, 13, 9)

    latest = cli("feedback", "summary", "--quarter", "2024Q3", "--format", "json")
    assert latest.stdout == refreshed.stdout and "stale" not in latest.stderr
    old = cli("feedback", "summary", "--quarter", "2024Q3", "--version", "1", "--format", "json")
    assert old.stdout == v1
    assert "Version 1 is not the latest: 2024Q3 has 2 versions (see --versions)" in old.stderr

    versions = json.loads(cli("feedback", "summary", "--quarter", "2024Q3", "--versions", "--format", "json").stdout)
    assert [{key: row[key] for key in ("quarter", "version", "total", "complaints", "figures_kept", "latest", "stale",
                                       "added_since", "changed_since")} for row in versions] == [
        {"quarter": "2024Q3", "version": 1, "total": 12, "complaints": 8, "figures_kept": True, "latest": False,
         "stale": True, "added_since": 1, "changed_since": 0},
        {"quarter": "2024Q3", "version": 2, "total": 13, "complaints": 9, "figures_kept": True, "latest": True,
         "stale": False, "added_since": 0, "changed_since": 0}]
    assert {"summarised_at", "made_by"} <= set(versions[0])
    table = cli("feedback", "summary", "--quarter", "2024Q3", "--versions")
    assert table.exit_code == 0 and "Made on" in table.stdout and "Stale" in table.stdout
    csv_text = cli("feedback", "summary", "--quarter", "2024Q3", "--versions", "--format", "csv").stdout
    assert csv_text.startswith("\ufeffversion,summarised_at,made_by,total,complaints,stale,")

    trail = json.loads(cli("audit", "list", "--table", "quarter_summary", "--format", "json").stdout)
    assert sorted(item["changes"]["new"]["version"] for item in trail if item["action"] == "insert") == [1, 2]
    assert cli("feedback", "summary", "--quarter", "2024Q3", "--version", "3").exit_code == 1
    assert cli("feedback", "summary", "--quarter", "2024Q3", "--version", "1", "--refresh").exit_code == 2
    assert cli("feedback", "summary", "--quarter", "2024Q3", "--format", "csv").exit_code == 2
    assert cli("feedback", "summary", "--quarter", "2024Q3", "--versions", "--format", "md").exit_code == 2


def test_unanswered_and_late_in_every_format(loaded, workspace, tmp_path):
    from csat.workdays import calendar_for

    cli = loaded
    summary = json.loads(cli("feedback", "summary", "--quarter", "2024Q3", "--format", "json").stdout)
    made_on = date.fromisoformat(summary["made_on"])
    oldest = calendar_for(workspace.settings).working_days_between(date(2024, 8, 12), made_on)
    assert (summary["unanswered"], summary["unanswered_oldest_working_days"]) == ([8, 13], oldest)
    assert (summary["replied_late_count"], summary["replied_late_worst_working_days"]) == (1, 2)
    line = f"2 (#8, #13), oldest {oldest} working days"
    assert f"| Complaints unanswered | {line} |" in cli("feedback", "summary", "--quarter", "2024Q3", "--format", "md").stdout
    assert "Replies after the deadline" in cli("feedback", "summary", "--quarter", "2024Q3").stdout
    cli("feedback", "summary", "--quarter", "2024Q3", "-o", tmp_path / "q3.xlsx")
    cells = {row[0]: row[1] for row in load_workbook(tmp_path / "q3.xlsx")["Summary"].iter_rows(values_only=True) if row[0]}
    assert cells["Complaints unanswered"] == line
    assert cells["Replies after the deadline"] == "1 (#5), worst 2 working days late (#5)"


def test_a_running_quarter_is_previewed_and_a_summary_made_before_records_shown_live(loaded, workspace):
    cli = loaded
    running = str(Quarter.containing(date.today()))
    preview = cli("feedback", "summary", "--quarter", running, "--format", "json")
    assert preview.exit_code == 0 and "has not ended: this is a preview, not recorded" in preview.stderr
    assert json.loads(preview.stdout)["recorded"] is False
    assert cli("feedback", "summary", "--quarter", running, "--refresh").exit_code == 1

    from csat.store.engine import open_store
    from csat.store.models import QuarterSummary

    with open_store(workspace).session() as session:   # what the 0009 upgrade leaves of an older summary
        session.add(QuarterSummary(quarter="2024Q3", version=1, summarised_at=datetime(2024, 10, 2, 9), total=12,
                                   complaints=8, figures=""))
    legacy = cli("feedback", "summary", "--quarter", "2024Q3", "--format", "json")
    assert "2024Q3 was summarised on 2024-10-02 09:00 before csat kept summary records" in legacy.stderr
    assert "records them as version 2" in legacy.stderr
    assert json.loads(legacy.stdout)["recorded"] is False
    versions = json.loads(cli("feedback", "summary", "--quarter", "2024Q3", "--versions", "--format", "json").stdout)
    assert [(row["version"], row["figures_kept"]) for row in versions] == [(1, False)]


def test_reminders_stop_asking_and_the_digest_tells_a_stale_summary_once(loaded, workspace):
    from csat.store.engine import open_store
    from csat.survey.remind import run

    cli = loaded
    store = open_store(workspace)
    # The digest asks only for quarters since the workspace started; the reminders' question is this one.
    with store.read_session() as session:
        assert "2024Q3" in summaries.quarters_without_summary(session, workspace.settings, date.today())
    cli("feedback", "summary", "--quarter", "2024Q3")
    with store.read_session() as session:
        assert "2024Q3" not in summaries.quarters_without_summary(session, workspace.settings, date.today())
    assert cli("feedback", "add", "C-001", "--kind", "quality", "--channel", "phone", "--text", "Another leak",
               "--received", "2024-09-02 10:00").exit_code == 0
    first = run(workspace, store, today=date(2030, 1, 7))
    stale = [line.text for line in first.digest_lines if "feedback summary (version 1" in line.text]
    assert first.digest == "printed" and len(stale) == 1
    assert stale[0].startswith("the 2024Q3 feedback summary (version 1, made on ") and "added (1)" in stale[0]
    second = run(workspace, store, today=date(2030, 1, 8))
    assert not any("feedback summary (version" in line.text for line in second.digest_lines)
    # A new version made stale again is told again, once.
    cli("feedback", "summary", "--quarter", "2024Q3", "--refresh")
    assert cli("feedback", "edit", "4", "--text", "Housing cracks, corrected").exit_code == 0
    third = run(workspace, store, today=date(2030, 1, 9))
    assert [line.text[:44] for line in third.digest_lines if "feedback summary (version" in line.text] == \
        ["the 2024Q3 feedback summary (version 2, made"]


def test_a_chinese_workspace_prints_the_record_in_chinese(tmp_path, cli):
    home = tmp_path / "zh"
    assert cli("init", home, "--company", "华东精密", "--lang", "zh").exit_code == 0
    env = {"CSAT_HOME": str(home), "CSAT_LANG": None}
    data = [(EXAMPLES / "customers.csv").read_text(encoding="utf-8-sig"), FEEDBACK_LOG.read_text(encoding="utf-8-sig"),
            (home / "csat.toml").read_text(encoding="utf-8"), "Seal leak"]
    import getpass

    data.append(getpass.getuser())
    steps = [("customer", "import", EXAMPLES / "customers.csv"), ("feedback", "import", FEEDBACK_LOG),
             ("feedback", "summary", "--quarter", "2024Q3"),
             ("feedback", "add", "C-001", "--kind", "quality", "--channel", "phone", "--text", "Seal leak",
              "--received", "2024-09-20 10:00"),
             ("feedback", "summary", "--quarter", "2024Q3"), ("feedback", "summary", "--quarter", "2024Q3", "--format", "md"),
             ("feedback", "summary", "--quarter", "2024Q3", "--refresh"),
             ("feedback", "summary", "--quarter", "2024Q3", "--versions"),
             ("feedback", "summary", "--quarter", "2024Q3", "--version", "1"),
             ("feedback", "summary", "--quarter", str(Quarter.containing(date.today())))]
    wrong = []
    for words in steps:
        result = cli(*words, env=env)
        assert result.exit_code == 0, (words, result)
        wrong += [f"{' '.join(map(str, words))}: {line}" for text in (result.stdout, result.stderr)
                  for line in english_lines(text, data)]
    assert wrong == [], "\n".join(wrong)
    stale = cli("feedback", "summary", "--quarter", "2024Q3", "--version", "1", env=env)
    assert "第 1 版不是最新版" in stale.stderr
