"""Fuzzing the import readers in the suite: random cell values, types and sheet shapes, consolidated sheets
and signed forms, some with their sheet XML mutated. Each gives a clear refusal (store unchanged) or an
import of what the cells said; never another exception. The long run is fuzz/import_target.py."""

from __future__ import annotations

import sys
from pathlib import Path

from hypothesis import HealthCheck, given, settings

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "fuzz"))
from import_cases import Bench, cases  # noqa: E402

_benches: dict[str, Bench] = {}


def bench(tmp_path_factory) -> Bench:
    if "bench" not in _benches:
        _benches["bench"] = Bench(tmp_path_factory.mktemp("fuzz") / "ws")
    return _benches["bench"]


# ~60 examples: each is one import with its reading worker, a few hundred milliseconds under load.
@settings(max_examples=60, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(case=cases)
def test_any_sheet_or_form_is_refused_clearly_or_imported(tmp_path_factory, case):
    bench(tmp_path_factory).check(case)
