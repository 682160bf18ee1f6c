"""Every figure of a period in one call (:func:`shop_stats`), as ``tui-agent stats`` and the
stats screen show them."""

from __future__ import annotations

from datetime import date, timedelta

import sqlite_utils

from tui_agent.core import metrics as mt
from tui_agent.store.analytics import common
from tui_agent.store.analytics.common import _month_end, _scan, _windows
from tui_agent.store.analytics.ltv import _established
from tui_agent.store.analytics.passes import _fold_derived, _fold_orders
from tui_agent.store.analytics.repurchase import category_stats, repurchase_by_month
from tui_agent.store.analytics.touch_stats import attribution, touch_outcomes


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
    # Through the module, so that tests can take the path that reads every order.
    if common._derived_current(db, w.today_hi):
        f = _fold_derived(db, w, whole)
    else:
        f = _fold_orders(db, w, whole, start, end, today)
        f.by_month = repurchase_by_month(db, today)
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
    attributed = attribution(db, start, end, window_days, today=today)
    outcomes = touch_outcomes(db, start, min(end, today))
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
        attribution=attributed,
        by_month=by_month,
        outcomes=outcomes,
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
