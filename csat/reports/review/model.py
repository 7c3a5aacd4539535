"""The review pack as a document: sections of paragraphs, tables and charts, in no format yet.

`csat review` gathers the half year's numbers once into a ReviewDocument; each writer (terminal,
HTML, Markdown, xlsx, docx) only lays it out, so every format shows the same numbers and the
content hash printed in the "built from" block matches whichever file the meeting kept.
Texts are already in the document's language; values in tables stay numbers (writers format
them), so the xlsx keeps numbers as numbers and the hash does not depend on the formatting.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field

Cell = str | int | float | None


@dataclass(frozen=True)
class Paragraph:
    """A sentence or two of prose (a finding, or "no round in this half")."""

    text: str


@dataclass(frozen=True)
class Table:
    """A titled table; `digits` says how many decimals a writer shows for float cells."""

    title: str
    columns: list[str]
    rows: list[list[Cell]]
    note: str = ""
    digits: int = 1


@dataclass(frozen=True)
class Series:
    """One line of a chart: a value per category (None where there is none) and its action limit."""

    name: str
    values: list[float | None]
    limit: float | None = None


@dataclass(frozen=True)
class Chart:
    """A line chart over periods (the categories), e.g. one item's mean per round against its limit."""

    title: str
    categories: list[str]
    series: list[Series]
    y_label: str = ""


Block = Paragraph | Table | Chart


@dataclass(frozen=True)
class Section:
    """One part of the pack: survey, feedback, capa, customers or built_from (`key` is stable)."""

    key: str
    title: str
    blocks: list[Block] = field(default_factory=list)


@dataclass(frozen=True)
class BuiltFrom:
    """What the document was made from, so a kept copy can be matched to the data later."""

    half: str
    rounds: list[str]
    responses: int
    feedback_entries: int
    last_import: str | None
    csat_version: str
    made_at: str
    content_hash: str = ""


@dataclass(frozen=True)
class ReviewDocument:
    """The whole pack in one language (`lang` is "en" or "zh")."""

    title: str
    half: str
    lang: str
    record_number: str
    sections: list[Section]
    built_from: BuiltFrom


def _block_data(block: Block) -> dict:
    return {"kind": type(block).__name__.lower(), **asdict(block)}


def content_hash(sections: list[Section]) -> str:
    """SHA-256 of the numbers and words shown in the sections (not of when or by whom it was made)."""
    shown = [{"key": section.key, "title": section.title, "blocks": [_block_data(block) for block in section.blocks]}
             for section in sections if section.key != "built_from"]
    text = json.dumps(shown, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def as_data(document: ReviewDocument) -> dict:
    """The document as plain JSON-ready data (for `--format json` and for tests)."""
    return {
        "title": document.title,
        "half": document.half,
        "lang": document.lang,
        "record_number": document.record_number,
        "sections": [{"key": section.key, "title": section.title,
                      "blocks": [_block_data(block) for block in section.blocks]} for section in document.sections],
        "built_from": asdict(document.built_from),
    }
