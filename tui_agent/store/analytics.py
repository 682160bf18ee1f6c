"""SQL behind the shop's figures; returns ``core.metrics`` dataclasses.

Everything is computed from ``orders``, ``order_lines``, ``touches`` and ``follow_ups``. The
derived columns of ``customers`` (order_count, total_spent, first/last order, kept by the
importer's ``refresh_derived``) stand in for a scan of every order only after a cheap check that
they describe the orders up to today (:func:`_derived_current`); otherwise, or with orders dated
after today, the figures come from the orders alone, so they stay right whoever filled (or
forgot to fill) those columns. Both ways give the same figures (tested to the last bit).

Times are stored as ``YYYY-MM-DD HH:MM:SS`` text, so a period of inclusive dates is the text
range ``[start, end + 1 day)``.
"""

from __future__ import annotations

import functools
import os
import sqlite3
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import pairwise, product
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

import sqlite_utils

from tui_agent.core import metrics as mt
from tui_agent.core.segments import (
    Rfm,
    Segment,
    frequency_scores,
    quintile_scores,
    score_customers,
    segment_for,
)
from tui_agent.store.db import write_tx
from tui_agent.store.outcomes import latest_outcome_sql, live_touch

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
    month_lo: str  # the repurchase by month: first day of its first month


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
    params = {
        "lo": w.lo,
        "hi": w.hi,
        "today_hi": w.today_hi,
        "end_hi": w.end_hi,
        "year_lo": w.year_lo,
        "base_lo": w.base_lo,
        "mid": w.mid,
    }
    return w, _in_parts(db, lambda c_lo, c_hi: _customer_pass_sql(w, whole, c_lo, c_hi), params)


def _read_only(path: str) -> sqlite3.Connection:
    """A read connection of its own to the shop's file, memory-mapped like the main one."""
    conn = sqlite3.connect(Path(path).as_uri() + "?mode=ro", uri=True, timeout=5.0)
    conn.execute(f"PRAGMA mmap_size = {MMAP_BYTES}")
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


def _beside(db: sqlite_utils.Database, fn: Callable[[sqlite_utils.Database], R]) -> Callable[[], R]:
    """Start ``fn`` on a read connection of its own, in a thread (SQLite releases the GIL
    while it steps), so it runs beside what the caller does next; returns a function that
    waits for its result. In memory or on small shops: run right here."""
    path = _db_file(db)
    if path is None or len(_split_customers(db)) < 2:
        result = fn(db)
        return lambda: result

    def run() -> R:
        conn = _read_only(path)
        try:
            return fn(sqlite_utils.Database(conn))
        finally:
            conn.close()

    pool = ThreadPoolExecutor(1)
    future = pool.submit(run)
    pool.shutdown(wait=False)
    return future.result


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
    rows = _rfm_rows(db, today)
    return score_customers(
        [(cid, (today - _day(last)).days, n, m) for cid, n, m, last in rows],
        None if only is None else set(only),
    )


def _rfm_rows(db: sqlite_utils.Database, today: date) -> list[tuple[Any, ...]]:
    """(customer id, orders, amount, last order) of each customer with an order by today."""
    if _derived_current(db, _hi(today)):  # the same figures, read from one small table
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


def _group(
    rows: Iterable[tuple[str, int, float]],
    baseline: dict[str, mt.Baseline],
    default: mt.Baseline,
) -> tuple[mt.AttributionRow, ...]:
    acc: dict[str, list[float]] = defaultdict(lambda: [0, 0, 0.0])
    for key, n_orders, revenue in rows:
        a = acc[key]
        a[0] += 1
        a[1] += n_orders > 0
        a[2] += revenue
    out = []
    for k, a in acc.items():
        b = baseline.get(k, default)
        out.append(
            mt.AttributionRow(
                k, int(a[0]), int(a[1]), a[2], b.conversion, b.converted, b.follow_ups
            )
        )
    out.sort(key=lambda r: (-r.touches, r.key))
    return tuple(out)


