"""The review document's content hash follows what is shown, not when it was made."""

from csat.reports.review.model import (
    Chart,
    Paragraph,
    Section,
    Series,
    Table,
    as_data,
    content_hash,
)


def _sections(mean: float) -> list[Section]:
    return [Section("survey", "Survey", [Paragraph("CSI 88.0"),
                                          Table("Items", ["Item", "Mean"], [["Delivery", mean]]),
                                          Chart("Delivery", ["2024H1", "2024H2"], [Series("Delivery", [90.0, mean], 85.0)])])]


def test_hash_changes_with_a_number_shown():
    assert content_hash(_sections(84.0)) == content_hash(_sections(84.0))
    assert content_hash(_sections(84.0)) != content_hash(_sections(84.1))


def test_hash_ignores_the_built_from_block():
    with_block = _sections(84.0) + [Section("built_from", "Built from", [Paragraph("made at 10:00")])]
    assert content_hash(with_block) == content_hash(_sections(84.0))


def test_blocks_say_their_kind_in_data():
    from csat.reports.review.model import BuiltFrom, ReviewDocument

    document = ReviewDocument("Review", "2024H2", "en", "REV-2024H2-1", _sections(84.0),
                              BuiltFrom("2024H2", ["2024H2"], 3, 0, None, "0.9.0", "2024-12-01T00:00:00"))
    kinds = [block["kind"] for block in as_data(document)["sections"][0]["blocks"]]
    assert kinds == ["paragraph", "table", "chart"]
