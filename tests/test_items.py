import json

import pytest

from csat.errors import ValidationFailed
from csat.periods import Half
from csat.registry import items
from csat.store.models import Answer, Customer, Response
from csat.survey.rounds import open_round
from tests.conftest import EXAMPLES


def test_default_template(workspace, cli):
    listed = json.loads(cli("items", "list", "--format", "json").stdout)
    assert len(listed) == 8
    assert {entry["code"] for entry in listed} >= {"quality", "delivery", "price", "tech_support", "complaint_handling"}
    first = listed[0]
    assert set(first) >= {"code", "label_en", "label_zh", "weight", "action_limit", "scale", "active"}
    assert first["action_limit"] == 85 and first["scale"] == "0-100" and first["active"] is True
    assert all(entry["label_zh"] for entry in listed)


def test_load_extends_then_replaces(workspace, cli):
    example = EXAMPLES / "items.toml"
    result = cli("items", "load", example)
    assert result.exit_code == 0, result
    assert "2 added, 1 updated, 1 unchanged" in result.stderr  # delivery: the file gives what it has
    codes = [entry["code"] for entry in json.loads(cli("items", "list", "--format", "json").stdout)]
    assert "packaging" in codes and "price" in codes
    again = cli("items", "load", example)
    assert "0 added, 0 updated, 4 unchanged" in again.stderr
    replaced = cli("items", "load", example, "--replace")
    assert "6 deleted" in replaced.stderr
    listed = json.loads(cli("items", "list", "--format", "json").stdout)
    assert [entry["code"] for entry in listed] == ["quality", "delivery", "packaging", "overall"]
    overall = listed[-1]
    assert [choice["points"] for choice in overall["choices"]] == [100, 80, 60, 40, 20]


def test_answered_items_are_retired_not_deleted(workspace, store, cli):
    with store.session() as session:
        customer = Customer(code="C-1", name="One")
        session.add(customer)
        round_ = open_round(session, Half(2024, 1))
        session.flush()
        price = next(item for item in items.list_items(session) if item.code == "price")
        response = Response(round_id=round_.id, customer_id=customer.id)
        session.add(response)
        session.flush()
        session.add(Answer(response_id=response.id, item_id=price.id, score=90))
    result = cli("items", "load", EXAMPLES / "items.toml", "--replace")
    assert result.exit_code == 0, result
    everything = json.loads(cli("items", "list", "--all", "--format", "json").stdout)
    price_entry = next(entry for entry in everything if entry["code"] == "price")
    assert price_entry["active"] is False


def test_bad_template_lists_every_problem(tmp_path, workspace, cli):
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[[item]]\ncode = "Quality"\nlabel_en = "Q"\n'
        '[[item]]\ncode = "lead_time"\nweight = -1\nscale = [100, 0]\n'
        '[[item]]\ncode = "lead_time"\nlabel_en = "D"\naction_limit = 120\n',
        encoding="utf-8",
    )
    result = cli("items", "load", bad)
    assert result.exit_code == 1
    for fragment in ["code 'Quality'", "label_en is missing", "weight: must be greater than 0",
                     "min 100 must be below max 0", "appears twice", "outside the scale"]:
        assert fragment in result.stderr
    assert len(json.loads(cli("items", "list", "--format", "json").stdout)) == 8


def test_malformed_template_toml(tmp_path, workspace, cli):
    bad = tmp_path / "bad.toml"
    bad.write_text("[[item]\n")
    result = cli("items", "load", bad)
    assert result.exit_code == 1 and "malformed TOML" in result.stderr


def test_choice_labels_must_be_distinct():
    with pytest.raises(ValidationFailed, match="used twice"):
        items.parse_template({"item": [{"code": "x", "label_en": "X", "choice": [
            {"label_en": "Good", "points": 100}, {"label_en": "good", "points": 50}]}]}, "t")


def test_template_version_changes_with_definitions(workspace, store):
    with store.session() as session:
        before = items.template_version(items.list_items(session))
        items.load_template(session, [items.ItemSpec(code="quality", label_en="Quality of product")])
        after = items.template_version(items.list_items(session))
    assert before != after


def _item(cli, code, *options):
    listed = json.loads(cli("items", "list", "--all", "--format", "json", *options).stdout)
    return next(entry for entry in listed if entry["code"] == code)


def test_load_changes_only_the_fields_the_file_gives(tmp_path, workspace, cli):
    """Issue #16.1: a file listing an item without its description, to change its weight, keeps the description."""
    assert cli("items", "load", EXAMPLES / "items.toml").exit_code == 0
    before = _item(cli, "quality")
    assert before["description_en"] == "Conformity and reliability of delivered products"
    order = [entry["code"] for entry in json.loads(cli("items", "list", "--format", "json").stdout)]
    weight_only = tmp_path / "weight.toml"
    weight_only.write_text('[[item]]\ncode = "quality"\nweight = 3\n', encoding="utf-8")
    result = cli("items", "load", weight_only)
    assert result.exit_code == 0, result
    assert "0 added, 1 updated, 0 unchanged" in result.stderr
    after = _item(cli, "quality")
    assert after["weight"] == 3
    assert after["description_en"] == before["description_en"]
    assert after["description_zh"] == "交付产品的符合性与可靠性"
    assert after["label_en"] == before["label_en"] and after["label_zh"] == before["label_zh"]
    assert after["action_limit"] == before["action_limit"] and after["scale"] == before["scale"]
    # the template keeps its order: one item named in a file does not jump to the top
    assert [entry["code"] for entry in json.loads(cli("items", "list", "--format", "json").stdout)] == order
    # the audit trail holds the one change made
    audit = json.loads(cli("audit", "list", "--table", "item", "--key", "quality", "--format", "json").stdout)
    assert audit[0]["changes"] == {"weight": [2.0, 3.0]}


