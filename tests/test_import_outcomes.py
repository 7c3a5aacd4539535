"""An import's outcomes counted without a line per response, as the summary shows them."""

from collections import Counter
from types import SimpleNamespace

from hypothesis import given
from hypothesis import strategies as st
from import_fixtures import write_sheet_csv

from csat.importer.context import Plan
from csat.importer.run import ImportReport, outcome_counts, response_lines

# Where a candidate lands in a plan without problems: every candidate in exactly one list.
PLACES = ("new", "unchanged", "replaced", "withdrawn", "differs", "missing")


def _plan(places: list[str], removed: list[int]) -> tuple:
    """Candidates in reading order, placed as given; `removed[i]` extra responses removed by candidate i."""
    candidates = [SimpleNamespace(customer_id=number, period="2024H1", respondent="", source_file=f"/in/{number % 2}.xlsx")
                  for number in range(len(places))]
    result = Plan()
    for candidate, place, extra in zip(candidates, places, removed):
        existing = SimpleNamespace(respondent="old", source_file="/in/old.xlsx", source="sheet", response_id=1)
        if place in ("new", "unchanged"):
            getattr(result, place).append(candidate)
        elif place in ("replaced", "withdrawn"):
            getattr(result, place).append((candidate, existing))
        else:
            result.differing.append((candidate, existing if place == "differs" else None))
        result.removed.extend((candidate, existing) for _ in range(extra))
    # The plan's lists hold candidates in reading order, but the lists themselves are filled apart.
    context = SimpleNamespace(code_of={candidate.customer_id: f"C{candidate.customer_id}" for candidate in candidates})
    return context, result, candidates


@given(st.lists(st.tuples(st.sampled_from(PLACES), st.integers(0, 2)), max_size=30))
def test_counts_match_the_lines_in_order(placed):
    context, result, candidates = _plan([place for place, _ in placed], [extra for _, extra in placed])
    lines = response_lines(context, result, candidates)
    expected = Counter(line.status for line in lines)
    counted = outcome_counts(context, result, candidates)
    assert list(counted.items()) == list(expected.items())     # the same counts, first-seen order too


def test_a_report_builds_its_lines_only_when_asked():
    context, result, candidates = _plan(["unchanged", "new", "replaced"], [0, 0, 1])
    report = ImportReport(planned=(context, result, candidates))
    assert report.outcomes() == {"unchanged": 1, "stored": 1, "replaced": 1, "removed": 1}
    assert report.lines is None
    assert [line.status for line in report.responses] == ["unchanged", "stored", "replaced", "removed"]
    assert [line["customer"] for line in report.record()["responses"][:2]] == ["C0", "C1"]
    assert report.outcomes() == {"unchanged": 1, "stored": 1, "replaced": 1, "removed": 1}


def test_the_summary_of_a_long_sheet_counts_each_outcome_in_reading_order(workspace, cli, tmp_path):
    lines = ["code,name"] + [f"K{number:02d},Customer {number}" for number in range(14)]
    (tmp_path / "customers.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert cli("customer", "import", tmp_path / "customers.csv").exit_code == 0
    header = ["customer", "quality", "delivery"]
    first = write_sheet_csv(tmp_path / "first.csv", header, [[f"K{number:02d}", 90, 80] for number in range(4, 14)])
    assert cli("import", first, "--half", "2024H1").exit_code == 0
    assert cli("survey", "open", "--half", "2024H1", "--reopen", "--reason", "late answers").exit_code == 0
    # The first four rows are new, the ten after them were imported before.
    both = write_sheet_csv(tmp_path / "both.csv", header, [[f"K{number:02d}", 90, 80] for number in range(14)])
    result = cli("import", both, "--half", "2024H1")
    assert result.exit_code == 0, result
    assert "14 responses (stored 4, unchanged 10): use -v to list them" in result.stderr
    verbose = cli("import", both, "--half", "2024H1", "-v")
    said = [line for line in verbose.stderr.splitlines() if line.startswith("Unchanged: ")]
    assert said[0] == "Unchanged: K00 2024H1" and len(said) == 14
