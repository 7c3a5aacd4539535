"""The procedure's rules enforced (issue #19): action limits never below the procedure's minimum,
every limit change audited with its reason, reasons required for replacing, reopening, deactivating
and moving due dates, and no complaint closed while its CAPA is open.

Each test asks what a person sees afterwards: `items list`, `audit list`, `report`, `doctor`,
`feedback show`.
"""

from __future__ import annotations

import json
from pathlib import Path

from csat.registry.items import ItemSpec
from tests.feedback_fixtures import FEEDBACK_LOG, with_customers, with_log  # noqa: F401
from tests.report_fixtures import load_items, seed, standard

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _items(cli) -> dict[str, dict]:
    return {item["code"]: item for item in json.loads(cli("items", "list", "--all", "--format", "json").stdout)}


def _trail(cli, *options) -> list[dict]:
    result = cli("audit", "list", *options, "--format", "json")
    assert result.exit_code == 0, result
    return json.loads(result.stdout)


# ---- 1: limits below the minimum are refused wherever a limit is set --------------------------

def test_items_load_refuses_a_limit_below_the_minimum_naming_file_and_item(tmp_path, workspace, cli):
    low = tmp_path / "packaging.toml"
    low.write_text('[[item]]\ncode = "packaging"\nlabel_en = "Packaging"\naction_limit = 80\n', encoding="utf-8")
    refused = cli("items", "load", low)
    assert refused.exit_code == 1
    assert (f"{low}: item packaging.action_limit: action limit 80 is below the procedure's minimum 85"
            " ([procedure] min_action_limit)") in refused.stderr
    assert "packaging" not in _items(cli), "nothing is loaded"
    again = cli("items", "load", low, "--reason", "a reason does not lower the minimum")
    assert again.exit_code == 1 and "packaging" not in _items(cli)


def test_the_minimum_applies_in_proportion_on_another_scale(tmp_path, workspace, cli):
    """85 on 0-100 is 1 + (5 - 1) x 85% = 4.4 on 1-5."""
    five = tmp_path / "five.toml"
    five.write_text('[[item]]\ncode = "ease"\nlabel_en = "Ease"\nscale = [1, 5]\naction_limit = 4.3\n',
                    encoding="utf-8")
    refused = cli("items", "load", five)
    assert refused.exit_code == 1
    assert ("item ease.action_limit: action limit 4.3 is below the procedure's minimum 4.4 on the scale 1-5"
            " (1 + (5 - 1) x 85%") in refused.stderr
    five.write_text('[[item]]\ncode = "ease"\nlabel_en = "Ease"\nscale = [1, 5]\naction_limit = 4.4\n',
                    encoding="utf-8")
    assert cli("items", "load", five).exit_code == 0
    assert _items(cli)["ease"]["action_limit"] == 4.4


def test_the_shipped_examples_follow_the_rule(workspace, cli):
    assert cli("items", "load", EXAMPLES / "items.toml").exit_code == 0
    assert all(item["action_limit"] >= 85 for item in _items(cli).values())
    from csat.registry.items import parse_template

    for path in EXAMPLES.glob("*.toml"):   # every template shipped passes the rule, as a whole or as a change
        import tomllib

        parse_template(tomllib.loads(path.read_text(encoding="utf-8")), path.name,
                       stored={"delivery": {"label_en": "On-time delivery", "scale_min": 0, "scale_max": 100}})