def attribution(
    db: sqlite_utils.Database,
    start: date | None,
    end: date,
    window_days: int = mt.DEFAULT_WINDOW_DAYS,
    *,
    today: date | None = None,
) -> mt.Attribution:
    """For each touch in the period: did the customer order within ``window_days`` after it?

    Only touches whose window has closed by ``today`` (default ``end``) count; the others are
    reported apart as maturing, with the orders they have had so far. Orders after ``today``
    never count.

    Conversion and revenue per stage, phrase and agent, against a baseline of follow-ups due in
    the period, whose window has closed, that nobody worked (skipped by an agent), and whose
    customer had no touch from ``window_days`` before the due day to ``window_days`` after it:
    a capped follow-up (skipped because the customer had just been touched) is never a
    baseline, nor is a customer whose order a touch already claims. A stage's lift is measured
    against that stage's own baseline when it has one (a wake-up customer buys more anyway),
    phrases and agents against the overall baseline. Revenue is every order in a touch's
    window, so two touches close together both count the same order.
    """
    today = today or end
    span = f"+{int(window_days)} days"
    live = live_touch("t")  # a retracted touch (undo) is not a contact
    params = {
        "lo": _lo(start),
        "hi": _hi(end),
        "span": span,
        "back": f"-{int(window_days)} days",
        "none": NONE_KEY,
        "today_hi": _hi(today),
    }
    touches = db.execute(
        f"""
        SELECT t.agent, coalesce(t.phrase_id, :none), coalesce(t.stage, f.stage, :none),
               count(o.order_id), total(o.amount), datetime(t.at, :span) < :today_hi
        FROM touches t
        LEFT JOIN follow_ups f ON f.id = t.follow_up_id
        LEFT JOIN orders o ON o.customer_id = t.customer_id
             AND o.ordered_at > t.at AND o.ordered_at <= datetime(t.at, :span)
             AND o.ordered_at < :today_hi
        WHERE t.at >= :lo AND t.at < :hi AND t.at < :today_hi AND {live}
        GROUP BY t.id
        """,
        params,
    ).fetchall()
    base_rows = db.execute(
        f"""
        SELECT f.stage, coalesce(f.status_reason, '') LIKE 'cap%', count(o.order_id),
               total(o.amount), date(f.due_date, :span) <= :today_hi
        FROM follow_ups f
        LEFT JOIN orders o ON o.customer_id = f.customer_id
             AND o.ordered_at >= f.due_date AND o.ordered_at < date(f.due_date, :span)
             AND o.ordered_at < :today_hi
        WHERE f.status = 'skipped' AND f.due_date >= :lo AND f.due_date < :hi
          AND f.due_date < :today_hi
          AND NOT EXISTS (
              SELECT 1 FROM touches t WHERE t.customer_id = f.customer_id
              AND t.at >= date(f.due_date, :back) AND t.at < date(f.due_date, :span) AND {live})
        GROUP BY f.id
        """,
        params,
    ).fetchall()
    capped = sum(1 for r in base_rows if r[1])
    open_follow_ups = sum(1 for r in base_rows if not r[1] and not r[4])
    base_rows = [r for r in base_rows if not r[1] and r[4]]

    def baseline_of(rows: list[Any], capped: int = 0) -> mt.Baseline:
        return mt.Baseline(
            follow_ups=len(rows),
            capped=capped,
            converted=sum(1 for r in rows if r[2] > 0),
            revenue=float(sum(r[3] for r in rows)),
        )

    overall = baseline_of(base_rows, capped)
    by_stage_rows: dict[str, list[Any]] = defaultdict(list)
    for r in base_rows:
        by_stage_rows[r[0]].append(r)
    stage_baselines = {k: baseline_of(v) for k, v in by_stage_rows.items()}
    matured = [t for t in touches if t[5]]
    maturing = mt.Maturing(
        touches=len(touches) - len(matured),
        converted=sum(1 for t in touches if not t[5] and t[3] > 0),
        follow_ups=open_follow_ups,
    )
    total = _group((("all", n, rev) for *_, n, rev, _m in matured), {}, overall)
    return mt.Attribution(
        window_days=window_days,
        total=total[0]
        if total
        else mt.AttributionRow(
            "all", 0, 0, 0.0, overall.conversion, overall.converted, overall.follow_ups
        ),
        baseline=overall,
        by_stage=_group(
            ((st, n, rev) for _, _, st, n, rev, _m in matured), stage_baselines, overall
        ),
        by_phrase=mt.rank_by_conversion(
            _group(((ph, n, rev) for _, ph, _, n, rev, _m in matured), {}, overall)
        ),
        by_agent=_group(((ag, n, rev) for ag, _, _, n, rev, _m in matured), {}, overall),
        baseline_by_stage=stage_baselines,
        maturing=maturing,
    )


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


