"""SQL behind the shop's figures; returns ``core.metrics`` dataclasses.

Everything is computed from ``orders``, ``order_lines``, ``touches`` and ``follow_ups``; the
aggregate columns of ``customers`` (order_count, total_spent, ...) are not trusted here, so the
figures stay right whoever filled (or forgot to fill) them.

Times are stored as ``YYYY-MM-DD HH:MM:SS`` text, so a period of inclusive dates is the text
range ``[start, end + 1 day)``.
"""

from __future__ import annotations

import functools
import os
import sqlite3
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import pairwise, product
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

import sqlite_utils

from tui_agent.core import metrics as mt
from tui_agent.core.segments import Rfm, Segment, quintile_scores, score_customers, segment_for

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
    )


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
    db: sqlite_utils.Database, start: date | None, end: date, today: date
) -> tuple[_Windows, list[tuple[Any, ...]]]:
    """One row per customer with an order up to ``today`` (orders after today never count)."""
    w = _windows(db, start, end, today)
    whole = start is None and end >= today  # the same test shop_stats makes
    params = {
        "lo": w.lo,
        "hi": w.hi,
        "today_hi": w.today_hi,
        "end_hi": w.end_hi,
        "year_lo": w.year_lo,
        "base_lo": w.base_lo,
        "mid": w.mid,
    }
    parts = _split_customers(db)
    if len(parts) < 2:
        return w, db.execute(_customer_pass_sql(w, whole), params).fetchall()
    path = _db_file(db)
    assert path is not None

    def run(bounds: tuple[str | None, str | None]) -> list[tuple[Any, ...]]:
        lo, hi = bounds
        conn = sqlite3.connect(Path(path).as_uri() + "?mode=ro", uri=True, timeout=5.0)
        try:
            conn.execute(f"PRAGMA mmap_size = {MMAP_BYTES}")
            sql = _customer_pass_sql(w, whole, lo is not None, hi is not None)
            return conn.execute(sql, {**params, "c_lo": lo, "c_hi": hi}).fetchall()
        finally:
            conn.close()

    with ThreadPoolExecutor(len(parts)) as pool:
        chunks = list(pool.map(run, parts))
    return w, [row for chunk in chunks for row in chunk]


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


def _split_customers(db: sqlite_utils.Database) -> list[tuple[str | None, str | None]]:
    """Customer id ranges ``[lo, hi)`` holding about equal numbers of orders (one = no split)."""
    parts = min(4, os.cpu_count() or 1)
    if parts < 2 or _db_file(db) is None:
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


@_scan
def rfm_scores(
    db: sqlite_utils.Database, today: date, only: Iterable[str] | None = None
) -> list[Rfm]:
    """RFM scores and segment of every customer with an order on or before ``today``.

    Recency is days from the last order to ``today``, frequency the number of distinct orders,
    monetary the sum of their amounts; each is scored 1-5 against all these customers.
    """
    rows = db.execute(
        """
        SELECT customer_id, count(*), total(amount), max(ordered_at)
        FROM orders INDEXED BY idx_orders_customer_amount
        WHERE ordered_at < ? GROUP BY customer_id
        """,
        [_hi(today)],
    ).fetchall()
    return score_customers(
        [(cid, (today - _day(last)).days, n, m) for cid, n, m, last in rows],
        None if only is None else set(only),
    )


def segments_for(
    db: sqlite_utils.Database, customer_ids: Iterable[str], today: date
) -> dict[str, str]:
    """Segment value (e.g. ``"at_risk"``) of each given customer that has an order by ``today``.

    RFM scores are relative to the whole customer base, so the first call scores everyone
    (about 2 s of CPU for 200k customers / 1M orders); the result is kept until ``today`` or the orders
    change (their count, highest rowid or total amount), so the customer card can ask for one
    customer at a time.
    """
    key = (_db_file(db) or str(id(db.conn)), today, _orders_fingerprint(db))
    table = _SEGMENT_CACHE.get(key)
    if table is None:
        table = {r.customer_id: r.segment.value for r in rfm_scores(db, today)}
        _SEGMENT_CACHE.clear()  # one shop, one day: keep only the latest
        _SEGMENT_CACHE[key] = table
    return {cid: table[cid] for cid in customer_ids if cid in table}


_SEGMENT_CACHE: dict[tuple[str, date, tuple[Any, ...]], dict[str, str]] = {}


