import json

from csat.demo import run_demo


def test_demo_runs_the_whole_loop(tmp_path, cli):
    lines: list[str] = []
    root = run_demo(tmp_path / "demo", progress=lines.append)
    text = "\n".join(lines)
    assert "Imported 10 customers" in text
    assert "Sent the 2024H1 survey to 9 customers" in text and "C-006 to reach by phone or fax" in text
    assert "Imported 8 returned surveys" in text
    assert "Logged 18 customer feedback entries" in text
    assert "opened CAPA-" in text
    assert len(list((root / "outbox").glob("*.eml"))) == 9
    capas = json.loads(cli("--home", root, "capa", "list", "--format", "json").stdout)
    assert [capa["source"] for capa in capas] == ["item:2024H1/delivery", "item:2024H1/price"]


def test_demo_command_ends_with_the_report(tmp_path, cli):
    result = cli("demo", tmp_path / "demo-cli", "--lang", "zh")
    assert result.exit_code == 0, result
    assert result.stdout.startswith("2024H1 顾客满意度调查统计分析 · 华南精密制造有限公司")
    assert "华南精密制造有限公司" in result.stderr