def _derived_rows_sql(estimate: bool, whole: bool, c_lo: bool = False, c_hi: bool = False) -> str:
    """Per customer with orders, in customer id order (the order the orders pass adds its sums
    in, so the floats come out the same): id (only when the period needs it), count, amount,
    first and last order, the span from first to last, the days from the first order to the
    second, and, for the lifetime estimate, whether there was an order in the earlier window
    when first and last cannot tell. Then what :func:`_months_of` needs for the repurchase by
    month: the months of the first and last order, whether the customer stayed a one-time
    buyer in the month of their first order, and the months strictly between first and last.

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
               CASE WHEN x.n >= 2 THEN julianday(x.last) - julianday(x.first) END,
               julianday(x.second) - julianday(x.first), x.in_base,
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
                   CASE WHEN c.order_count >= 2 AND (c.first_order_at >= :month_lo
                        OR (c.first_order_at >= :lo AND c.first_order_at < :hi)) THEN (
                       SELECT o.ordered_at FROM orders o INDEXED BY idx_orders_customer_amount
                       WHERE o.customer_id = c.customer_id
                       ORDER BY o.ordered_at LIMIT 1 OFFSET 1) END AS second,
                   {between} AS in_base
            FROM customers c WHERE c.order_count > 0
                 {"AND c.customer_id >= :c_lo" if c_lo else ""}
                 {"AND c.customer_id < :c_hi" if c_hi else ""}
            ORDER BY c.customer_id LIMIT -1 OFFSET 0) AS x
    """


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


# The period's own figures when it is not all history: only its orders are aggregated.
_PERIOD_SQL = """
    SELECT customer_id, count(*), total(amount),
           julianday(max(ordered_at)) - julianday(min(ordered_at))
    FROM orders INDEXED BY idx_orders_customer_amount
    WHERE ordered_at >= :lo AND ordered_at < :hi GROUP BY customer_id
"""


