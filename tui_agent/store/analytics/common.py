"""What every figure shares: the time windows of a stats pass, the memory map for scans, reading
one query in parts side by side, and the check that the customers' derived columns are current.

Times are stored as ``YYYY-MM-DD HH:MM:SS`` text, so a period of inclusive dates is the text
range ``[start, end + 1 day)``.
"""

from __future__ import annotations

import functools
import os
import sqlite3
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

import sqlite_utils

from tui_agent.core import metrics as mt

NONE_KEY = "(none)"


# Reading the database through a memory map instead of read() calls makes the big scans about
# 3x cheaper in CPU (the category join most). Only for the duration of one figure: the previous
# setting is restored, so the console's own connection keeps whatever it had.
MMAP_BYTES = 1 << 30


@contextmanager
def _mapped(db: sqlite_utils.Database) -> Iterator[None]:
    previous = db.execute("PRAGMA mmap_size").fetchone()[0]
    db.execute(f"PRAGMA mmap_size = {MMAP_BYTES}")
    try:
        yield
    finally:
        db.execute(f"PRAGMA mmap_size = {int(previous)}")


P = ParamSpec("P")
R = TypeVar("R")


def _scan(
    fn: Callable[Concatenate[sqlite_utils.Database, P], R],
) -> Callable[Concatenate[sqlite_utils.Database, P], R]:
    """Run a figure that scans the whole shop with the database memory-mapped."""

    @functools.wraps(fn)
    def wrapper(db: sqlite_utils.Database, /, *args: P.args, **kwargs: P.kwargs) -> R:
        with _mapped(db):
            return fn(db, *args, **kwargs)

    return wrapper


def _lo(start: date | None) -> str:
    return start.isoformat() if start else ""


def _hi(end: date) -> str:
    return (end + timedelta(days=1)).isoformat()


def _day(text: str) -> date:
    return date.fromisoformat(text[:10])


def _month_end(month: str) -> date:
    y, m = int(month[:4]), int(month[5:7])
    first_next = date(y + (m == 12), m % 12 + 1, 1)
    return first_next - timedelta(days=1)


# The repurchase by month covers this many calendar months up to today's.
REPURCHASE_MONTHS = 24


@dataclass(frozen=True, slots=True)
class _Windows:
    """The text bounds of one stats pass (see :func:`_customer_pass`)."""

    lo: str  # period start
    hi: str  # period end + 1 day (never after today + 1)
    today_hi: str
    end_hi: str
    year_lo: str  # LTV window: the 365 days ending on ``end``
    base_lo: str | None  # retention windows for the lifetime estimate, when history allows
    mid: str | None
    estimate_days: int
    month_lo: str  # the repurchase by month: first day of its first month

    def params(self) -> dict[str, Any]:
        """Every bound by name, for a query's named parameters (each takes the ones it uses)."""
        return asdict(self)