def test_a_limit_change_needs_a_reason_and_is_audited_field_by_field(workspace, cli):
    stricter = EXAMPLES / "stricter-delivery.toml"
    unexplained = cli("items", "load", stricter)
    assert unexplained.exit_code == 2
    assert "changes the action limit of delivery 85 -> 90; say why with --reason TEXT" in unexplained.stderr
    assert _items(cli)["delivery"]["action_limit"] == 85, "nothing written without the reason"
    assert cli("items", "load", stricter, "--dry-run").exit_code == 0, "a dry run writes nothing: no reason needed"
    loaded = cli("items", "load", stricter, "--reason", "Management review: delivery limit raised")
    assert loaded.exit_code == 0, loaded
    assert _items(cli)["delivery"]["action_limit"] == 90
    entry = _trail(cli, "--table", "item", "--key", "delivery")[0]
    assert entry["changes"] == {"action_limit": [85.0, 90.0], "reason": "Management review: delivery limit raised"}
    assert entry["actor"] and entry["at"]
    listing = cli("audit", "list", "--table", "item", "--key", "delivery", "--format", "csv").stdout
    assert "action_limit: 85.0 -> 90.0; reason: Management review: delivery limit raised" in listing
    # Other fields of a load need no reason, and are audited with old and new too.
    weight = Path(workspace.root) / "weight.toml"
    weight.write_text('[[item]]\ncode = "delivery"\nweight = 2\nlabel_zh = "准时交货"\n', encoding="utf-8")
    assert cli("items", "load", weight).exit_code == 0
    changes = _trail(cli, "--table", "item", "--key", "delivery")[0]["changes"]
    assert changes["weight"] == [1.5, 2.0] and changes["label_zh"][1] == "准时交货" and "reason" not in changes


def test_config_set_refuses_a_limit_below_the_minimum_and_audits_changes(workspace, cli):
    refused = cli("config", "set", "survey.action_limit", "70", "--reason", "try")
    assert refused.exit_code == 1
    assert refused.stderr.strip() == ("Error: survey.action_limit: action limit 70 is below the procedure's minimum 85"
                                      " ([procedure] min_action_limit); nothing changed")
    assert cli("config", "get", "survey.action_limit").stdout.strip() == "85.0"
    unexplained = cli("config", "set", "survey.action_limit", "90")
    assert unexplained.exit_code == 2 and "--reason" in unexplained.stderr
    assert cli("config", "set", "survey.action_limit", "90", "--reason", "stricter target 2025").exit_code == 0
    assert cli("config", "get", "survey.action_limit").stdout.strip() == "90.0"
    entry = _trail(cli, "--table", "setting", "--key", "survey.action_limit")[0]
    assert entry["changes"]["value"] == ["85.0", "90.0"] and entry["changes"]["reason"] == "stricter target 2025"


def test_the_minimum_itself_never_goes_below_85_and_is_raised_only_above_every_limit(workspace, cli):
    lower = cli("config", "set", "procedure.min_action_limit", "80", "--reason", "r")
    assert lower.exit_code == 1 and "80 is not allowed: the procedure's minimum action limit is between 85 and 100" \
        in lower.stderr
    assert cli("config", "set", "procedure.min_action_limit", "90").exit_code == 2, "a reason is required"
    blocked = cli("config", "set", "procedure.min_action_limit", "90", "--reason", "new procedure rev. C")
    assert blocked.exit_code == 1
    assert "survey.action_limit: action limit 85 is below the procedure's minimum 90" in blocked.stderr
    assert "quality: action limit 85 is below the procedure's minimum 90" in blocked.stderr
    assert cli("config", "get", "procedure.min_action_limit").stdout.strip() == "85.0"
    # Raise every limit first, then the minimum: the first time the key is stored the trail still has its old value.
    raised = Path(workspace.root) / "raised.toml"
    raised.write_text("".join(f'[[item]]\ncode = "{item}"\naction_limit = 90\n' for item in _items(cli)),
                      encoding="utf-8")
    assert cli("items", "load", raised, "--reason", "procedure rev. C").exit_code == 0
    assert cli("config", "set", "survey.action_limit", "90", "--reason", "procedure rev. C").exit_code == 0
    assert cli("config", "set", "procedure.min_action_limit", "90", "--reason", "procedure rev. C").exit_code == 0
    entry = _trail(cli, "--table", "setting", "--key", "procedure.min_action_limit")[0]
    assert entry["changes"]["value"] == ["85.0", "90.0"] and entry["changes"]["reason"] == "procedure rev. C"
    low = Path(workspace.root) / "low.toml"
    low.write_text('[[item]]\ncode = "price"\naction_limit = 88\n', encoding="utf-8")
    refused = cli("items", "load", low, "--reason", "r")
    assert refused.exit_code == 1 and "action limit 88 is below the procedure's minimum 90" in refused.stderr