def _fold_derived(db: sqlite_utils.Database, w: _Windows, whole: bool) -> _Fold:
    """The figures from the customers' derived columns (see :func:`_derived_current`).

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
    params = {"base_lo": w.base_lo, "mid": w.mid, "lo": w.lo, "hi": w.hi, "month_lo": w.month_lo}
    year_revenue = _beside(db, lambda d: _year_revenue(d, w)) if ends_today else None
    rows = _in_parts(db, lambda c_lo, c_hi: _derived_rows_sql(est, whole, c_lo, c_hi), params)
    period: dict[str, tuple[int, float, float]] = {}
    if not whole:
        period = {r[0]: r[1:] for r in db.execute(_PERIOD_SQL, params)}
    f = _Fold()
    codes = _rfm_codes(rows, n=1, m=2, last=4)
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
    for row, code in zip(rows, codes, strict=True):
        cid, n, m, first, last, span_c, second, between = row[:8]
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
        assert year_revenue is not None
        f.year_revenue = year_revenue()
    else:
        _year_sums(db, w, f)
    return f


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


def _outcome_events(
    db: sqlite_utils.Database, lo: str, hi: str
) -> tuple[str, list[tuple[Any, ...]]]:
    """(source, rows of (touch id, agent, phrase, stage, outcome kind)) for the live touches of
    the period: one row per touch, with its latest outcome (None when none was recorded).

    THE ONE PLACE here that knows where outcomes live: ``touch_events`` rows of kind
    ``outcome`` (the outcome name in ``value``; the latest wins, see
    ``store.outcomes.latest_outcome_sql``), else the touch's own ``outcome`` column (touches
    logged before outcomes were events). A retracted touch (undo) is left out.
    """
    sql = f"""
        SELECT t.id, t.agent, coalesce(t.phrase_id, :none),
               coalesce(t.stage, f.stage, :none), nullif({latest_outcome_sql("t")}, '')
        FROM touches t LEFT JOIN follow_ups f ON f.id = t.follow_up_id
        WHERE t.at >= :lo AND t.at < :hi AND {live_touch("t")}
    """
    params = {"lo": lo, "hi": hi, "none": NONE_KEY}
    return "touch_events", db.execute(sql, params).fetchall()


def touch_outcomes(db: sqlite_utils.Database, start: date | None, end: date) -> mt.Outcomes:
    """What came of the period's touches (replied, problem, ordered...), per stage, phrase and
    agent, as the agents recorded it (see :func:`_outcome_events` for where it is read)."""
    source, rows = _outcome_events(db, _lo(start), _hi(end))
    groups: tuple[dict[str, dict[int, set[str]]], ...] = ({}, {}, {})
    for tid, agent, phrase, stage, kind in rows:
        for g, key in zip(groups, (stage, phrase, agent), strict=True):
            kinds = g.setdefault(key, {}).setdefault(tid, set())
            if kind:
                kinds.add(str(kind))

    def rows_of(g: dict[str, dict[int, set[str]]]) -> tuple[mt.OutcomeRow, ...]:
        out = []
        for key, touches in g.items():
            counts: dict[str, int] = defaultdict(int)
            for kinds in touches.values():
                for k in kinds:
                    counts[k] += 1
            recorded = sum(1 for kinds in touches.values() if kinds)
            out.append(mt.OutcomeRow(key, len(touches), recorded, dict(counts)))
        out.sort(key=lambda r: (-r.touches, r.key))
        return tuple(out)

    return mt.Outcomes(rows_of(groups[0]), rows_of(groups[1]), rows_of(groups[2]), source)


REPURCHASE_MONTHS = 24


def repurchase_by_month(
    db: sqlite_utils.Database, today: date, months: int = REPURCHASE_MONTHS
) -> tuple[mt.MonthRepurchase, ...]:
    """Per calendar month (the last ``months`` up to today's): customers who ordered in it,
    and how many of them had ordered before (a returning customer: an order after their
    first). The repurchase rate over time, for the stats screen's line.

    One pass over the covering index, grouped by customer and month (no sort); each group's
    latest order is compared with the customer's first order.
    """
    lo = _months_lo(today, months)
    today_hi = _hi(today)
    if _derived_current(db, today_hi):
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


def _by_month_in_background(
    db: sqlite_utils.Database, today: date
) -> Callable[[], tuple[mt.MonthRepurchase, ...]]:
    """Start :func:`repurchase_by_month` on a read connection of its own, in a thread (SQLite
    releases the GIL while it steps), so it runs beside the rest of the stats; returns a
    function that waits for it. In memory or on small shops: computed right here."""
    path = _db_file(db)
    n = db.execute("SELECT max(rowid) FROM orders").fetchone()[0] or 0
    if path is None or n < PARALLEL_MIN_ORDERS:
        result = repurchase_by_month(db, today)
        return lambda: result

    def run() -> tuple[mt.MonthRepurchase, ...]:
        # No memory map here: a second mapping of the file would count its pages twice in
        # the process's resident memory (measured: +190 MB at 1M orders).
        conn = sqlite3.connect(Path(path).as_uri() + "?mode=ro", uri=True, timeout=5.0)
        try:
            return repurchase_by_month(sqlite_utils.Database(conn), today)
        finally:
            conn.close()

    pool = ThreadPoolExecutor(1)
    future = pool.submit(run)
    pool.shutdown(wait=False)
    return future.result


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

    All history up to today (the default of ``tui-agent stats``) is read from the customers'
    derived columns when they are current, which is several times cheaper than the orders.
    """
    w = _windows(db, start, end, today)
    whole = start is None and end >= today
    if _derived_current(db, w.today_hi):
        f = _fold_derived(db, w, whole)
    else:
        month_pass = _by_month_in_background(db, today)
        f = _fold_orders(db, w, whole, start, end, today)
        f.by_month = month_pass()
    by_month = f.by_month
    assert by_month is not None  # both folds fill it in

    cohorts = []
    for month in sorted(f.cohort_n):
        reps = tuple(f.cohort_rep.get(month, [0] * len(mt.COHORT_DAYS)))
        mature_after = _month_end(month)
        rates = tuple(
            mt.ratio(reps[i], f.cohort_n[month])
            if mature_after + timedelta(days=limit) <= today
            else None
            for i, limit in enumerate(mt.COHORT_DAYS)
        )
        cohorts.append(mt.CohortRow(month, f.cohort_n[month], reps, rates))

    ltv = mt.ltv_figures(
        date.fromisoformat(w.year_lo),
        end,
        f.year_orders,
        f.year_revenue,
        f.year_customers,
        (f.base, f.retained, w.estimate_days) if w.mid else None,
        lifetime_years,
        _established(db, w) if f.established is None else f.established,
    )
    by_segment = tuple(
        mt.SegmentRow(s, int(a[0]), int(a[1]), int(a[2]), a[3]) for s, a in f.seg_acc.items()
    )
    return mt.ShopStats(
        period=mt.Period(start, end),
        today=today,
        customers=f.customers,
        orders=f.orders,
        revenue=f.revenue,
        repurchase=mt.Repurchase(f.customers, f.repeat),
        avg_gap_days=mt.gap_days(f.span, f.gaps),
        ltv=ltv,
        cohorts=tuple(cohorts),
        by_category=tuple(category_stats(db, start, min(end, today))) if categories else None,
        by_segment=by_segment,
        attribution=attribution(db, start, end, window_days, today=today),
        by_month=by_month,
        outcomes=touch_outcomes(db, start, min(end, today)),
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
    today: date | None = None,
) -> mt.DailySeries:
    """Touches and repurchases (a customer's 2nd or later order) per day, and conversion per
    stage, for the console's small charts. ``start`` None means the 30 days ending on ``end``.
    Conversion counts the touches whose window closed by ``today`` (default ``end``).
    """
    first = start or end - timedelta(days=29)
    lo, hi = first.isoformat(), _hi(end)
    touches = dict(
        db.execute(
            "SELECT date(at), count(*) FROM touches t WHERE at >= ? AND at < ? "
            f"AND {live_touch('t')} GROUP BY 1",
            [lo, hi],
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
    a = attribution(db, first, end, window_days, today=today or end)
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
        # outcome: the latest recorded (an event, else the touch's own column); retracted:
        # 1 when the touch was taken back (undo), which then counts nowhere.
        header = [
            "id", "at", "agent", "customer_id", "follow_up_id", "stage", "phrase_id",
            "channel", "outcome", "retracted", "text",
        ]  # fmt: skip
        cur = db.execute(
            "SELECT id, at, agent, customer_id, follow_up_id, stage, phrase_id, channel, "
            f"{latest_outcome_sql('t')}, NOT {live_touch('t')}, text FROM touches t "
            "ORDER BY at, id"
        )
        return header, (tuple(r) for r in cur)
    rfm = {r.customer_id: r for r in rfm_scores(db, today)}
    if kind == "customers":
        header = [
            "customer_id", "name", "tier", "orders", "spent", "first_order_at", "last_order_at",
            "recency_days", "r", "f", "m", "segment",
            "p_alive", "expected_purchases_365d", "clv_365d", "predicted_next_order",
        ]  # fmt: skip
        cur = db.execute(
            """
            SELECT c.customer_id, c.name, c.tier, count(o.order_id), total(o.amount),
                   min(o.ordered_at), max(o.ordered_at),
                   round(p.p_alive, 4), round(p.expected_purchases_365d, 4),
                   round(p.clv_365d, 2), p.predicted_next_order
            FROM customers c LEFT JOIN orders o
                 ON o.customer_id = c.customer_id AND o.ordered_at < ?
            LEFT JOIN customer_predictions p ON p.customer_id = c.customer_id
            GROUP BY c.customer_id ORDER BY c.customer_id
            """,
            [_hi(today)],
        )

        def customers() -> Iterator[tuple[Any, ...]]:
            for row in cur:
                base, predicted = row[:7], row[7:]
                x = rfm.get(row[0])
                if x is None:
                    yield (*base, None, None, None, None, None, *predicted)
                else:
                    yield (*base, x.recency_days, x.r, x.f, x.m, x.segment.value, *predicted)

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