def _orders_fingerprint(db: sqlite_utils.Database) -> tuple[Any, ...]:
    row = db.execute(
        "SELECT count(*), max(rowid), total(amount) FROM orders "
        "INDEXED BY idx_orders_customer_amount"
    ).fetchone()
    return tuple(row)


def segment_of(db: sqlite_utils.Database, customer_id: str, today: date) -> str | None:
    """The segment of one customer, None without orders. See :func:`segments_for` for cost."""
    return segments_for(db, [customer_id], today).get(customer_id)


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
            FROM orders INDEXED BY idx_orders_customer {where}
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


def _group(
    rows: Iterable[tuple[str, int, float]], baseline: dict[str, float | None], default: float | None
) -> tuple[mt.AttributionRow, ...]:
    acc: dict[str, list[float]] = defaultdict(lambda: [0, 0, 0.0])
    for key, n_orders, revenue in rows:
        a = acc[key]
        a[0] += 1
        a[1] += n_orders > 0
        a[2] += revenue
    out = [
        mt.AttributionRow(k, int(a[0]), int(a[1]), a[2], baseline.get(k, default))
        for k, a in acc.items()
    ]
    out.sort(key=lambda r: (-r.touches, r.key))
    return tuple(out)


def attribution(
    db: sqlite_utils.Database,
    start: date | None,
    end: date,
    window_days: int = mt.DEFAULT_WINDOW_DAYS,
) -> mt.Attribution:
    """For each touch in the period: did the customer order within ``window_days`` after it?

    Conversion and revenue per stage, phrase and agent, against a baseline of follow-ups due in
    the period that were skipped (by an agent or by the frequency cap) and whose customer got no
    touch in the ``window_days`` from the due date. A stage's lift is measured against that
    stage's own baseline when it has one (a wake-up customer buys more anyway), phrases and
    agents against the overall baseline. Revenue is every order in a touch's window, so two
    touches close together both count the same order.
    """
    span = f"+{int(window_days)} days"
    touches = db.execute(
        """
        SELECT t.agent, coalesce(t.phrase_id, :none), coalesce(t.stage, f.stage, :none),
               count(o.order_id), total(o.amount)
        FROM touches t
        LEFT JOIN follow_ups f ON f.id = t.follow_up_id
        LEFT JOIN orders o ON o.customer_id = t.customer_id
             AND o.ordered_at > t.at AND o.ordered_at <= datetime(t.at, :span)
        WHERE t.at >= :lo AND t.at < :hi
        GROUP BY t.id
        """,
        {"lo": _lo(start), "hi": _hi(end), "span": span, "none": NONE_KEY},
    ).fetchall()
    base_rows = db.execute(
        """
        SELECT f.stage, coalesce(f.status_reason, '') LIKE 'cap%', count(o.order_id),
               total(o.amount)
        FROM follow_ups f
        LEFT JOIN orders o ON o.customer_id = f.customer_id
             AND o.ordered_at >= f.due_date AND o.ordered_at < date(f.due_date, :span)
        WHERE f.status = 'skipped' AND f.due_date >= :lo AND f.due_date < :hi
          AND NOT EXISTS (
              SELECT 1 FROM touches t WHERE t.customer_id = f.customer_id
              AND t.at >= f.due_date AND t.at < date(f.due_date, :span))
        GROUP BY f.id
        """,
        {"lo": _lo(start), "hi": _hi(end), "span": span},
    ).fetchall()

    def baseline_of(rows: list[Any]) -> mt.Baseline:
        return mt.Baseline(
            follow_ups=len(rows),
            capped=sum(1 for r in rows if r[1]),
            converted=sum(1 for r in rows if r[2] > 0),
            revenue=float(sum(r[3] for r in rows)),
        )

    overall = baseline_of(base_rows)
    by_stage_rows: dict[str, list[Any]] = defaultdict(list)
    for r in base_rows:
        by_stage_rows[r[0]].append(r)
    stage_baselines = {k: baseline_of(v) for k, v in by_stage_rows.items()}
    stage_conv = {k: b.conversion for k, b in stage_baselines.items()}
    default = overall.conversion
    total = _group(((("all"), n, rev) for _, _, _, n, rev in touches), {}, default)
    return mt.Attribution(
        window_days=window_days,
        total=total[0] if total else mt.AttributionRow("all", 0, 0, 0.0, default),
        baseline=overall,
        by_stage=_group(((st, n, rev) for _, _, st, n, rev in touches), stage_conv, default),
        by_phrase=_group(((ph, n, rev) for _, ph, _, n, rev in touches), {}, default),
        by_agent=_group(((ag, n, rev) for ag, _, _, n, rev in touches), {}, default),
        baseline_by_stage=stage_baselines,
    )


