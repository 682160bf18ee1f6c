"""The per-customer passes behind the shop figures, folded into sums (:class:`_Fold`).

The derived columns of ``customers`` (order_count, total_spent, first/last order, kept by the
importer's ``refresh_derived``) stand in for a scan of every order only after a cheap check that
they describe the orders up to today (:func:`.common._derived_current`): :func:`_fold_derived`.
Otherwise, or with orders dated after today, the figures come from the orders alone
(:func:`_fold_orders`), so they stay right whoever filled (or forgot to fill) those columns.
Both ways give the same figures (tested to the last bit).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import product
from typing import Any

import sqlite_utils

from tui_agent.core import metrics as mt
from tui_agent.core.segments import Segment, segment_for
from tui_agent.store.analytics.common import _in_parts, _Windows, _windows
from tui_agent.store.analytics.ltv import _year_revenue, _year_sums
from tui_agent.store.analytics.repurchase import _months_of
from tui_agent.store.analytics.rfm import _rfm_codes, stored_codes


def _customer_pass_sql(
    w: _Windows, whole_period: bool, c_lo: bool = False, c_hi: bool = False
) -> str:
    """One GROUP BY over the covering index: every per-customer figure in a single read.

    The SQL is put together from fixed fragments (no user text) so that columns the period does
    not need cost nothing: with no ``--from`` and ``--to`` today the period columns are the
    plain aggregates.
    """
    in_p = "o.ordered_at >= :lo AND o.ordered_at < :hi"
    if whole_period:
        # Count and amount of the period are the plain aggregates: read those, not twice.
        period = "NULL, NULL, julianday(max(o.ordered_at)) - julianday(min(o.ordered_at))"
    else:
        period = (
            f"sum({in_p}), total(CASE WHEN {in_p} THEN o.amount END), "
            f"julianday(max(CASE WHEN {in_p} THEN o.ordered_at END)) "
            f"- julianday(min(CASE WHEN {in_p} THEN o.ordered_at END))"
        )
    in_y = "o.ordered_at >= :year_lo" + ("" if whole_period else " AND o.ordered_at < :end_hi")
    estimate = (
        "max(o.ordered_at >= :base_lo AND o.ordered_at < :mid), "
        "max(o.ordered_at >= :mid AND o.ordered_at < :end_hi)"
        if w.mid
        else "0, 0"
    )
    return f"""
        SELECT o.customer_id, count(*), total(o.amount), min(o.ordered_at), max(o.ordered_at),
               {period},
               CASE WHEN count(*) >= 2 AND min(o.ordered_at) >= :lo AND min(o.ordered_at) < :hi
               THEN julianday((
                   SELECT o2.ordered_at FROM orders o2
                   WHERE o2.customer_id = o.customer_id AND o2.ordered_at < :today_hi
                   ORDER BY o2.ordered_at LIMIT 1 OFFSET 1)) - julianday(min(o.ordered_at))
               END,
               sum({in_y}), total(CASE WHEN {in_y} THEN o.amount END),
               {estimate}
        FROM orders o INDEXED BY idx_orders_customer_amount
        WHERE o.ordered_at < :today_hi {"AND o.customer_id >= :c_lo" if c_lo else ""}
              {"AND o.customer_id < :c_hi" if c_hi else ""}
        GROUP BY o.customer_id
    """


# Columns of a pass row (shop_stats unpacks them in this order).
_N, _M, _LAST = 1, 2, 4


def _customer_pass(
    db: sqlite_utils.Database, start: date | None, end: date, today: date, w: _Windows | None = None
) -> tuple[_Windows, list[tuple[Any, ...]]]:
    """One row per customer with an order up to ``today`` (orders after today never count)."""
    w = w or _windows(db, start, end, today)
    whole = start is None and end >= today  # the same test shop_stats makes
    params = w.params()
    return w, _in_parts(db, lambda c_lo, c_hi: _customer_pass_sql(w, whole, c_lo, c_hi), params)


@dataclass(slots=True)
class _Fold:
    """The sums one stats pass folds its per-customer rows into (see :func:`shop_stats`)."""

    customers: int = 0
    repeat: int = 0
    orders: int = 0
    revenue: float = 0.0
    span: float = 0.0
    gaps: int = 0
    year_orders: int = 0
    year_revenue: float = 0.0
    year_customers: int = 0
    base: int = 0
    retained: int = 0
    cohort_n: dict[str, int] = field(default_factory=dict)
    cohort_rep: dict[str, list[int]] = field(default_factory=dict)
    seg_acc: dict[Segment, list[float]] = field(
        default_factory=lambda: {s: [0, 0, 0, 0.0] for s in Segment}
    )
    # Worked out on the way when the fold can (else None: see shop_stats).
    established: tuple[int, int] | None = None
    by_month: tuple[mt.MonthRepurchase, ...] | None = None

    def by_code(self) -> dict[tuple[int, ...], list[float]]:
        """One accumulator per score triple, looked up without a function call."""
        return {c: self.seg_acc[segment_for(*c)] for c in product(range(1, 6), repeat=3)}


def _fold_orders(
    db: sqlite_utils.Database, w: _Windows, whole: bool, start: date | None, end: date, today: date
) -> _Fold:
    """Every figure from the orders themselves: one GROUP BY pass over the covering index."""
    _, rows = _customer_pass(db, start, end, today, w)
    f = _Fold()
    codes = _rfm_codes(rows, n=_N, m=_M, last=_LAST)

    customers = repeat = orders = 0
    revenue = span = 0.0
    gaps = year_orders = year_customers = base = retained = 0
    year_revenue = 0.0
    cohort_n: dict[str, int] = defaultdict(int)
    cohort_rep: dict[str, list[int]] = defaultdict(lambda: [0] * len(mt.COHORT_DAYS))
    by_code = f.by_code()
    lo, hi = w.lo, w.hi
    cohort_days = mt.COHORT_DAYS
    # Unpacking each row once (not r[_X] lookups) matters: this loop runs once per customer.
    for row, code in zip(rows, codes, strict=True):
        _, n, m, first, _, n_p, m_p, span_p, second, n_y, m_y, in_base, later = row
        if whole:
            n_p, m_p = n, m
        acc = by_code[code]
        acc[0] += 1
        acc[3] += round(m, 2)  # cents, as the derived total_spent: same sums either way
        if n_p:
            customers += 1
            orders += n_p
            revenue += m_p
            acc[1] += 1
            if n_p >= 2:
                repeat += 1
                span += span_p
                gaps += n_p - 1
                acc[2] += 1
        if n_y:
            year_orders += n_y
            year_revenue += m_y
            year_customers += 1
        if in_base:
            base += 1
            retained += later
        if lo <= first < hi:
            month = first[:7]
            cohort_n[month] += 1
            if second is not None:
                counts = cohort_rep[month]
                for i, limit in enumerate(cohort_days):
                    if second <= limit:
                        counts[i] += 1
    f.customers, f.repeat, f.orders, f.revenue, f.span, f.gaps = (
        customers, repeat, orders, revenue, span, gaps,
    )  # fmt: skip
    f.year_orders, f.year_revenue, f.year_customers = year_orders, year_revenue, year_customers
    f.base, f.retained = base, retained
    f.cohort_n, f.cohort_rep = dict(cohort_n), dict(cohort_rep)
    return f


def _derived_rows_sql(estimate: bool, whole: bool) -> str:
    """Per customer with orders, in customer id order (the order the orders pass adds its sums
    in, so the floats come out the same): id (only when the period needs it), count, amount,
    first and last order, the span from first to last, the days from the first order to the
    second, and, for the lifetime estimate, whether there was an order in the earlier window
    when first and last cannot tell. Then what :func:`_months_of` needs for the repurchase by
    month besides the first and last order: whether the customer stayed a one-time buyer in
    the month of their first order, and the months strictly between first and last.

    Each customer's orders are read with a seek in the covering index, and only when first
    and last cannot tell: the second order (2+ orders), the orders in the earlier estimate
    window, the months in between (3+ orders). ``OFFSET 0`` keeps the inner query a
    co-routine (SQLite does not flatten it), so the second order is looked up once and the
    rows stream in the inner query's customer id order, with no sort.
    """
    between = (
        """CASE WHEN c.first_order_at < :base_lo AND c.last_order_at >= :mid THEN EXISTS (
               SELECT 1 FROM orders o INDEXED BY idx_orders_customer_amount
               WHERE o.customer_id = c.customer_id
                 AND o.ordered_at >= :base_lo AND o.ordered_at < :mid) END"""
        if estimate
        else "NULL"
    )
    # A month's text bounds: every 'YYYY-MM-DD ...' of the month sorts after 'YYYY-MM-00' and
    # before 'YYYY-MM-32', and every other month's outside them.
    return f"""
        SELECT {"NULL" if whole else "x.id"}, x.n, x.m, x.first, x.last,
               CASE WHEN x.n >= 2 THEN julianday(x.last) - x.first_day END,
               julianday(x.second) - x.first_day, x.in_base,
               CASE WHEN x.first < :month_lo THEN NULL
                    WHEN x.n = 1 THEN 1
                    WHEN x.second > x.first THEN x.second >= substr(x.first, 1, 8) || '32'
                    ELSE NOT EXISTS (
                        SELECT 1 FROM orders o INDEXED BY idx_orders_customer_amount
                        WHERE o.customer_id = x.id AND o.ordered_at > x.first
                          AND o.ordered_at < substr(x.first, 1, 8) || '32') END,
               CASE WHEN x.n >= 3 AND x.last >= :month_lo THEN (
                   SELECT group_concat(DISTINCT substr(o.ordered_at, 1, 7))
                   FROM orders o INDEXED BY idx_orders_customer_amount
                   WHERE o.customer_id = x.id
                     AND o.ordered_at >= substr(x.first, 1, 8) || '32'
                     AND o.ordered_at < substr(x.last, 1, 8) || '00'
                     AND o.ordered_at >= :month_lo) END
        FROM (
            SELECT c.customer_id AS id, c.order_count AS n, c.total_spent AS m,
                   c.first_order_at AS first, c.last_order_at AS last,
                   CASE WHEN c.order_count >= 2 THEN julianday(c.first_order_at) END
                       AS first_day,
                   CASE WHEN c.order_count >= 2 AND (c.first_order_at >= :month_lo
                        OR (c.first_order_at >= :lo AND c.first_order_at < :hi)) THEN (
                       SELECT o.ordered_at FROM orders o INDEXED BY idx_orders_customer_amount
                       WHERE o.customer_id = c.customer_id
                       ORDER BY o.ordered_at LIMIT 1 OFFSET 1) END AS second,
                   {between} AS in_base
            FROM customers c WHERE c.order_count > 0
            ORDER BY c.customer_id LIMIT -1 OFFSET 0) AS x
    """


# The period's own figures when it is not all history: only its orders are aggregated.
_PERIOD_SQL = """
    SELECT customer_id, count(*), total(amount),
           julianday(max(ordered_at)) - julianday(min(ordered_at))
    FROM orders INDEXED BY idx_orders_customer_amount
    WHERE ordered_at >= :lo AND ordered_at < :hi GROUP BY customer_id