def _windows(db: sqlite_utils.Database, start: date | None, end: date, today: date) -> _Windows:
    end_hi = min(_hi(end), _hi(today))
    first = db.execute("SELECT min(ordered_at) FROM orders WHERE ordered_at < ?", [end_hi])
    first_at = first.fetchone()[0]
    base_lo = mid = None
    days = 0
    if first_at is not None:
        history = (end - _day(first_at)).days + 1
        if history >= mt.MIN_HISTORY_DAYS:
            days = min(365, history // 2)
            m = end + timedelta(days=1 - days)
            base_lo, mid = (m - timedelta(days=days)).isoformat(), m.isoformat()
    return _Windows(
        lo=_lo(start),
        hi=end_hi,
        today_hi=_hi(today),
        end_hi=end_hi,
        year_lo=(end - timedelta(days=364)).isoformat(),
        base_lo=base_lo,
        mid=mid,
        estimate_days=days,
        month_lo=_months_lo(today, REPURCHASE_MONTHS),
    )


def _months_lo(today: date, months: int) -> str:
    """First day of the first of the ``months`` calendar months ending with today's."""
    first_month = (today.year * 12 + today.month - 1) - (months - 1)
    return date(first_month // 12, first_month % 12 + 1, 1).isoformat()


# The per-customer pass is split by customer id over this many read connections in threads
# (SQLite releases the GIL while it steps; WAL lets readers run side by side). Each part reads
# its own snapshot, so a write landing between them shows in one part only: fine for figures.
# Below PARALLEL_MIN_ORDERS orders one connection is faster than starting threads.
PARALLEL_MIN_ORDERS = 300_000


def _db_file(db: sqlite_utils.Database) -> str | None:
    for _, name, file in db.execute("PRAGMA database_list").fetchall():
        if name == "main":
            return str(file) or None
    return None


def _big(db: sqlite_utils.Database) -> bool:
    """Whether splitting a pass over connections in threads pays: a shop file of
    PARALLEL_MIN_ORDERS orders or more (the highest rowid: an index seek), and more than one
    core."""
    if (os.cpu_count() or 1) < 2 or _db_file(db) is None:
        return False
    top = db.execute("SELECT max(rowid) FROM orders").fetchone()[0] or 0
    return bool(top >= PARALLEL_MIN_ORDERS)


def _split_customers(db: sqlite_utils.Database) -> list[tuple[str | None, str | None]]:
    """Customer id ranges ``[lo, hi)`` holding about equal numbers of orders (one = no split)."""
    parts = min(4, os.cpu_count() or 1)
    if parts < 2 or not _big(db):
        return [(None, None)]
    n = db.execute("SELECT count(*) FROM orders").fetchone()[0]
    if n < PARALLEL_MIN_ORDERS:
        return [(None, None)]
    cuts: list[str] = []
    for i in range(1, parts):
        row = db.execute(
            "SELECT customer_id FROM orders INDEXED BY idx_orders_customer_amount "
            "ORDER BY customer_id LIMIT 1 OFFSET ?",
            [n * i // parts],
        ).fetchone()
        if row is not None and (not cuts or row[0] > cuts[-1]):
            cuts.append(row[0])
    bounds: list[str | None] = [None, *cuts, None]
    return list(pairwise(bounds))


def _read_only(path: str) -> sqlite3.Connection:
    """A read connection of its own to the shop's file, for a thread.

    Not memory-mapped: the pages it maps would count a second time in the process's resident
    memory wherever the main connection maps them too (+35-50 MB at 200k customers), for no
    CPU gained on these queries (measured within noise).
    """
    conn = sqlite3.connect(Path(path).as_uri() + "?mode=ro", uri=True, timeout=5.0)
    conn.execute("PRAGMA cache_size = -16000")
    return conn


def _in_parts(
    db: sqlite_utils.Database, sql_for: Callable[[bool, bool], str], params: dict[str, Any]
) -> list[tuple[Any, ...]]:
    """The rows of a per-customer query in customer id order, read in parts side by side.

    ``sql_for(c_lo, c_hi)`` gives the query limited to customer ids ``>= :c_lo`` and/or
    ``< :c_hi`` (see :func:`_split_customers`); each part runs on a read connection of its
    own in a thread, and the parts are put back together in order.
    """
    parts = _split_customers(db)
    if len(parts) < 2:
        return db.execute(sql_for(False, False), params).fetchall()
    path = _db_file(db)
    assert path is not None

    def run(bounds: tuple[str | None, str | None]) -> list[tuple[Any, ...]]:
        lo, hi = bounds
        conn = _read_only(path)
        try:
            sql = sql_for(lo is not None, hi is not None)
            return conn.execute(sql, {**params, "c_lo": lo, "c_hi": hi}).fetchall()
        finally:
            conn.close()

    with ThreadPoolExecutor(len(parts)) as pool:
        chunks = list(pool.map(run, parts))
    return [row for chunk in chunks for row in chunk]


def _derived_current(db: sqlite_utils.Database, today_hi: str) -> bool:
    """Whether the customers' derived columns describe exactly the orders up to today.

    They do after every import (``importer.refresh_derived``); orders written some other way,
    or orders dated after ``today``, make them unusable for these figures. Cheap: the order
    side comes from indexes, the customer side is one scan of a small table.
    """
    first, last, n = db.execute(
        "SELECT (SELECT min(ordered_at) FROM orders), (SELECT max(ordered_at) FROM orders), "
        "(SELECT count(*) FROM orders)"
    ).fetchone()
    if last is None or last >= today_hi:
        return False
    c_n, c_first, c_last = db.execute(
        "SELECT total(order_count), min(first_order_at), max(last_order_at) FROM customers "
        "WHERE order_count > 0"
    ).fetchone()
    return bool(int(c_n) == n and c_first == first and c_last == last)