@_scan
def shop_stats(
    db: sqlite_utils.Database,
    start: date | None,
    end: date,
    today: date,
    *,
    lifetime_years: float | None = None,
    window_days: int = mt.DEFAULT_WINDOW_DAYS,
    categories: bool = False,
) -> mt.ShopStats:
    """Every figure of the period ``start..end`` (inclusive; ``start`` None = all history).

    Repurchase rate: of the customers who ordered in the period, the share with 2+ distinct
    orders in it. Segments are RFM as of ``today`` over all orders up to ``today``; orders
    dated after ``today`` are ignored everywhere. The per-category breakdown must join every
    order line (the slowest figure on big shops), so ``by_category`` is None unless
    ``categories=True`` (or call :func:`category_stats` on its own, e.g. in a worker).
    """
    w, rows = _customer_pass(db, start, end, today)
    whole = start is None and end >= today
    # A later last order is a better recency; ISO day text sorts like the days themselves.
    r_scores = quintile_scores([r[_LAST][:10] for r in rows])
    f_scores = quintile_scores([r[_N] for r in rows])
    m_scores = quintile_scores([r[_M] for r in rows])

    customers = repeat = orders = 0
    revenue = span = 0.0
    gaps = year_orders = year_customers = base = retained = 0
    year_revenue = 0.0
    cohort_n: dict[str, int] = defaultdict(int)
    cohort_rep: dict[str, list[int]] = defaultdict(lambda: [0] * len(mt.COHORT_DAYS))
    seg_acc: dict[Segment, list[float]] = {s: [0, 0, 0, 0.0] for s in Segment}
    # One accumulator per score triple, looked up without a function call (200k customers).
    by_code = {code: seg_acc[segment_for(*code)] for code in product(range(1, 6), repeat=3)}
    lo, hi = w.lo, w.hi
    cohort_days = mt.COHORT_DAYS
    # Unpacking each row once (not r[_X] lookups) matters: this loop runs once per customer.
    for row, rs, fs, ms in zip(rows, r_scores, f_scores, m_scores, strict=True):
        _, n, m, first, _, n_p, m_p, span_p, second, n_y, m_y, in_base, later = row
        if whole:
            n_p, m_p = n, m
        acc = by_code[rs, fs, ms]
        acc[0] += 1
        acc[3] += m
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

    cohorts = []
    for month in sorted(cohort_n):
        reps = tuple(cohort_rep.get(month, [0] * len(mt.COHORT_DAYS)))
        mature_after = _month_end(month)
        rates = tuple(
            mt.ratio(reps[i], cohort_n[month])
            if mature_after + timedelta(days=limit) <= today
            else None
            for i, limit in enumerate(mt.COHORT_DAYS)
        )
        cohorts.append(mt.CohortRow(month, cohort_n[month], reps, rates))

    ltv = mt.ltv_figures(
        date.fromisoformat(w.year_lo),
        end,
        year_orders,
        year_revenue,
        year_customers,
        (base, retained, w.estimate_days) if w.mid else None,
        lifetime_years,
    )
    by_segment = tuple(
        mt.SegmentRow(s, int(a[0]), int(a[1]), int(a[2]), a[3]) for s, a in seg_acc.items()
    )
    return mt.ShopStats(
        period=mt.Period(start, end),
        today=today,
        customers=customers,
        orders=orders,
        revenue=revenue,
        repurchase=mt.Repurchase(customers, repeat),
        avg_gap_days=mt.gap_days(span, gaps),
        ltv=ltv,
        cohorts=tuple(cohorts),
        by_category=tuple(category_stats(db, start, min(end, today))) if categories else None,
        by_segment=by_segment,
        attribution=attribution(db, start, end, window_days),
    )


def ltv_figures(
    db: sqlite_utils.Database, end: date, lifetime_years: float | None = None
) -> mt.LtvFigures:
    """LTV inputs over the 365 days ending on ``end``; lifetime configured, else estimated.

    The estimate compares two equal windows ending on ``end`` (a year each when the data
    reaches back two years, else half the history): of the customers who ordered in the
    earlier window, the share who ordered again in the later one is the retention.
    """
    return shop_stats(db, end, end, end, lifetime_years=lifetime_years, categories=False).ltv


