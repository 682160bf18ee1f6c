"""Some rules' occurrences collected on a second connection, in a thread, while the
generation's own connection collects the others (``store.generation.collect``).

Replenishment is the longest kind to collect (~70 of the ~110 ms the heavy kinds took on the
next day of a 200k-customer shop). Its cycle windows (``occurrences.SPLIT``) go to a thread
on a connection of its own; SQLite releases the GIL while it steps, so on two cores the
generation's connection meanwhile collects the other kinds and the customers' own cycles
(the day ~218 -> ~180 ms).

Both connections must read the same snapshot. A connection's ``PRAGMA data_version`` changes
when another connection commits between two of its read transactions. So the thread's
connection reads once before the generation's snapshot starts (:func:`open_beside`), and again
when its own snapshot starts (:meth:`OccurrenceThread.start`). The same value means that
nothing was committed in between, so both snapshots are the same. Otherwise, or when the
thread fails, the generation's connection collects those rules itself (:meth:`rows` returns
None).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import sqlite_utils

from tui_agent.core.rules import Rule, RuleSet
from tui_agent.store.db import BUSY_TIMEOUT_MS, MMAP_BYTES

_COLUMNS = "key, customer_id, ri, due, text, order_id, anchor, product, category, assumed, checked"
INSERT = f"INSERT INTO _occ ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?)"

# (db, rules with the catch-up widened, the rule, its place in the rule set, today)
Collector = Callable[[sqlite_utils.Database, RuleSet, Rule, int, date], None]


class OccurrenceThread:
    """A connection of its own, read-only, opened before the generation's snapshot."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._before = self._version()
        self._thread: threading.Thread | None = None
        self._rows: list[tuple[Any, ...]] | None = None

    def _version(self) -> int:
        self._conn.execute("SELECT 1 FROM meta LIMIT 1").fetchall()  # a read transaction
        return int(self._conn.execute("PRAGMA data_version").fetchone()[0])

    def start(
        self,
        rules: RuleSet,
        wide: RuleSet,
        today: date,
        work: Sequence[tuple[int, Collector]],
        prepare: Callable[[sqlite_utils.Database, RuleSet], object],
    ) -> None:
        """Collect ``work`` (place in the rule set, collector) into this connection's own
        ``_occ`` (made by ``prepare``), on a snapshot begun now."""

        def run() -> None:
            conn = self._conn
            try:
                conn.execute("BEGIN")
                try:
                    if self._version() != self._before:
                        return  # something was committed meanwhile: not the same snapshot
                    db = sqlite_utils.Database(conn, execute_plugins=False)
                    prepare(db, rules)
                    for ri, collector in work:
                        collector(db, wide, rules.rules[ri], ri, today)
                    self._rows = conn.execute(
                        f"SELECT {_COLUMNS} FROM _occ ORDER BY seq"
                    ).fetchall()
                finally:
                    conn.execute("ROLLBACK")
            except Exception:  # whatever it was, the generation's connection
                self._rows = None  # does the work instead (and meets the error itself, if any)
            finally:
                conn.close()

        self._thread = threading.Thread(target=run, name="occurrences", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Let go of the connection if no thread took it (a thread closes its own)."""
        if self._thread is None:
            self._conn.close()

    def rows(self) -> list[tuple[Any, ...]] | None:
        """The occurrences found (rows for :data:`INSERT`), or None: collect them again."""
        if self._thread is None:
            self._conn.close()
            return None
        self._thread.join()
        return self._rows


def open_beside(db: sqlite_utils.Database) -> OccurrenceThread | None:
    """A second connection to ``db``'s file, before its snapshot starts; None for a database
    that is not a file, or when it cannot be opened."""
    file = db.execute("PRAGMA database_list").fetchone()[2]
    if not file:
        return None
    try:
        conn = sqlite3.connect(
            Path(file).as_uri() + "?mode=ro",
            uri=True,
            isolation_level=None,
            timeout=BUSY_TIMEOUT_MS / 1000,
            check_same_thread=False,
        )
    except sqlite3.Error:
        return None
    try:
        conn.execute(f"PRAGMA mmap_size = {MMAP_BYTES}")
        return OccurrenceThread(conn)
    except sqlite3.Error:
        conn.close()
        return None
