"""SQL behind the shop's figures; returns ``core.metrics`` dataclasses.

Everything is computed from ``orders``, ``order_lines``, ``touches`` and ``follow_ups``; the
aggregate columns of ``customers`` (order_count, total_spent, ...) are not trusted here, so the
figures stay right whoever filled (or forgot to fill) them.

Times are stored as ``YYYY-MM-DD HH:MM:SS`` text, so a period of inclusive dates is the text
range ``[start, end + 1 day)``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import sqlite_utils

from tui_agent.core import metrics as mt
from tui_agent.core.segments import Rfm, Segment, score_customers

NONE_KEY = "(none)"


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
class _CustomerRow:
    customer_id: str
    orders_to_today: int
    spent_to_today: float
    last_to_today: str | None
    period_orders: int
    period_spent: float
    period_span_days: float | None  # last minus first order in the period
    first_at: str
    second_after_days: float | None  # from the first order to the second


_CUSTOMER_SQL = """
SELECT o.customer_id,
       sum(o.ordered_at < :today_hi),
       total(CASE WHEN o.ordered_at < :today_hi THEN o.amount END),
       max(CASE WHEN o.ordered_at < :today_hi THEN o.ordered_at END),
       sum(o.ordered_at >= :lo AND o.ordered_at < :hi),
       total(CASE WHEN o.ordered_at >= :lo AND o.ordered_at < :hi THEN o.amount END),
       julianday(max(CASE WHEN o.ordered_at >= :lo AND o.ordered_at < :hi
                          THEN o.ordered_at END))
         - julianday(min(CASE WHEN o.ordered_at >= :lo AND o.ordered_at < :hi
                              THEN o.ordered_at END)),
       min(o.ordered_at),
       CASE WHEN count(*) >= 2 THEN julianday((
           SELECT o2.ordered_at FROM orders o2
           WHERE o2.customer_id = o.customer_id AND o2.ordered_at < :cut
           ORDER BY o2.ordered_at LIMIT 1 OFFSET 1)) - julianday(min(o.ordered_at))
       END
