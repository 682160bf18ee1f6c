"""RFM scores and segments: scored in memory (relative to every customer with an order by
today), or read from ``customer_segments`` when the stored ones are current."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from datetime import date
from itertools import product
from typing import Any

import sqlite_utils

from tui_agent.core.segments import (
    Rfm,
    frequency_scores,
    quintile_scores,
    score_customers,
    segment_for,
)
from tui_agent.store.analytics import common
from tui_agent.store.analytics.common import _day, _db_file, _hi, _scan
from tui_agent.store.db import write_tx


@_scan
def rfm_scores(
    db: sqlite_utils.Database, today: date, only: Iterable[str] | None = None
) -> list[Rfm]:
    """RFM scores and segment of every customer with an order on or before ``today``.

    Recency is days from the last order to ``today``, frequency the number of distinct orders,
    monetary the sum of their amounts; each is scored 1-5 against all these customers.
    """
    rows = _rfm_rows(db, today)
    return score_customers(
        [(cid, (today - _day(last)).days, n, m) for cid, n, m, last in rows],
        None if only is None else set(only),
    )


def _rfm_rows(db: sqlite_utils.Database, today: date) -> list[tuple[Any, ...]]:
    """(customer id, orders, amount, last order) of each customer with an order by today."""
    if common._derived_current(db, _hi(today)):  # the same figures, read from one small table
        sql = """
            SELECT customer_id, order_count, total_spent, last_order_at FROM customers
            WHERE order_count > 0 ORDER BY customer_id
        """
    else:
        sql = """
            SELECT customer_id, count(*), total(amount), max(ordered_at)
            FROM orders INDEXED BY idx_orders_customer_amount
            WHERE ordered_at < :today_hi GROUP BY customer_id
        """
    return db.execute(sql, {"today_hi": _hi(today)}).fetchall()


@_scan
def _segment_table(db: sqlite_utils.Database, today: date) -> dict[str, str]:
    """Customer id -> segment value: :func:`rfm_scores` without an object per customer."""
    rows = _rfm_rows(db, today)
    value_of = _segment_values()
    codes = _rfm_codes(rows, n=1, m=2, last=3)
    return {row[0]: value_of[code] for row, code in zip(rows, codes, strict=True)}


def _rfm_codes(
    rows: Sequence[Sequence[Any]], *, n: int, m: int, last: int
) -> list[tuple[int, int, int]]:
    """The (R, F, M) scores of each row: ``n`` its orders, ``m`` its amount, ``last`` its last
    order's text. A later last day is a smaller recency; ISO day text sorts like the days, so
    scoring the text gives the same scores as scoring the negated recency."""
    return list(
        zip(
            quintile_scores([row[last][:10] for row in rows]),
            frequency_scores([row[n] for row in rows]),
            quintile_scores([round(row[m], 6) for row in rows]),
            strict=True,
        )
    )


def _segment_values() -> dict[tuple[int, ...], str]:
    """Segment value of every score triple, looked up without a function call."""
    return {code: segment_for(*code).value for code in product(range(1, 6), repeat=3)}


def segments_for(
    db: sqlite_utils.Database, customer_ids: Iterable[str], today: date
) -> dict[str, str]:
    """Segment value (e.g. ``"at_risk"``) of each given customer that has an order by ``today``.

    Read from the stored segments (``customer_segments``, one row per customer, written by
    :func:`refresh_segments` after imports and when the day changes) when they are of
    ``today`` and of the orders as they are (:func:`stored_segments_current`). Otherwise the
    lazy path: RFM scores are relative to the whole customer base, so the first call scores
    everyone (200k customers / 1M orders: about 0.6 s of CPU from the derived columns, 1 s
    when every order must be read); the result is kept in memory until ``today`` or the orders
    change (their count, highest rowid or total amount).
    """
    ids = list(customer_ids)
    if stored_segments_current(db, today):
        out: dict[str, str] = {}
        for cid in ids:
            row = db.execute(
                "SELECT segment FROM customer_segments WHERE customer_id = ?", [cid]
            ).fetchone()
            if row is not None:
                out[cid] = row[0]
        return out
    table = _scored_segments(db, today)
    return {cid: table[cid] for cid in ids if cid in table}


def _scored_segments(db: sqlite_utils.Database, today: date) -> dict[str, str]:
    key = (_db_file(db) or str(id(db.conn)), today, _orders_fingerprint(db))
    table = _SEGMENT_CACHE.get(key)
    if table is None:
        table = _segment_table(db, today)
        _SEGMENT_CACHE.clear()  # one shop, one day: keep only the latest
        _SEGMENT_CACHE[key] = table
    return table


def all_segments(db: sqlite_utils.Database, today: date) -> dict[str, str]:
    """Customer id -> segment value of every customer with an order by ``today``.

    The stored segments when they are current (:func:`stored_segments_current`: one read of
    ``customer_segments``); otherwise the very same scoring in memory (:func:`segments_for`'s
    lazy path), never a write: generation calls this while it reads a snapshot, and may plan
    a day other than the one the stored segments are of.
    """
    if stored_segments_current(db, today):
        return dict(db.execute("SELECT customer_id, segment FROM customer_segments").fetchall())
    return dict(_scored_segments(db, today))


_SEGMENT_CACHE: dict[tuple[str, date, tuple[Any, ...]], dict[str, str]] = {}

SEGMENTS_KIND = "segments"


def _orders_fingerprint(db: sqlite_utils.Database) -> tuple[Any, ...]:
    row = db.execute(
        "SELECT count(*), max(rowid), total(amount) FROM orders "
        "INDEXED BY idx_orders_customer_amount"
    ).fetchone()
    return tuple(row)


def _quick_fingerprint(db: sqlite_utils.Database) -> str:
    """The orders' highest rowid (an index seek): a new order changes it. An import that only
    rewrites existing orders does not, which is why every import refreshes the stored
    segments (see :func:`refresh_segments`)."""
    row = db.execute("SELECT max(rowid) FROM orders").fetchone()
    return str(row[0])


def stored_segments_current(db: sqlite_utils.Database, today: date) -> bool:
    """Whether ``customer_segments`` holds today's segments of the current orders (cheap)."""
    try:
        row = db.execute(
            "SELECT as_of, fingerprint FROM model_fits WHERE kind = ?", [SEGMENTS_KIND]
        ).fetchone()
    except sqlite3.OperationalError:  # an older schema: no stored segments
        return False
    return row is not None and row[0] == today.isoformat() and row[1] == _quick_fingerprint(db)


