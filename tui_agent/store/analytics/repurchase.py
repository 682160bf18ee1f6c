"""Repurchase over time and by category: the repurchase by month (the stats screen's line),
the shop's average days between orders, and repurchase per category."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import date

import sqlite_utils

from tui_agent.core import metrics as mt
from tui_agent.store.analytics import common
from tui_agent.store.analytics.common import (
    NONE_KEY,
    REPURCHASE_MONTHS,
    _hi,
    _lo,
    _months_lo,
    _scan,
)


def repurchase_by_month(
    db: sqlite_utils.Database, today: date, months: int = REPURCHASE_MONTHS
) -> tuple[mt.MonthRepurchase, ...]:
    """Per calendar month (the last ``months`` up to today's): customers who ordered in it,
    and how many of them had ordered before (a returning customer: an order after their
    first). The repurchase rate over time, for the stats screen's line.

    One pass over the covering index, grouped by customer and month (SQLite sorts every order
    of the months for that: 0.7 s of CPU at 500k orders); each group's latest order is
    compared with the customer's first order. :func:`shop_stats` gets the same figures from
    the derived columns for less when they are current (:func:`_months_of`).
    """
    lo = _months_lo(today, months)
    today_hi = _hi(today)
    if common._derived_current(db, today_hi):
        first = "(SELECT c.first_order_at FROM customers c WHERE c.customer_id = o.customer_id)"
    else:
        first = (
            "(SELECT min(p.ordered_at) FROM orders p INDEXED BY idx_orders_customer_amount "
            "WHERE p.customer_id = o.customer_id)"
        )
    rows = db.execute(
        f"""
        SELECT m, count(*), total(came_back) FROM (
            SELECT substr(o.ordered_at, 1, 7) AS m, max(o.ordered_at) > {first} AS came_back
            FROM orders o INDEXED BY idx_orders_customer_amount
            WHERE o.ordered_at >= :lo AND o.ordered_at < :hi
            GROUP BY o.customer_id, m)
        GROUP BY m ORDER BY m
        """,
        {"lo": lo, "hi": today_hi},
    ).fetchall()
    return tuple(mt.MonthRepurchase(m, int(n), int(r)) for m, n, r in rows)


def _months_of(
    keys: Iterable[tuple[str, str, int | None, str | None]], month_lo: str
) -> tuple[mt.MonthRepurchase, ...]:
    """The repurchase by month (see :func:`repurchase_by_month`) from one key per customer:
    the months of their first and last order, whether they stayed a one-time buyer in the
    month of their first order (None when that month is before ``month_lo``) and the months
    of their orders strictly between (text joined by commas, or None).

    A customer counts in each month they ordered in; they are returning there unless it is
    the month of their first order and every order of theirs in it was that first one.
    Customers sharing a key are counted together.
    """
    lo = month_lo[:7]
    customers: dict[str, int] = defaultdict(int)
    stayed: dict[str, int] = defaultdict(int)
    for (first, last, stay, middle), k in Counter(keys).items():
        months = {m for m in (first, last) if m >= lo}
        if middle:
            months.update(middle.split(","))
        for m in months:
            customers[m] += k
        if stay:
            stayed[first] += k
    return tuple(
        mt.MonthRepurchase(m, customers[m], customers[m] - stayed[m]) for m in sorted(customers)
    )


@_scan
def avg_gap_days(db: sqlite_utils.Database, end: date | None = None) -> float | None:
    """Shop-wide average days between a customer's consecutive orders (all history).

    Pooled over every gap of every customer with 2+ orders; None when nobody has ordered twice.
    This is the default for the win-back rule.
    """
    where, params = ("", []) if end is None else ("WHERE ordered_at < ?", [_hi(end)])
    span, gaps = db.execute(
        f"""
        SELECT total(span), total(n - 1) FROM (
            SELECT julianday(max(ordered_at)) - julianday(min(ordered_at)) AS span, count(*) AS n
            FROM orders INDEXED BY idx_orders_customer_amount {where}
            GROUP BY customer_id HAVING count(*) >= 2)
        """,
        params,
    ).fetchone()
    return mt.gap_days(span, int(gaps))


@_scan
def category_stats(
    db: sqlite_utils.Database, start: date | None, end: date
) -> list[mt.CategoryRow]:
    """Repurchase and days between orders per category, over the period's orders.

    A customer repurchased a category with 2+ distinct orders holding a line of it.
    """
    rows = db.execute(
        """
        SELECT category, count(*), total(n >= 2),
               total(CASE WHEN n >= 2 THEN span END), total(CASE WHEN n >= 2 THEN n - 1 END)
        FROM (
            SELECT coalesce(l.category, :none) AS category, o.customer_id,
                   count(DISTINCT o.order_id) AS n,
                   julianday(max(o.ordered_at)) - julianday(min(o.ordered_at)) AS span
            FROM orders o NOT INDEXED  -- one pass over the table beats a lookup per order
            JOIN order_lines l ON l.order_id = o.order_id
            WHERE o.ordered_at >= :lo AND o.ordered_at < :hi
            GROUP BY 1, 2)
        GROUP BY category
        ORDER BY count(*) DESC, category
        """,
        {"lo": _lo(start), "hi": _hi(end), "none": NONE_KEY},
    ).fetchall()
    return [
        mt.CategoryRow(cat, n, int(rep), mt.gap_days(span, int(gaps)))
        for cat, n, rep, span, gaps in rows
    ]