def test_every_company_setting_change_is_audited_with_old_and_new(workspace, cli):
    assert cli("config", "set", "survey.margin", "4").exit_code == 0
    assert cli("config", "set", "remind.staff", "qa@example.com").exit_code == 0
    assert cli("config", "set", "company.contact", "Li Wei").exit_code == 0
    trail = {entry["key"]: entry for entry in _trail(cli, "--table", "setting")}
    assert trail["survey.margin"]["changes"]["value"] == ["3.0", "4.0"]
    assert trail["remind.staff"]["changes"]["value"] == ["[]", '["qa@example.com"]']
    assert trail["company.contact"]["changes"]["value"] == ['""', '"Li Wei"']
    assert all(entry["actor"] and entry["at"] for entry in trail.values())


# ---- a store from before the rule: named, printed, never locked out ---------------------------

def _legacy_limits(store, workspace):
    """What a store from before the rule may hold: an item limit of 80 and survey.action_limit = 70."""
    from csat.store import shared

    with store.session() as session:
        shared.write(session, {"survey.action_limit": 70.0})


def test_a_store_from_before_the_rule_opens_and_doctor_and_reports_name_its_limits(store, workspace, cli, tmp_path):
    load_items(store, [ItemSpec("quality", "Quality", action_limit=80), ItemSpec("delivery", "Delivery")])
    seed(store, {"2024H2": [{"customer": "C-001", "scores": {"quality": 82, "delivery": 90}},
                            {"customer": "C-002", "scores": {"quality": 84, "delivery": 88}}]})
    _legacy_limits(store, workspace)
    assert cli("items", "list").exit_code == 0, "the workspace still opens"
    doctor = cli("doctor")
    line = next(line for line in doctor.stdout.splitlines() + doctor.stderr.splitlines() if "limits" in line)
    assert "warn" in line and "survey.action_limit" in line and "item quality: action limit 80" in line
    report = json.loads(cli("report", "--half", "2024H2", "--format", "json").stdout)
    assert report["min_action_limit"] == 85
    assert {entry["code"]: entry["action_limit"] for entry in report["below_minimum"]} == \
        {"survey.action_limit": 70, "quality": 80}
    terminal = cli("report", "--half", "2024H2")
    assert "Procedure's minimum action limit 85" in terminal.stdout
    assert "Below the procedure's minimum (85): survey.action_limit 70 < 85, quality 80 < 85" in terminal.stdout
    markdown = cli("report", "--half", "2024H2", "--format", "md").stdout
    assert "minimum action limit | 85 |" in markdown and "survey.action_limit 70 \\< 85, quality 80 \\< 85" in markdown
    html = tmp_path / "r.html"
    assert cli("report", "--half", "2024H2", "--format", "html", "-o", html).exit_code == 0
    assert "Procedure&#39;s minimum action limit" in html.read_text(encoding="utf-8") or \
        "Procedure's minimum action limit" in html.read_text(encoding="utf-8")
    workbook_path = tmp_path / "r.xlsx"
    assert cli("report", "--half", "2024H2", "--format", "xlsx", "-o", workbook_path).exit_code == 0
    from openpyxl import load_workbook

    cells = [cell for row in load_workbook(workbook_path).worksheets[0].iter_rows(values_only=True)
             for cell in row if cell is not None]
    assert "Procedure's minimum action limit" in cells and 85 in cells
    assert any(isinstance(cell, str) and "quality 80 < 85" in cell for cell in cells)
    # A new round would freeze the limit of 80 for half a year: refused, naming it.
    refused = cli("survey", "open", "--half", "2025H1")
    assert refused.exit_code == 1 and "cannot open the 2025H1 round: item quality: action limit 80" in refused.stderr