def refresh_segments(db: sqlite_utils.Database, today: date) -> int:
    """Score every customer's RFM segment as of ``today`` and store it (one transaction).

    Returns the number of customers stored. About a second at 200k customers: run after
    imports and from a background worker, never on the console's first paint.
    """
    rows = _rfm_rows(db, today)
    value_of = _segment_values()
    codes = _rfm_codes(rows, n=1, m=2, last=3)
    fingerprint = _quick_fingerprint(db)
    with write_tx(db):
        db.execute("DELETE FROM customer_segments")
        db.conn.executemany(
            "INSERT INTO customer_segments(customer_id, segment, r, f, m) VALUES (?, ?, ?, ?, ?)",
            ((row[0], value_of[code], *code) for row, code in zip(rows, codes, strict=True)),
        )
        db.execute(
            "INSERT INTO model_fits(kind, as_of, fingerprint, fitted_at, body) "
            "VALUES (?, ?, ?, strftime('%Y-%m-%d %H:%M:%S', 'now'), ?) "
            "ON CONFLICT(kind) DO UPDATE SET as_of = excluded.as_of, "
            "fingerprint = excluded.fingerprint, fitted_at = excluded.fitted_at, "
            "body = excluded.body",
            [SEGMENTS_KIND, today.isoformat(), fingerprint, f'{{"customers": {len(rows)}}}'],
        )
    return len(rows)


def segment_of(db: sqlite_utils.Database, customer_id: str, today: date) -> str | None:
    """The segment of one customer, None without orders: one row when the stored segments
    are current, else see :func:`segments_for` for the cost."""
    return segments_for(db, [customer_id], today).get(customer_id)


def stored_codes(
    db: sqlite_utils.Database, today: date, count: int
) -> list[tuple[int, ...]] | None:
    """The stored (R, F, M) scores of every customer with an order, in customer id order,
    when ``customer_segments`` holds today's scores of the current orders for ``count``
    customers: what :func:`_rfm_codes` would compute from the customers' derived columns
    (:func:`refresh_segments` computed them so), read instead of scored. None otherwise."""
    if not stored_segments_current(db, today):
        return None
    codes = db.execute("SELECT r, f, m FROM customer_segments ORDER BY customer_id").fetchall()
    return codes if len(codes) == count else None