def test_load_checks_a_partial_item_against_its_stored_values(tmp_path, workspace, cli):
    """A limit given alone is checked against the item's stored scale, and the stored limit against a new scale."""
    five = tmp_path / "five.toml"
    five.write_text('[[item]]\ncode = "price"\nscale = [1, 5]\naction_limit = 4.5\n', encoding="utf-8")
    assert cli("items", "load", five, "--reason", "five-point scale").exit_code == 0
    limit_only = tmp_path / "limit.toml"
    limit_only.write_text('[[item]]\ncode = "price"\naction_limit = 4\n', encoding="utf-8")
    assert cli("items", "load", limit_only, "--reason", "r").exit_code == 1, "4 is below 4.4, the minimum on 1-5"
    limit_only.write_text('[[item]]\ncode = "price"\naction_limit = 4.8\n', encoding="utf-8")
    assert cli("items", "load", limit_only, "--reason", "r").exit_code == 0, "4.8 is inside the stored 1-5 scale"
    assert _item(cli, "price")["action_limit"] == 4.8
    too_high = tmp_path / "high.toml"
    too_high.write_text('[[item]]\ncode = "price"\naction_limit = 7\n', encoding="utf-8")
    refused = cli("items", "load", too_high, "--reason", "r")
    assert refused.exit_code == 1 and "7 is outside the scale 1-5" in refused.stderr
    assert _item(cli, "price")["action_limit"] == 4.8


def test_replace_makes_the_file_the_whole_template(tmp_path, workspace, cli):
    assert cli("items", "load", EXAMPLES / "items.toml").exit_code == 0
    weight_only = tmp_path / "weight.toml"
    weight_only.write_text('[[item]]\ncode = "quality"\nlabel_en = "Product quality"\nweight = 3\n', encoding="utf-8")
    result = cli("items", "load", weight_only, "--replace")
    assert result.exit_code == 0, result
    listed = json.loads(cli("items", "list", "--format", "json").stdout)
    assert [entry["code"] for entry in listed] == ["quality"]
    assert listed[0]["description_en"] == "" and listed[0]["label_zh"] == "" and listed[0]["weight"] == 3


def test_load_dry_run_shows_each_change_and_writes_nothing(tmp_path, workspace, cli):
    assert cli("items", "load", EXAMPLES / "items.toml").exit_code == 0
    before = json.loads(cli("items", "list", "--all", "--format", "json").stdout)
    audit_before = json.loads(cli("audit", "list", "--limit", "1000", "--format", "json").stdout)
    change = tmp_path / "change.toml"
    change.write_text('[[item]]\ncode = "quality"\nlabel_en = "Product quality"\nweight = 3\ndescription_en = "Conformity"\n'
                      '[[item]]\ncode = "cleanliness"\nlabel_en = "Cleanliness"\n', encoding="utf-8")
    result = cli("items", "load", change, "--dry-run")
    assert result.exit_code == 0, result
    lines = result.stdout.splitlines()
    assert "quality: weight 2 -> 3" in lines
    assert "quality: description_en 'Conformity and reliability of delivered products' -> 'Conformity'" in lines
    assert "cleanliness: new item" in lines and "cleanliness: label_en '' -> 'Cleanliness'" in lines
    assert not any(line.startswith("delivery") for line in lines)
    assert "Dry run: nothing was written" in result.stderr
    assert json.loads(cli("items", "list", "--all", "--format", "json").stdout) == before
    assert json.loads(cli("audit", "list", "--limit", "1000", "--format", "json").stdout) == audit_before
    replaced = cli("items", "load", change, "--dry-run", "--replace", "--format", "json")
    assert replaced.exit_code == 0, replaced
    changes = {entry["code"]: entry for entry in json.loads(replaced.stdout)}
    assert changes["quality"]["action"] == "update"
    assert changes["quality"]["changes"]["label_zh"] == ["产品质量", ""]
    assert changes["price"]["action"] == "delete" and changes["cleanliness"]["action"] == "add"
    assert json.loads(cli("items", "list", "--all", "--format", "json").stdout) == before


def test_loading_a_retired_item_asks_it_again_and_says_so(tmp_path, workspace, cli):
    assert cli("items", "retire", "price").exit_code == 0
    weight_only = tmp_path / "price.toml"
    weight_only.write_text('[[item]]\ncode = "price"\nweight = 2\n', encoding="utf-8")
    dry = cli("items", "load", weight_only, "--dry-run")
    assert "price: active no -> yes" in dry.stdout.splitlines() and "price would be asked again" in dry.stderr
    assert _item(cli, "price")["active"] is False
    loaded = cli("items", "load", weight_only)
    assert loaded.exit_code == 0 and "price is asked again (was retired)" in loaded.stderr
    price = _item(cli, "price")
    assert price["active"] is True and price["weight"] == 2 and price["label_en"] == "Price"
