"""`csat report --open-capa`: flagged items become CAPAs, once per round and item."""

import json

import pytest

from tests.report_fixtures import standard


@pytest.fixture
def seeded(store):
    return standard(store)


def test_open_capa_for_each_flagged_item_without_duplicates(seeded, cli):
    result = cli("report", "--half", "2024H2", "--format", "json", "--open-capa")
    assert result.exit_code == 0, result
    flagged = {item["code"]: item for item in json.loads(result.stdout)["flagged"]}
    assert set(flagged) == {"delivery", "responsiveness", "tech_support"}
    capas = json.loads(cli("capa", "list", "--format", "json").stdout)
    assert len(capas) == 3
    by_title = {capa["title"]: capa for capa in capas}
    assert "On-time delivery below the action limit in the 2024H2 survey" in by_title
    assert "Technical support at risk of falling below the action limit in the 2024H2 survey" in by_title
    assert by_title["On-time delivery below the action limit in the 2024H2 survey"]["dept"] == "materials"
    assert result.stderr.count("Opened CAPA-") == 3
    shown = json.loads(cli("capa", "show", capas[0]["number"], "--format", "json").stdout)
    assert shown["description"] in {item["reason"] for item in flagged.values()}

    again = cli("report", "--half", "2024H2", "--format", "json", "--open-capa")
    assert again.exit_code == 0 and again.stderr.count("Already open: CAPA-") == 3
    assert len(json.loads(cli("capa", "list", "--format", "json").stdout)) == 3


def test_open_capa_with_trend_is_a_usage_error(seeded, cli):
    result = cli("report", "--trend", "--open-capa")
    assert result.exit_code == 2
