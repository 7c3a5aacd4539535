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
    assert "2 added, 2 updated" in result.stderr
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
        '[[item]]\ncode = "delivery"\nweight = -1\nscale = [100, 0]\n'
        '[[item]]\ncode = "delivery"\nlabel_en = "D"\naction_limit = 120\n',
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