def daily_series(
    db: sqlite_utils.Database,
    start: date | None,
    end: date,
    *,
    window_days: int = mt.DEFAULT_WINDOW_DAYS,
) -> mt.DailySeries:
    """Touches and repurchases (a customer's 2nd or later order) per day, and conversion per
    stage, for the console's small charts. ``start`` None means the 30 days ending on ``end``.
    """
    first = start or end - timedelta(days=29)
    lo, hi = first.isoformat(), _hi(end)
    touches = dict(
        db.execute(
            "SELECT date(at), count(*) FROM touches WHERE at >= ? AND at < ? GROUP BY 1", [lo, hi]
        ).fetchall()
    )
    repurchases = dict(
        db.execute(
            """
            SELECT date(o.ordered_at), count(*) FROM orders o
            WHERE o.ordered_at >= ? AND o.ordered_at < ? AND EXISTS (
                SELECT 1 FROM orders p WHERE p.customer_id = o.customer_id
                AND (p.ordered_at < o.ordered_at
                     OR (p.ordered_at = o.ordered_at AND p.order_id < o.order_id)))
            GROUP BY 1
            """,
            [lo, hi],
        ).fetchall()
    )
    days = tuple(first + timedelta(days=i) for i in range((end - first).days + 1))
    a = attribution(db, first, end, window_days)
    return mt.DailySeries(
        days=days,
        touches=tuple(int(touches.get(d.isoformat(), 0)) for d in days),
        repurchases=tuple(int(repurchases.get(d.isoformat(), 0)) for d in days),
        stage_conversion=tuple((r.key, r.conversion) for r in a.by_stage),
    )


EXPORT_KINDS = ("touches", "customers", "segments")


def export_rows(
    db: sqlite_utils.Database, kind: str, today: date
) -> tuple[list[str], Iterator[tuple[Any, ...]]]:
    """Header and rows of one export (``touches``, ``customers`` or ``segments``)."""
    if kind == "touches":
        header = [
            "id", "at", "agent", "customer_id", "follow_up_id", "stage", "phrase_id",
            "channel", "outcome", "text",
        ]  # fmt: skip
        cur = db.execute(
            "SELECT id, at, agent, customer_id, follow_up_id, stage, phrase_id, channel, "
            "outcome, text FROM touches ORDER BY at, id"
        )
        return header, (tuple(r) for r in cur)
    rfm = {r.customer_id: r for r in rfm_scores(db, today)}
    if kind == "customers":
        header = [
            "customer_id", "name", "tier", "orders", "spent", "first_order_at", "last_order_at",
            "recency_days", "r", "f", "m", "segment",
        ]  # fmt: skip
        cur = db.execute(
            """
            SELECT c.customer_id, c.name, c.tier, count(o.order_id), total(o.amount),
                   min(o.ordered_at), max(o.ordered_at)
            FROM customers c LEFT JOIN orders o
                 ON o.customer_id = c.customer_id AND o.ordered_at < ?
            GROUP BY c.customer_id ORDER BY c.customer_id
            """,
            [_hi(today)],
        )

        def customers() -> Iterator[tuple[Any, ...]]:
            for row in cur:
                x = rfm.get(row[0])
                if x is None:
                    yield (*row, None, None, None, None, None)
                else:
                    yield (*row, x.recency_days, x.r, x.f, x.m, x.segment.value)

        return header, customers()
    if kind == "segments":
        header = ["segment", "label", "label_zh", "customers", "share", "orders", "monetary"]
        acc: dict[Segment, list[float]] = {s: [0, 0, 0.0] for s in Segment}
        for x in rfm.values():
            a = acc[x.segment]
            a[0] += 1
            a[1] += x.frequency
            a[2] += x.monetary
        n = len(rfm)
        return header, (
            (
                s.value,
                s.label,
                s.label_zh,
                int(a[0]),
                round(a[0] / n, 4) if n else 0.0,
                int(a[1]),
                round(a[2], 2),
            )
            for s, a in acc.items()
        )
    raise ValueError(f"unknown export {kind!r}; choose one of {', '.join(EXPORT_KINDS)}")
