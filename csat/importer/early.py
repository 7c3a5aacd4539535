"""Answers stored while the rest of an import is still being checked (SQLite).

Storing a 100,000-row sheet's million answers takes longer than hashing and
planning its responses, and SQLite does that storing without holding
Python's GIL. So as soon as a sheet's answers are read into a block, a
thread stores them while the main thread goes on: ids are reserved for
every row of the block up front, in the same write transaction. Only blocks
for a round with no responses yet are stored early, where every row is new
unless the import itself has a problem; rows that still turn out not to be
new (the same response given twice, identically) lose their answers again
before commit, and any problem rolls the whole transaction back. So nothing
is kept that the checks did not pass, and a re-import, where every row is
unchanged, stores nothing early at all.
"""

from __future__ import annotations

import sys
import threading
from itertools import chain
from typing import Optional

from csat.importer.answer_rows import delete_answers, store_on_sqlite
from csat.importer.answers import AnswerBlock
from csat.importer.write import first_free_response_id

SWITCH_INTERVAL = 0.00005   # seconds


class EarlyAnswers:
    """Stores blocks' answers in a background thread on the session's own SQLite connection."""

    def __init__(self, connection, context):
        self.context = context
        self.database = connection.connection.dbapi_connection
        self.next_id: Optional[int] = None
        self.blocks: list[AnswerBlock] = []
        self._thread: Optional[threading.Thread] = None
        self._error: Optional[BaseException] = None
        self._connection = connection
        self._switch_interval = sys.getswitchinterval()

    @classmethod
    def for_session(cls, session, context, dry_run: bool) -> Optional["EarlyAnswers"]:
        connection = session.connection()
        if dry_run or connection.dialect.name != "sqlite":
            return None
        return cls(connection, context)

    def block_ready(self, period: str, block: AnswerBlock) -> None:
        """Store this block's answers now if its round has no responses yet."""
        if self.context.round_for(period).existing or not len(block.scores):
            return
        self.join()
        if self.next_id is None:
            self.next_id = first_free_response_id(self._connection)
        block.response_ids = list(range(self.next_id, self.next_id + len(block.scores)))
        self.next_id += len(block.scores)
        self.blocks.append(block)
        rows = list(range(len(block.scores)))
        self._thread = threading.Thread(target=self._store, args=(block, rows), name="csat-early-answers",
                                        daemon=True)
        # The thread needs the GIL only briefly between statements, but by default waits up to
        # 5 ms for the busy main thread to hand it over each time: ask for quicker hand-overs.
        self._switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(SWITCH_INTERVAL)
        self._thread.start()

    def _store(self, block: AnswerBlock, rows: list[int]) -> None:
        try:
            store_on_sqlite(self.database, block, rows, block.response_ids)
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread by join()
            self._error = exc

    def join(self) -> None:
        """Wait for the thread; its error, if any, is raised here, in the main thread."""
        self._wait()
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def stop(self) -> None:
        """Wait for the thread before the transaction ends, whatever happened: when the import is
        failing already, the thread's own error (if any) is not the one to report."""
        self._wait()
        self._error = None

    def _wait(self) -> None:
        if self._thread is not None:
            self._thread.join()
            self._thread = None
            sys.setswitchinterval(self._switch_interval)

    def unused(self, used: set[int]) -> list[int]:
        """The ids whose answers were stored early but that did not become new responses (`used`)."""
        return sorted(set(chain.from_iterable(block.response_ids for block in self.blocks)) - used)

    def drop_unused(self, connection, unused: list[int]) -> None:
        """Delete the answers stored early for these ids (see unused)."""
        self.join()
        delete_answers(connection, unused)
