"""The repurchase by month and the LTV rate's established customers, worked out from the derived
columns (the fast path of ``shop_stats``), against a computation over the raw orders in Python
and against the path that reads every order.

The fast path reads each customer's first, last and second order and, for 3+ orders, the months
strictly between first and last; these customers sit on the edges of that: orders at the same
instant, on a month's first and last second, a first order before the 24 months, a second order
in the first order's month or the next one, months skipped between first and last.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date

import pytest
import sqlite_utils

from tests.analytics_data import add_customer, add_order
from tui_agent.store import analytics as an
from tui_agent.store.analytics import common, ltv, passes
from tui_agent.store.db import write_tx
from tui_agent.store.importer import refresh_derived

TODAY = date(2025, 3, 15)

# customer -> the times of their orders
ORDERS: dict[str, list[str]] = {
    "one": ["2024-05-10 10:00:00"],
    "twice_same_month": ["2024-06-01 00:00:00", "2024-06-30 23:59:59"],
    "twice_next_month": ["2024-06-30 23:59:59", "2024-07-01 00:00:00"],
    "tie_only": ["2024-08-08 08:08:08", "2024-08-08 08:08:08"],  # one instant, two orders
    "tie_then_same_month": ["2024-08-08 08:08:08", "2024-08-08 08:08:08", "2024-08-20 09:00:00"],
    "tie_then_later": ["2024-08-08 08:08:08", "2024-08-08 08:08:08", "2024-11-02 09:00:00"],
    "gaps": [  # months skipped between first and last, two orders in one of them
        "2024-01-31 23:59:59",
        "2024-04-01 00:00:00",
        "2024-04-15 12:00:00",
        "2024-09-09 09:09:09",
        "2025-03-14 10:00:00",
    ],
    "before_window": ["2022-12-31 10:00:00", "2023-03-01 10:00:00", "2024-02-02 10:00:00"],
    "all_before": ["2022-01-05 10:00:00", "2022-06-05 10:00:00", "2022-11-05 10:00:00"],
    "window_edge": ["2023-03-31 23:59:59", "2023-04-01 00:00:00", "2023-04-02 00:00:00"],
    "adjacent_three": ["2024-10-01 10:00:00", "2024-10-31 10:00:00", "2024-11-01 10:00:00"],
    "year_edge": ["2024-03-15 23:59:59", "2024-03-16 00:00:00", "2025-03-15 12:00:00"],
}


@pytest.fixture
def shop(db: sqlite_utils.Database) -> sqlite_utils.Database:
    n = 0
    for customer, times in ORDERS.items():
        add_customer(db, customer)
        for at in times:
            n += 1
            add_order(db, f"o{n}", customer, at, 10.0 + n)
    add_customer(db, "never")
    with write_tx(db):
        refresh_derived(db)
    return db


def _by_month_in_python(today: date, months: int = an.REPURCHASE_MONTHS) -> dict[str, tuple]:
    """Per month of the window: customers who ordered, and those of them whose latest order
    of the month is after their first order ever."""
    lo = common._months_lo(today, months)
    hi = common._hi(today)
    seen: dict[str, set[str]] = defaultdict(set)
    back: dict[str, set[str]] = defaultdict(set)
    for customer, times in ORDERS.items():
        first = min(times)
        for at in times:
            if lo <= at < hi:
                month = at[:7]
                seen[month].add(customer)
                latest = max(t for t in times if t[:7] == month and t < hi)
                if latest > first:
                    back[month].add(customer)
    return {m: (len(seen[m]), len(back[m])) for m in sorted(seen)}


def _established_in_python(end: date) -> tuple[int, int]:
    """Orders in the LTV year (365 days ending on ``end``) of customers who ordered before it."""
    year_lo = date.fromordinal(end.toordinal() - 364).isoformat()
    hi = common._hi(end)
    orders = customers = 0
    for times in ORDERS.values():
        in_year = [t for t in times if year_lo <= t < hi]
        if min(times) < year_lo and in_year:
            orders += len(in_year)
            customers += 1
    return orders, customers


def test_the_derived_path_is_taken(shop: sqlite_utils.Database) -> None:
    assert common._derived_current(shop, common._hi(TODAY))


def test_the_derived_pass_streams_in_customer_order(shop: sqlite_utils.Database) -> None:
    """Its sums add up in customer id order, as the orders pass does: the inner query walks
    the customers' primary key and the outer one reads it as a co-routine (no sort), and each
    customer's orders are sought in the covering index, never the table."""
    w = common._windows(shop, None, TODAY, TODAY)
    params = w.params()
    sql = passes._derived_rows_sql(estimate=True, whole=True)
    steps = [str(r[3]) for r in shop.execute("EXPLAIN QUERY PLAN " + sql, params)]
    assert "CO-ROUTINE x" in steps
    assert not any("TEMP B-TREE FOR ORDER BY" in s for s in steps)
    assert all("COVERING INDEX" in s for s in steps if s.startswith("SEARCH o"))
    ids = [r[0] for r in shop.execute(passes._derived_rows_sql(True, False), params)]
    assert ids == sorted(ids) and len(ids) == len(ORDERS)