"""


def _fold_derived(db: sqlite_utils.Database, w: _Windows, whole: bool) -> _Fold:
    """The figures from the customers' derived columns (see :func:`.common._derived_current`).

    Segments, cohorts and the repurchase by month are about all orders up to today, which
    (no order being after today) is what the derived columns hold. A customer's first and
    last order also answer who ordered in the LTV year (last order in it), who was a customer
    before it (first order before it: the LTV year's other orders are all of the newer
    customers' orders) and who was in the estimate's earlier window and came back in the
    later one, when those windows end today. What is left reads orders: the period's own
    figures (unless it is all history) and the year's revenue.
    """
    ends_today = w.end_hi == w.today_hi
    est = w.mid is not None and ends_today
    params = w.params()
    # Every read here stays on this connection, one after the other: read beside it in
    # threads (the year's revenue, the touches' attribution, the summaries), `stats` took
    # 1.77-1.88 s instead of 1.49-1.57 s and 20% more CPU on 2 cores, the threads waiting on
    # the GIL for every row they build (and reading without the memory map).
    rows = db.execute(_derived_rows_sql(est, whole), params).fetchall()
    period: dict[str, tuple[int, float, float]] = {}
    if not whole:
        period = {r[0]: r[1:] for r in db.execute(_PERIOD_SQL, params)}
    f = _Fold()
    # The scores as of today (the derived columns hold every order up to it): stored ones
    # when they are current, instead of scoring 200k customers again (~0.5 s).
    today = date.fromisoformat(w.today_hi) - timedelta(days=1)
    stored = stored_codes(db, today, len(rows))
    codes = stored if stored is not None else _rfm_codes(rows, n=1, m=2, last=4)
    by_code = f.by_code()
    customers = repeat = orders = gaps = year_customers = base = retained = 0
    established = newer_orders = 0
    revenue = span = 0.0
    cohort_n: dict[str, int] = defaultdict(int)
    cohort_rep: dict[str, list[int]] = defaultdict(lambda: [0] * len(mt.COHORT_DAYS))
    cohort_days = mt.COHORT_DAYS
    lo, hi, year_lo = w.lo, w.hi, w.year_lo
    # Without these windows no text is >= "~": the tests below are then always false.
    base_lo, mid = (w.base_lo, w.mid) if est and w.base_lo and w.mid else ("~", "~")
    if not ends_today:
        year_lo = "~"
    none = (0, 0.0, 0.0)
    for (cid, n, m, first, last, span_c, second, between, _, _), code in zip(
        rows, codes, strict=True
    ):
        acc = by_code[code]
        acc[0] += 1
        acc[3] += round(m, 2)  # cents, as the derived total_spent: same sums either way
        if whole:
            n_p, m_p, span_p = n, m, span_c
        else:
            n_p, m_p, span_p = period.get(cid, none)
        if n_p:
            customers += 1
            orders += n_p
            revenue += m_p
            acc[1] += 1
            if n_p >= 2:
                repeat += 1
                span += span_p
                gaps += n_p - 1
                acc[2] += 1
        if lo <= first < hi:
            month = first[:7]
            cohort_n[month] += 1
            if second is not None:
                counts = cohort_rep[month]
                for i, limit in enumerate(cohort_days):
                    if second <= limit:
                        counts[i] += 1
        if last >= year_lo:
            year_customers += 1
            if first < year_lo:
                established += 1
            else:
                newer_orders += n  # every order of theirs is in the year
        # An order in [base_lo, mid): first or last is in it, or (both outside) `between`.
        if last >= base_lo and first < mid and between != 0:
            base += 1
            retained += last >= mid
    f.customers, f.repeat, f.orders, f.revenue, f.span, f.gaps = (
        customers, repeat, orders, revenue, span, gaps,
    )  # fmt: skip
    f.cohort_n, f.cohort_rep = dict(cohort_n), dict(cohort_rep)
    f.by_month = _months_of(((r[3][:7], r[4][:7], r[8], r[9]) for r in rows), w.month_lo)
    if ends_today:
        f.year_customers, f.base, f.retained = year_customers, base, retained
        f.year_orders = db.execute(
            "SELECT count(*) FROM orders WHERE ordered_at >= ? AND ordered_at < ?",
            [w.year_lo, w.end_hi],
        ).fetchone()[0]
        f.established = (f.year_orders - newer_orders, established)
        f.year_revenue = _year_revenue(db, w)
    else:
        _year_sums(db, w, f)
    return f
