"""The answers of many responses as one block: a score matrix plus the few cells that say more.

A consolidated sheet of 100,000 responses x 10 items holds a million answers.
As a million tuples they would cost more to build, hash and bind than the
workbook takes to read, so answers travel as blocks: the items (in item-id
order), a float matrix with one row per response (NaN where there is no
score: blank or N/A), and `extras` for the rare cells that carry more than a
number (N/A, a choice label as written, a note). Forms and manual entry make
one-row blocks, so every source is hashed and stored by the same code.
"""

from __future__ import annotations

import hashlib
from itertools import repeat
from typing import Any, Iterable, Optional, Sequence

import numpy as np

# (row, column) -> (not_applicable, raw text, note)
Extras = dict[tuple[int, int], tuple[bool, str, str]]


class AnswerBlock:
    """Answers of `len(scores)` responses to the same items."""

    __slots__ = ("item_ids", "width", "scores", "extras", "response_ids", "_item_bytes", "_extra_rows")

    def __init__(self, item_ids: Iterable[int], scores: np.ndarray, extras: Optional[Extras] = None):
        self.item_ids = tuple(item_ids)
        self.width = len(self.item_ids)
        self.scores = scores
        self.extras: Extras = extras or {}
        self.response_ids: Optional[list[int]] = None   # set when the answers were stored early, per row
        self._item_bytes = np.asarray(self.item_ids, dtype=np.int64).tobytes()
        self._extra_rows: Optional[dict[int, list[int]]] = None

    @classmethod
    def from_answers(cls, answers: list[tuple]) -> "AnswerBlock":
        """One response's (item_id, score, not_applicable, raw, note) tuples, in item-id order."""
        scores = np.array([[np.nan if score is None else score for _, score, _, _, _ in answers]], dtype=np.float64)
        extras = {(0, column): (bool(not_applicable), raw, note)
                  for column, (_, _, not_applicable, raw, note) in enumerate(answers) if not_applicable or raw or note}
        return cls([item_id for item_id, *_ in answers], scores.reshape(1, len(answers)), extras)

    def rows_with_extras(self) -> dict[int, list[int]]:
        """row -> columns that have extras."""
        if self._extra_rows is None:
            self._extra_rows = {}
            for row, column in sorted(self.extras):
                self._extra_rows.setdefault(row, []).append(column)
        return self._extra_rows

    def answers(self, row: int) -> list[tuple]:
        """One response's answers as (item_id, score or None, not_applicable, raw, note) tuples."""
        result = []
        for column, (item_id, score) in enumerate(zip(self.item_ids, self.scores[row].tolist())):
            not_applicable, raw, note = self.extras.get((row, column), (False, "", ""))
            result.append((item_id, None if score != score else score, not_applicable, raw, note))
        return result

    def content_hash(self, row: int, title: str, answered_on, comment: str) -> str:
        """A fingerprint of a response's content: what decides "unchanged" against "different".

        The source file and its kind do not count: the same answers from a form, a
        sheet or a phone call are the same response. A number counts by value ("90"
        in a csv, 90.0 in a workbook); text kept as raw (a choice label, an N/A
        spelling) counts as written. Scores are hashed as packed doubles, not as
        text: formatting a million floats would cost more than the rest of the check.
        """
        digest = hashlib.blake2b(self.scores[row].tobytes(), digest_size=16)
        digest.update(self._item_bytes)
        text = [title, answered_on.isoformat() if answered_on else "", comment]
        columns = self.rows_with_extras().get(row)
        if columns:
            flags, raws, notes = [False] * self.width, [""] * self.width, [""] * self.width
            for column in columns:
                flags[column], raws[column], notes[column] = self.extras[(row, column)]
            text.extend((repr(flags), repr(raws), repr(notes)))
        digest.update("\x1f".join(text).encode("utf-8"))
        return digest.hexdigest()

    def content_hashes(self, texts: Optional[Sequence[tuple[str, Any, str]]] = None) -> list[str]:
        """content_hash of every row at once; `texts` holds each row's (title, answered_on, comment), None: no text.

        The bytes hashed are content_hash's: the row's packed scores and the item ids,
        sliced from one buffer laid out by numpy, followed by the row's text. Only rows
        with extras (few) are hashed again one by one.
        """
        count, width = self.scores.shape
        prefix = 8 * width + len(self._item_bytes)
        packed = np.empty((count, prefix), dtype=np.uint8)
        packed[:, :8 * width] = np.ascontiguousarray(self.scores).view(np.uint8).reshape(count, 8 * width)
        packed[:, 8 * width:] = np.frombuffer(self._item_bytes, dtype=np.uint8)
        data = packed.tobytes()
        if texts is None:
            tails: Iterable[bytes] = repeat("\x1f\x1f".encode("utf-8"), count)
        else:
            tails = [f"{title}\x1f{answered_on.isoformat() if answered_on else ''}\x1f{comment}".encode("utf-8")
                     for title, answered_on, comment in texts]
        blake2b = hashlib.blake2b
        hashes = [blake2b(data[start:start + prefix] + tail, digest_size=16).hexdigest()
                  for start, tail in zip(range(0, count * prefix, prefix), tails)]
        for row in self.rows_with_extras():      # few: hashed again with their extras
            hashes[row] = self.content_hash(row, *(texts[row] if texts is not None else ("", None, "")))
        return hashes