@pytest.mark.parametrize("today", [TODAY, date(2024, 8, 8), date(2024, 12, 31)])
def test_repurchase_by_month_from_the_derived_columns(
    shop: sqlite_utils.Database, today: date
) -> None:
    expected = _by_month_in_python(today)
    standalone = {m.month: (m.customers, m.returning) for m in an.repurchase_by_month(shop, today)}
    assert standalone == expected
    if today == TODAY:  # every order is up to today: the derived columns are used
        s = an.shop_stats(shop, None, today, today)
        assert {m.month: (m.customers, m.returning) for m in s.by_month} == expected
        assert expected["2024-08"] == (3, 1)  # the tie alone stays a one-time month
        assert expected["2024-06"] == (2, 1)  # back within the month, not the next one's first


@pytest.mark.parametrize("end", [TODAY, date(2024, 12, 31)])
def test_established_customers_from_the_derived_columns(
    shop: sqlite_utils.Database, end: date
) -> None:
    """The LTV rate's customers who were customers before its year began, and their orders in
    it: from the first and last orders when the year ends today, else one pass over orders."""
    w = common._windows(shop, None, end, TODAY)
    fold = passes._fold_derived(shop, w, end >= TODAY)
    expected = _established_in_python(end)
    assert ltv._established(shop, w) == expected
    if end == TODAY:
        assert fold.established == expected == (6, 2)  # gaps 4 (from 2024-04), year_edge 2
    else:
        assert fold.established is None  # shop_stats asks ltv._established


@pytest.mark.parametrize(
    ("start", "end"),
    [(None, TODAY), (date(2024, 6, 1), TODAY), (date(2024, 1, 1), date(2024, 9, 30))],
)
def test_every_figure_the_same_either_way(
    shop: sqlite_utils.Database,
    monkeypatch: pytest.MonkeyPatch,
    start: date | None,
    end: date,
) -> None:
    fast = an.shop_stats(shop, start, end, TODAY, categories=True)
    monkeypatch.setattr(common, "_derived_current", lambda *a: False)
    assert an.shop_stats(shop, start, end, TODAY, categories=True) == fast


def test_reading_in_parts_gives_the_same_figures(
    shop: sqlite_utils.Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pass split over customer id ranges on connections of their own, as on a big shop,
    gives the figures of one connection."""
    serial = an.shop_stats(shop, None, TODAY, TODAY)
    monkeypatch.setattr(common, "PARALLEL_MIN_ORDERS", 0)
    monkeypatch.setattr(common.os, "cpu_count", lambda: 4)
    assert len(common._split_customers(shop)) == 4
    assert an.shop_stats(shop, None, TODAY, TODAY) == serial


def test_stored_scores_stand_in_for_scoring_everyone(
    shop: sqlite_utils.Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With today's segments stored (the console's background refresh, or the stats command
    with its fit), the figures read each customer's stored scores instead of scoring every
    customer again, and come out the same; stale or missing ones are not used."""
    from tui_agent.store.analytics import rfm

    scored = an.shop_stats(shop, None, TODAY, TODAY)
    an.refresh_segments(shop, TODAY)
    used: list[bool] = []
    real = rfm.stored_codes

    def watched(*args: object) -> object:
        codes = real(*args)  # type: ignore[arg-type]
        used.append(codes is not None)
        return codes

    monkeypatch.setattr(passes, "stored_codes", watched)
    assert an.shop_stats(shop, None, TODAY, TODAY) == scored
    assert used == [True]
    # Another day's scores are not today's: scored again, the same figures.
    an.refresh_segments(shop, date(2025, 3, 1))
    assert an.shop_stats(shop, None, TODAY, TODAY) == scored
    assert used == [True, False]
