import json

from csat.demo import run_demo


def test_demo_builds_a_workspace(tmp_path, cli):
    lines = list(run_demo(tmp_path / "demo"))
    assert any("Imported 10 customers" in line for line in lines)
    listed = json.loads(cli("--home", tmp_path / "demo", "customer", "list", "--format", "json").stdout)
    assert len(listed) == 10