def test_a_report_of_a_store_that_follows_the_rule_states_the_minimum(store, cli):
    standard(store)
    report = json.loads(cli("report", "--half", "2024H2", "--format", "json").stdout)
    assert report["min_action_limit"] == 85 and report["below_minimum"] == []
    assert "Below the procedure's minimum" not in cli("report", "--half", "2024H2").stdout


# ---- 3: reasons ---------------------------------------------------------------------------------

def test_moving_an_open_rounds_due_date_with_survey_open_needs_a_reason(workspace, cli):
    from datetime import date, timedelta

    first, second = (date.today() + timedelta(days=30)).isoformat(), (date.today() + timedelta(days=40)).isoformat()
    assert cli("survey", "open", "--half", "2026H2", "--due", first).exit_code == 0
    assert cli("survey", "open", "--half", "2026H2", "--due", first).exit_code == 0, "the same date changes nothing"
    unexplained = cli("survey", "open", "--half", "2026H2", "--due", second)
    assert unexplained.exit_code == 2
    assert f"changing the due date of the 2026H2 round from {first} to {second} needs a reason" in unexplained.stderr
    assert json.loads(cli("survey", "list", "--format", "json").stdout)[0]["due_date"] == first
    assert cli("survey", "open", "--half", "2026H2", "--due", second, "--reason", "trade fair").exit_code == 0
    entry = _trail(cli, "--table", "survey_round", "--key", "2026H2")[0]
    assert entry["changes"]["due_date"] == [first, second] and entry["changes"]["reason"] == "trade fair"
    assert cli("survey", "close", "--half", "2026H2").exit_code == 0
    assert cli("survey", "open", "--half", "2026H2", "--reopen").exit_code == 2
    assert cli("survey", "open", "--half", "2026H2", "--reopen", "--reason", "C-004 answered late").exit_code == 0
    reopened = _trail(cli, "--table", "survey_round", "--key", "2026H2")[0]
    assert reopened["changes"]["status"] == ["closed", "open"] and reopened["changes"]["reason"] == "C-004 answered late"


def test_a_reason_message_is_translated(workspace, cli, monkeypatch):
    monkeypatch.setenv("CSAT_LANG", "zh")
    refused = cli("customer", "deactivate", "C-001")
    assert refused.exit_code == 2 and "须说明原因" in refused.stderr


# ---- 4: complaints and their CAPA ---------------------------------------------------------------

def test_feedback_import_refuses_a_row_closing_a_complaint_whose_capa_is_open(with_log, workspace, cli, tmp_path):
    opened = cli("capa", "open", "--from-feedback", "5")
    assert opened.exit_code == 0, opened
    number = opened.stdout.strip()
    lines = FEEDBACK_LOG.read_text(encoding="utf-8-sig").splitlines()
    lines[5] = lines[5].replace(",已回复,", ",已结案,2024-07-25")
    closing = tmp_path / "log.csv"
    closing.write_text("\n".join(lines) + "\n", encoding="utf-8")
    refused = cli("feedback", "import", closing)
    assert refused.exit_code == 1
    assert "log.csv" in refused.stderr
    assert f"#5 cannot be closed: its CAPA {number} (Open) is not closed yet" in refused.stderr
    shown = json.loads(cli("feedback", "show", "5", "--format", "json").stdout)
    assert shown["status"] == "replied", "nothing of the file is written"
    assert cli("capa", "cancel", number, "--reason", "covered by the HX-200 CAPA").exit_code == 0
    assert cli("feedback", "import", closing).exit_code == 0, "a cancelled CAPA lets the complaint close"
    assert json.loads(cli("feedback", "show", "5", "--format", "json").stdout)["status"] == "closed"