FROM orders o INDEXED BY idx_orders_customer
WHERE o.ordered_at < :cut
GROUP BY o.customer_id
"""


def _customer_rows(
    db: sqlite_utils.Database, start: date | None, end: date, today: date
) -> Iterator[_CustomerRow]:
    """One row per customer with any order up to max(end, today)."""
    params = {
        "lo": _lo(start),
        "hi": _hi(end),
        "today_hi": _hi(today),
        "cut": max(_hi(end), _hi(today)),
    }
    for r in db.execute(_CUSTOMER_SQL, params):
        yield _CustomerRow(*r)


def rfm_scores(db: sqlite_utils.Database, today: date) -> list[Rfm]:
    """RFM scores and segment of every customer with an order on or before ``today``.

    Recency is days from the last order to ``today``, frequency the number of distinct orders,
    monetary the sum of their amounts; each is scored 1-5 against all these customers.
    """
    rows = db.execute(
        """
        SELECT customer_id, count(*), total(amount), max(ordered_at)
        FROM orders INDEXED BY idx_orders_customer
        WHERE ordered_at < ? GROUP BY customer_id
        """,
        [_hi(today)],
    ).fetchall()
    return score_customers([(cid, (today - _day(last)).days, n, m) for cid, n, m, last in rows])


def segments_for(
    db: sqlite_utils.Database, customer_ids: Iterable[str], today: date
) -> dict[str, str]:
    """Segment value (e.g. ``"at_risk"``) of each given customer that has an order by ``today``.

    RFM scores are relative to the whole customer base, so this scores everyone (about 0.3 s
    per 100k customers): call it once for a screenful of customers, not once per customer.
    """
    wanted = set(customer_ids)
    return {
        r.customer_id: r.segment.value for r in rfm_scores(db, today) if r.customer_id in wanted
    }


def segment_of(db: sqlite_utils.Database, customer_id: str, today: date) -> str | None:
    """The segment of one customer, None without orders. See :func:`segments_for` for cost."""
    return segments_for(db, [customer_id], today).get(customer_id)


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


def _categories(db: sqlite_utils.Database, start: date | None, end: date) -> list[mt.CategoryRow]:
    rows = db.execute(
        """
        SELECT category, count(*), total(n >= 2),
               total(CASE WHEN n >= 2 THEN span END), total(CASE WHEN n >= 2 THEN n - 1 END)
        FROM (
            SELECT coalesce(l.category, :none) AS category, o.customer_id,
                   count(DISTINCT o.order_id) AS n,
                   julianday(max(o.ordered_at)) - julianday(min(o.ordered_at)) AS span
            FROM orders o JOIN order_lines l ON l.order_id = o.order_id
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


def ltv_figures(
    db: sqlite_utils.Database, end: date, lifetime_years: float | None = None
) -> mt.LtvFigures:
    """LTV inputs over the 365 days ending on ``end``; lifetime configured, else estimated.

    The estimate compares two equal windows ending on ``end`` (a year each when the data
    reaches back two years, else half the history): of the customers who ordered in the
    earlier window, the share who ordered again in the later one is the retention.
    """
    w_start = end - timedelta(days=364)
    n, revenue, customers = db.execute(
        "SELECT count(*), total(amount), count(DISTINCT customer_id) FROM orders "
        "WHERE ordered_at >= ? AND ordered_at < ?",
        [w_start.isoformat(), _hi(end)],
    ).fetchone()
    aov = mt.ratio(revenue, n) or 0.0
    per_year = mt.ratio(n, customers) or 0.0

    first = db.execute(
        "SELECT min(ordered_at) FROM orders WHERE ordered_at < ?", [_hi(end)]
    ).fetchone()[0]
    base = retained = window = 0
    estimated: float | None = None
    if first is not None:
        history = (end - _day(first)).days + 1
        if history >= mt.MIN_HISTORY_DAYS:
            window = min(365, history // 2)
            mid = end + timedelta(days=1 - window)
            begin = mid - timedelta(days=window)
            base, retained_f = db.execute(
                """
                SELECT count(*), total(later) FROM (
                    SELECT max(ordered_at >= :mid) AS later FROM orders
                    WHERE ordered_at >= :begin AND ordered_at < :hi
                    GROUP BY customer_id HAVING min(ordered_at) < :mid)
                """,
                {"begin": begin.isoformat(), "mid": mid.isoformat(), "hi": _hi(end)},
            ).fetchone()
            retained = int(retained_f)
            estimated = mt.estimate_lifetime_years(base, retained, window)
    if lifetime_years is not None:
        years, source = lifetime_years, "configured"
    elif estimated is not None:
        years, source = estimated, "estimated"
    else:
        years, source = mt.DEFAULT_LIFETIME_YEARS, "default"
    return mt.LtvFigures(
        window_start=w_start,
        window_end=end,
        average_order_value=aov,
        orders_per_year=per_year,
        lifetime_years=years,
        lifetime_source=source,
        estimated_lifetime_years=estimated,
        estimate_base=base,
        estimate_retained=retained,
        estimate_window_days=window,
    )


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
            revenue=sum(r[3] for r in rows),
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


def shop_stats(
    db: sqlite_utils.Database,
    start: date | None,
    end: date,
    today: date,
    *,
    lifetime_years: float | None = None,
    window_days: int = mt.DEFAULT_WINDOW_DAYS,
) -> mt.ShopStats:
    """Every figure of the period ``start..end`` (inclusive; ``start`` None = all history).

    Repurchase rate: of the customers who ordered in the period, the share with 2+ distinct
    orders in it. Segments are RFM as of ``today`` over all orders up to ``today``.
    """
    rows = list(_customer_rows(db, start, end, today))
    rfm = score_customers(
        [
            (
                r.customer_id,
                (today - _day(r.last_to_today)).days,
                r.orders_to_today,
                r.spent_to_today,
            )
            for r in rows
            if r.last_to_today is not None
        ]
    )
    seg_of = {x.customer_id: x for x in rfm}

    customers = repeat = orders = 0
    revenue = span = 0.0
    gaps = 0
    lo, hi = _lo(start), _hi(end)
    cohort_n: dict[str, int] = defaultdict(int)
    cohort_rep: dict[str, list[int]] = defaultdict(lambda: [0] * len(mt.COHORT_DAYS))
    seg_acc: dict[Segment, list[float]] = {s: [0, 0, 0, 0.0] for s in Segment}
    for r in rows:
        x = seg_of.get(r.customer_id)
        if x is not None:
            acc = seg_acc[x.segment]
            acc[0] += 1
            acc[3] += x.monetary
        if r.period_orders:
            customers += 1
            orders += r.period_orders
            revenue += r.period_spent
            if x is not None:
                seg_acc[x.segment][1] += 1
            if r.period_orders >= 2:
                repeat += 1
                span += r.period_span_days or 0.0
                gaps += r.period_orders - 1
                if x is not None:
                    seg_acc[x.segment][2] += 1
        if lo <= r.first_at < hi:
            month = r.first_at[:7]
            cohort_n[month] += 1
            days = r.second_after_days
            if days is not None:
                counts = cohort_rep[month]
                for i, limit in enumerate(mt.COHORT_DAYS):
                    if days <= limit:
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
        ltv=ltv_figures(db, end, lifetime_years),
        cohorts=tuple(cohorts),
        by_category=tuple(_categories(db, start, end)),
        by_segment=by_segment,
        attribution=attribution(db, start, end, window_days),
    )


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
