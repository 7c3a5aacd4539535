"""Small samples: an item with fewer than report.min_n answers is marked, and its interval stays on the scale."""

import json

from import_fixtures import import_customers


def _answers(cli, customers_csv, store, scores):
    import_customers(store, customers_csv)
    for code, (quality, delivery) in scores.items():
        result = cli("response", "add", code, "--half", "2024H1", "--score", f"quality={quality}",
                     "--score", f"delivery={delivery}")
        assert result.exit_code == 0, result


def _items(cli) -> dict:
    result = cli("report", "--half", "2024H1", "--format", "json")
    assert result.exit_code == 0, result
    return {item["code"]: item for item in json.loads(result.stdout)["items"]}


def test_two_answers_are_a_small_sample(workspace, store, cli, customers_csv):
    _answers(cli, customers_csv, store, {"C-001": (100, 60), "C-002": (90, 70)})
    items = _items(cli)
    quality = items["quality"]
    assert (quality["n"], quality["small_sample"]) == (2, True)
    assert quality["reason"] == "only 2 answers"
    assert items["delivery"]["reason"] == "mean 65.0 < 85; only 2 answers"
    # t(1) makes the interval 95 +- 63.5: a mean cannot leave the 0-100 scale.
    assert round(quality["ci_low"], 1) == 31.5 and quality["ci_high"] == 100.0
    assert items["communication"]["small_sample"] is True and items["communication"]["reason"] == "no answers"

    table = cli("report", "--half", "2024H1")
    assert "* fewer than 5 answers: read the mean and its interval with care." in table.stdout
    assert "2*" in table.stdout and "31.5–100.0" in table.stdout and "158.5" not in table.stdout
    markdown = cli("report", "--half", "2024H1", "--format", "md").stdout
    assert "| Product quality | 2\\* |" in markdown and "only 2 answers" in markdown
    html = cli("report", "--half", "2024H1", "--format", "html", "-o", "r.html")
    assert html.exit_code == 0
    document = open("r.html", encoding="utf-8").read()
    assert "fewer than 5 answers" in document and ">2*<" in document


def test_min_n_setting(workspace, store, cli, customers_csv):
    _answers(cli, customers_csv, store, {"C-001": (90, 80), "C-002": (88, 70)})
    assert cli("config", "set", "report.min_n", "2").exit_code == 0
    quality = _items(cli)["quality"]
    assert (quality["small_sample"], quality["reason"]) == (False, None)
    assert "fewer than" not in cli("report", "--half", "2024H1").stdout
    assert cli("config", "set", "report.min_n", "0").exit_code != 0
    assert cli("config", "set", "report.min_n", "3").exit_code == 0
    assert _items(cli)["quality"]["reason"] == "only 2 answers"


def test_chinese_reason(workspace, store, cli, customers_csv):
    _answers(cli, customers_csv, store, {"C-001": (90, 80)})
    result = cli("report", "--half", "2024H1", "--format", "json", "--lang", "zh")
    quality = next(item for item in json.loads(result.stdout)["items"] if item["code"] == "quality")
    assert quality["reason"] == "仅 1 个回答" and quality["ci_low"] is None


def test_scoring_helpers():
    from csat import scoring

    assert scoring.clip_interval(-7.8, 101.2, 0.0, 100.0) == (0.0, 100.0)
    assert scoring.clip_interval(1.5, 4.2, 1.0, 5.0) == (1.5, 4.2)
    assert scoring.clip_interval(None, None, 0.0, 100.0) == (None, None)
    assert [scoring.small_sample(n, 5) for n in (0, 4, 5, 6)] == [True, True, False, False]
    assert (scoring.small_sample_reason(1), scoring.small_sample_reason(4), scoring.small_sample_reason(2, "zh")) == (
        "only 1 answer", "only 4 answers", "仅 2 个回答")
