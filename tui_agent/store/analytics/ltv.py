"""The LTV year's sums (orders, revenue, customers), the lifetime estimate's retention and the
established customers' orders, where the per-customer passes of :mod:`.passes` cannot give them
on the way."""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlite_utils

from tui_agent.store.analytics.common import _Windows

if TYPE_CHECKING:
    from tui_agent.store.analytics.passes import _Fold


def _year_revenue(db: sqlite_utils.Database, w: _Windows) -> float:
    """The LTV year's revenue, summed per customer, then over customers in id order, as the
    orders pass does (so the float is the same)."""
    year_revenue = 0.0
    for (m,) in db.execute(
        """
        SELECT total(amount) FROM orders INDEXED BY idx_orders_customer_amount
        WHERE ordered_at >= ? AND ordered_at < ? GROUP BY customer_id
        """,
        [w.year_lo, w.end_hi],
    ):
        year_revenue += m
    return year_revenue


def _year_sums(db: sqlite_utils.Database, w: _Windows, f: _Fold) -> None:
    """The LTV year's orders, revenue and customers, and the retention of the estimate.

    Summed per customer first, then over customers in customer id order, like the orders pass.
    """
    est = w.mid is not None
    lo = min(w.year_lo, w.base_lo) if w.base_lo is not None else w.year_lo
    in_y = "o.ordered_at >= :year_lo"
    sql = f"""
        SELECT nullif(sum({in_y}), 0), total(o.amount) FILTER (WHERE {in_y})
               {
        ", max(o.ordered_at >= :base_lo AND o.ordered_at < :mid), max(o.ordered_at >= :mid)"
        if est
        else ", 0, 0"
    }
        FROM orders o INDEXED BY idx_orders_customer_amount
        WHERE o.ordered_at >= :lo AND o.ordered_at < :end_hi
        GROUP BY o.customer_id
    """
    params = {
        "year_lo": w.year_lo, "base_lo": w.base_lo, "mid": w.mid, "lo": lo, "end_hi": w.end_hi,
    }  # fmt: skip
    year_orders = year_customers = base = retained = 0
    year_revenue = 0.0
    for n_y, m_y, in_base, later in db.execute(sql, params):
        if n_y:
            year_orders += n_y
            year_revenue += m_y
            year_customers += 1
        if in_base:
            base += 1
            retained += later
    f.year_orders, f.year_revenue, f.year_customers = year_orders, year_revenue, year_customers
    f.base, f.retained = base, retained


def _established(db: sqlite_utils.Database, w: _Windows) -> tuple[int, int]:
    """Orders in the LTV year, and their customers, of customers who ordered before it began.

    One pass over the covering index (about 0.2 s of CPU at 1M orders)."""
    row = db.execute(
        """
        SELECT total(n), count(*) FROM (
            SELECT sum(ordered_at >= :year_lo) AS n, min(ordered_at) AS first
            FROM orders INDEXED BY idx_orders_customer_amount
            WHERE ordered_at < :end_hi GROUP BY customer_id)
        WHERE first < :year_lo AND n > 0
        """,
        {"year_lo": w.year_lo, "end_hi": w.end_hi},
    ).fetchone()
    return int(row[0]), int(row[1])
