"""The report benchmark's store builder writes a store that the current schema and report accept."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.bench_report import ITEMS, ROUNDS, build_store  # noqa: E402


@pytest.mark.sqlite_only("the report benchmark writes its store with sqlite3 to compare against a bare SQLite GROUP BY")
def test_benchmark_store_reports(tmp_path):
    from csat.config import Workspace
    from csat.reports import survey
    from csat.store.engine import open_store

    answers = 8_000
    build_store(tmp_path / "bench", answers=answers)
    workspace = Workspace.open(tmp_path / "bench")
    with open_store(workspace).read_session() as session:
        data = survey.build(session, workspace.settings)
        trend = survey.build_trend(session, workspace.settings)
    assert data["period"] == ROUNDS[-1] and len(data["items"]) == ITEMS
    per_round = answers // len(ROUNDS)
    assert data["responses"] == per_round // ITEMS
    assert 0.95 * per_round < sum(item["n"] for item in data["items"]) < per_round  # about 2% blank or N/A
    assert [record["responses"] for record in trend["rounds"]] == [per_round // ITEMS] * len(ROUNDS)
