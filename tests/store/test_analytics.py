"""Every figure on the hand-built shop of ``tests/analytics_data.py``, worked out by hand."""

from __future__ import annotations

from datetime import date, datetime

import pytest
import sqlite_utils

from tests.analytics_data import add_customer, add_order, add_touch, build_shop
from tui_agent.core.segments import Segment
from tui_agent.store import analytics as an
from tui_agent.store.analytics import common, passes, rfm
from tui_agent.store.analytics import shop as shop_module
from tui_agent.store.db import write_tx
from tui_agent.store.importer import refresh_derived

TODAY = date(2024, 3, 31)
START = date(2024, 1, 1)


@pytest.fixture
def shop(db: sqlite_utils.Database) -> sqlite_utils.Database:
    build_shop(db)
    return db


def test_period_totals_and_repurchase_rate(shop: sqlite_utils.Database) -> None:
    s = an.shop_stats(shop, START, TODAY, TODAY)
    # In 2024: A has o1 o2 o3, B o4, C o6 (o5 was in 2023), D o7; E nothing.
    assert s.customers == 4
    assert s.orders == 6  # o4 has two lines but is one order
    assert s.revenue == pytest.approx(100 + 50 + 150 + 200 + 120 + 60)
    assert s.repurchase.repeat_customers == 1  # only A
    assert s.repurchase_rate == pytest.approx(1 / 4)
    # A's orders in 2024: Jan 5 -> Mar 1 = 56 days (2024 is a leap year), 2 gaps.
    assert s.avg_gap_days == pytest.approx(28.0)


def test_whole_history_counts_c_as_repeat(shop: sqlite_utils.Database) -> None:
    s = an.shop_stats(shop, None, TODAY, TODAY)
    assert (s.customers, s.orders, s.repurchase.repeat_customers) == (4, 7, 2)
    assert s.repurchase_rate == pytest.approx(0.5)


def test_period_end_is_inclusive(shop: sqlite_utils.Database) -> None:
    s = an.shop_stats(shop, date(2024, 3, 1), date(2024, 3, 1), TODAY)
    assert (s.customers, s.orders) == (1, 1)  # o3 at 10:00 on the last day


def test_avg_gap_days_all_history(shop: sqlite_utils.Database) -> None:
    # A: 56 days over 2 gaps; C: 2023-12-15 12:00 -> 2024-02-10 12:00 = 16 + 31 + 10 = 57 days.
    assert an.avg_gap_days(shop) == pytest.approx((56 + 57) / 3)
    assert an.avg_gap_days(shop, date(2024, 1, 31)) == pytest.approx(15.0)  # A's o1 -> o2
    assert an.avg_gap_days(shop, date(2024, 1, 1)) is None


def test_cohorts_by_first_order_month(shop: sqlite_utils.Database) -> None:
    s = an.shop_stats(shop, START, TODAY, TODAY)
    jan, feb = s.cohorts  # C's first order was in December 2023: not in the period
    # January: A (second order 15 days later) and B (none).
    assert (jan.month, jan.customers, jan.repeat) == ("2024-01", 2, (1, 1, 1))
    # Jan 31 + 30 and + 60 days are on or before Mar 31; + 90 is not: too young to tell.
    assert jan.rates == (0.5, 0.5, None)
    assert (feb.month, feb.customers, feb.repeat) == ("2024-02", 1, (0, 0, 0))
    assert feb.rates == (0.0, None, None)  # Feb 29 + 30 = Mar 30


def test_categories_count_orders_not_lines(shop: sqlite_utils.Database) -> None:
    s = an.shop_stats(shop, START, TODAY, TODAY, categories=True)
    assert s.by_category is not None
    assert an.shop_stats(shop, START, TODAY, TODAY).by_category is None  # opt-in
    cats = {c.category: c for c in s.by_category}
    # food: A (o1, o2), C (o6), D (o7); A again after 15 days.
    assert (cats["food"].customers, cats["food"].repeat_customers) == (3, 1)
    assert cats["food"].avg_gap_days == pytest.approx(15.0)
    # beauty: A (o3), B (o4 with two beauty lines: still one order).
    assert (cats["beauty"].customers, cats["beauty"].repeat_customers) == (2, 0)
    assert cats["beauty"].rate == 0.0
    assert cats["beauty"].avg_gap_days is None


def test_rfm_segments_by_hand(shop: sqlite_utils.Database) -> None:
    # Days since the last order on Mar 31: A 30, B 81, C 50, D 59; orders A3 B1 C2 D1;
    # spent A300 B200 C200 D60. R and M score 1 + 5 * (smaller + equal / 2) // 4:
    # R (fewer days better): B1 D2 C4 A5. M: D1, B=C (mid-rank 2 of 4) 3, A5.
    # F: one order 1 (B, D), two orders 2 (C), A is the only 3+ customer: 3 + 3 * 0.5 // 1 = 4.
    rfm = {r.customer_id: r for r in an.rfm_scores(shop, TODAY)}
    assert {k: v.code for k, v in rfm.items()} == {"A": "545", "B": "113", "C": "423", "D": "211"}
    assert an.segments_for(shop, ["A", "B", "C", "D", "E"], TODAY) == {
        "A": "champions",
        "B": "lost",
        "C": "potential_loyal",
        "D": "hibernating",
    }
    assert an.segment_of(shop, "E", TODAY) is None
    assert an.segment_of(shop, "A", TODAY) == "champions"


def test_segment_rows_in_stats(shop: sqlite_utils.Database) -> None:
    s = an.shop_stats(shop, START, TODAY, TODAY)
    rows = {g.segment: g for g in s.by_segment}
    assert len(rows) == len(Segment)  # every segment listed, empty ones with 0
    champ = rows[Segment.CHAMPIONS]
    assert (champ.customers, champ.period_customers, champ.period_repeat_customers) == (1, 1, 1)
    assert champ.monetary == pytest.approx(300.0)
    assert rows[Segment.LOST].rate == 0.0
    assert rows[Segment.LOYAL].customers == 0 and rows[Segment.LOYAL].rate is None
    assert sum(g.customers for g in s.by_segment) == 4


def test_ltv_inputs(shop: sqlite_utils.Database) -> None:
    ltv = an.ltv_figures(shop, TODAY)
    # Window 2023-04-02 .. 2024-03-31 holds all 7 orders (760) of 4 customers.
    assert ltv.window_start == date(2023, 4, 2)
    assert ltv.average_order_value == pytest.approx(760 / 7)
    assert ltv.orders_per_year == pytest.approx(7 / 4)
    # History since 2023-12-15 is 108 days: too short to estimate, so the default 3 years.
    assert (ltv.lifetime_source, ltv.estimated_lifetime_years) == ("default", None)
    assert ltv.value == pytest.approx(760 / 7 * 7 / 4 * 3)  # = 570
    configured = an.ltv_figures(shop, TODAY, lifetime_years=2.0)
    assert configured.lifetime_source == "configured"
    assert configured.value == pytest.approx(380.0)


def test_ltv_lifetime_estimated_from_retention(db: sqlite_utils.Database) -> None:
    # 40 customers order in the year before 2024-01-02 and 20 of them again in the year after
    # (windows of 365 days each, since history reaches back 2+ years): retention 0.5 -> 2 years.
    add_customer(db, "old")
    add_order(db, "old1", "old", "2022-06-01 10:00:00", 10.0)  # history only, before both windows
    for i in range(40):
        add_customer(db, f"c{i}")
        add_order(db, f"a{i}", f"c{i}", "2023-01-10 10:00:00", 10.0)
        if i < 20:
            add_order(db, f"b{i}", f"c{i}", "2024-06-10 10:00:00", 30.0)
    ltv = an.ltv_figures(db, date(2024, 12, 31))
    assert (ltv.estimate_base, ltv.estimate_retained, ltv.estimate_window_days) == (40, 20, 365)
    assert ltv.lifetime_source == "estimated"
    assert ltv.lifetime_years == pytest.approx(2.0)
    # The LTV year (2024-01-02 .. 2024-12-31): 20 orders of 30 by 20 customers.
    assert ltv.value == pytest.approx(30 * 1 * 2.0)


def test_attribution_by_hand(shop: sqlite_utils.Database) -> None:
    a = an.attribution(shop, START, TODAY)
    # Baseline: skipped follow-up 5 (B, no order) only. 3 (D) was skipped by the frequency
    # cap, so D had just been touched: never a baseline (counted in `capped`). 4 is skipped
    # but A was touched two days later: not "untouched". 6: cancelled.
    assert (a.baseline.follow_ups, a.baseline.capped, a.baseline.converted) == (1, 1, 0)
    assert a.baseline.conversion == 0.0
    assert a.baseline.revenue == pytest.approx(0.0)
    assert set(a.baseline_by_stage) == {"repurchase"}
    assert a.baseline_by_stage["repurchase"].conversion == 0.0
    # Touches: A 01-12 -> o2 01-20 (50); C 02-01 -> o6 02-10 (120); B 01-25 nothing.
    # D 03-20: its window closes 04-03, after today: maturing, not a failure.
    assert (a.total.touches, a.total.converted) == (3, 2)
    assert (a.maturing.touches, a.maturing.converted) == (1, 0)
    assert a.total.revenue == pytest.approx(170.0)
    assert a.total.lift_pp == pytest.approx(200 / 3)
    stage = {r.key: r for r in a.by_stage}
    assert (stage["upkeep"].touches, stage["upkeep"].converted) == (1, 1)
    assert stage["upkeep"].lift_pp == pytest.approx(100.0)  # no upkeep baseline: overall 0%
    # B's touch has no stage of its own; its follow-up's stage (repurchase) counts.
    assert (stage["repurchase"].touches, stage["repurchase"].converted) == (2, 1)
    assert stage["repurchase"].lift_pp == pytest.approx(50.0)  # vs repurchase baseline 0%
    assert stage["repurchase"].revenue == pytest.approx(120.0)
    phrase = {r.key: (r.touches, r.converted, r.lift_pp) for r in a.by_phrase}
    assert phrase == {"p1": (1, 1, 100.0), "p2": (2, 1, 50.0)}
    agent = {r.key: (r.conversion, r.revenue) for r in a.by_agent}
    assert agent == {"li": (1.0, 170.0), "wang": (0.0, 0.0)}
    assert all(r.too_thin for r in a.by_phrase)  # a handful of touches says little


def test_attribution_window_edges(db: sqlite_utils.Database) -> None:
    add_customer(db, "X")
    add_touch(db, "li", "X", None, "p", "upkeep", "2024-05-01 10:00:00")
    add_order(db, "same", "X", "2024-05-01 10:00:00", 5.0)  # same moment: not after the touch
    add_order(db, "edge", "X", "2024-05-08 10:00:00", 7.0)  # exactly 7 days later: counts
    add_order(db, "late", "X", "2024-05-08 10:00:01", 9.0)  # one second too late
    a = an.attribution(db, None, date(2024, 5, 31), window_days=7)
    assert (a.total.converted, a.total.revenue) == (1, 7.0)
    assert a.baseline.follow_ups == 0 and a.total.baseline_conversion is None
    assert a.total.lift_pp is None


def test_daily_series(shop: sqlite_utils.Database) -> None:
    s = an.daily_series(shop, date(2024, 1, 10), date(2024, 1, 25), today=TODAY)
    assert len(s.days) == 16 and s.days[0] == date(2024, 1, 10)
    per_day = dict(zip(s.days, s.touches, strict=True))
    assert per_day[date(2024, 1, 12)] == 1 and per_day[date(2024, 1, 25)] == 1
    assert sum(s.touches) == 2
    # Repurchases: only o2 (A's second order, Jan 20); o1, o4 are first orders.
    assert dict(zip(s.days, s.repurchases, strict=True))[date(2024, 1, 20)] == 1
    assert sum(s.repurchases) == 1
    # Touches in the range: A's (upkeep, bought) and B's (repurchase, did not).
    assert s.stage_conversion == (("repurchase", 0.0), ("upkeep", 1.0))


def test_daily_series_same_moment_orders_count_once(db: sqlite_utils.Database) -> None:
    add_customer(db, "X")
    add_order(db, "x1", "X", "2024-05-01 10:00:00", 5.0)
    add_order(db, "x2", "X", "2024-05-01 10:00:00", 5.0)
    s = an.daily_series(db, None, date(2024, 5, 1))
    assert len(s.days) == 30 and s.repurchases[-1] == 1


def test_export_rows(shop: sqlite_utils.Database) -> None:
    header, rows = an.export_rows(shop, "customers", TODAY)
    table = {r[0]: dict(zip(header, r, strict=True)) for r in rows}
    assert table["A"]["orders"] == 3 and table["A"]["spent"] == 300.0
    assert table["A"]["segment"] == "champions"
    assert table["E"]["orders"] == 0 and table["E"]["segment"] is None
    assert table["A"]["p_alive"] is None  # no fit yet: the prediction columns stay empty
    shop.execute(
        "INSERT INTO customer_predictions VALUES ('A', 0.81234, 0.2, 1.5, 90.0, 135.0, "
        "'2024-05-02')"
    )
    _, rows = an.export_rows(shop, "customers", TODAY)
    a = next(dict(zip(header, r, strict=True)) for r in rows if r[0] == "A")
    assert (a["p_alive"], a["clv_365d"], a["predicted_next_order"]) == (0.8123, 135.0, "2024-05-02")
    header, rows = an.export_rows(shop, "segments", TODAY)
    seg = {r[0]: r for r in rows}
    assert seg["champions"][3] == 1 and seg["champions"][4] == 0.25
    header, rows = an.export_rows(shop, "touches", TODAY)
    assert len(list(rows)) == 4
    assert header[-3:] == ["outcome", "retracted", "text"]
    with pytest.raises(ValueError):
        an.export_rows(shop, "nope", TODAY)


def test_export_touches_has_the_latest_outcome_and_retraction(db: sqlite_utils.Database) -> None:
    from tui_agent.store import followups as fu
    from tui_agent.store.outcomes import record_outcome, undo_last_touch

    add_customer(db, "C1")
    at = datetime(2024, 3, 1, 10, 0)
    kept = fu.log_touch(db, agent="amy", customer_id="C1", text="a", follow_up_id=None, now=at)
    gone = fu.log_touch(
        db, agent="amy", customer_id="C1", text="b", follow_up_id=None, now=at.replace(hour=11)
    )
    record_outcome(db, kept, "replied", agent="amy", now=at.replace(hour=12))
    record_outcome(db, kept, "ordered", agent="amy", now=at.replace(hour=13))
    undo_last_touch(db, "amy", now=at.replace(hour=11, minute=1))
    header, rows = an.export_rows(db, "touches", TODAY)
    table = {r[0]: dict(zip(header, r, strict=True)) for r in rows}
    assert (table[kept]["outcome"], table[kept]["retracted"]) == ("ordered", 0)
    assert (table[gone]["outcome"], table[gone]["retracted"]) == (None, 1)


@pytest.mark.parametrize("start", [None, START])
def test_stats_pass_reads_only_the_covering_index(
    shop: sqlite_utils.Database, start: date | None
) -> None:
    """The per-customer pass reads orders from one index and never touches the table."""
    w = common._windows(shop, start, TODAY, TODAY)
    params = w.params()
    sql = passes._customer_pass_sql(w, start is None)
    steps = [str(r[3]) for r in shop.execute("EXPLAIN QUERY PLAN " + sql, params)]
    assert "SCAN o USING COVERING INDEX idx_orders_customer_amount" in steps
    assert all("COVERING INDEX" in s for s in steps if s.startswith(("SCAN", "SEARCH")))


def test_parallel_pass_gives_the_same_figures(
    shop: sqlite_utils.Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    serial = an.shop_stats(shop, START, TODAY, TODAY)
    monkeypatch.setattr(common, "PARALLEL_MIN_ORDERS", 0)
    monkeypatch.setattr(common.os, "cpu_count", lambda: 3)
    parts = common._split_customers(shop)
    # Orders by customer: A A A B C C D. Offsets 7 * 1 // 3 = 2 and 7 * 2 // 3 = 4 are A and C;
    # a cut is a customer id, so a customer's orders are never split between two ranges.
    assert parts == [(None, "A"), ("A", "C"), ("C", None)]
    assert an.shop_stats(shop, START, TODAY, TODAY) == serial


def test_segments_cache_sees_new_orders(shop: sqlite_utils.Database) -> None:
    assert an.segment_of(shop, "D", TODAY) == "hibernating"
    # D buys again today: now the most recent (3 smaller -> R = 1 + 15 // 4 = 4); 2 orders tie
    # with C (1 smaller -> F = 2); 70 spent is the least (M = 1): 421 = potential loyal.
    add_order(shop, "o8", "D", "2024-03-31 09:00:00", 10.0)
    assert an.segment_of(shop, "D", TODAY) == "potential_loyal"
    assert an.segment_of(shop, "D", date(2024, 3, 30)) == "hibernating"  # another day


def test_memory_map_is_only_borrowed(shop: sqlite_utils.Database) -> None:
    shop.execute("PRAGMA mmap_size = 4096")
    an.shop_stats(shop, START, TODAY, TODAY, categories=True)
    an.segments_for(shop, ["A"], date(2024, 3, 1))
    assert shop.execute("PRAGMA mmap_size").fetchone()[0] == 4096


def _refreshed(db: sqlite_utils.Database) -> sqlite_utils.Database:
    with write_tx(db):
        refresh_derived(db)
    return db


def test_derived_columns_are_used_only_when_current(shop: sqlite_utils.Database) -> None:
    today_hi = "2024-04-01"
    assert not common._derived_current(shop, today_hi)  # plain INSERTs left them empty
    _refreshed(shop)
    assert common._derived_current(shop, today_hi)
    assert not common._derived_current(shop, "2024-03-01")  # o3 is after that "today"
    add_order(shop, "o8", "E", "2024-03-05 10:00:00", 5.0)  # written without a refresh
    assert not common._derived_current(shop, today_hi)


@pytest.mark.parametrize(
    ("start", "end", "today"),
    [
        (None, TODAY, TODAY),
        (None, date(2024, 12, 31), TODAY),  # --to after today is still all history
        (None, date(2025, 6, 30), date(2025, 6, 30)),  # long enough to estimate a lifetime
        (START, TODAY, TODAY),
        (None, date(2024, 2, 1), TODAY),
        (START, date(2024, 12, 31), date(2025, 6, 30)),  # estimate windows end before today
        # 273 days of history: the estimate's windows (136 days) start after the LTV year
        (None, date(2023, 10, 1), TODAY),
    ],
)
def test_derived_columns_give_the_same_figures(
    shop: sqlite_utils.Database,
    monkeypatch: pytest.MonkeyPatch,
    start: date | None,
    end: date,
    today: date,
) -> None:
    add_customer(shop, "F")  # history reaching back far enough for the lifetime estimate
    add_order(shop, "o0", "F", "2023-01-02 10:00:00", 33.3)
    add_order(shop, "o9", "F", "2023-01-20 10:00:00", 0.1)
    add_order(shop, "o10", "B", "2024-01-10 09:00:00", 0.2)  # same moment as o4
    add_customer(shop, "H")  # in the LTV year but before the estimate's windows (last case)
    add_order(shop, "h1", "H", "2023-01-02 09:00:00", 7.0)
    if today > date(2024, 12, 31):  # the later estimate window: two retained, one new
        add_order(shop, "o11", "A", "2024-08-01 10:00:00", 40.0)
        add_order(shop, "o12", "F", "2024-09-01 10:00:00", 40.0)  # not in the earlier one
        add_customer(shop, "G")  # first and last outside the earlier window, one order in it
        for i, day in enumerate(["2023-01-05", "2024-01-15", "2025-02-01"]):
            add_order(shop, f"g{i}", "G", f"{day} 10:00:00", 12.5)
    _refreshed(shop)
    calls: list[str] = []
    fast_fold = shop_module._fold_derived
    monkeypatch.setattr(
        shop_module, "_fold_derived", lambda *a: calls.append("fast") or fast_fold(*a)
    )
    fast = an.shop_stats(shop, start, end, today, categories=True)
    monkeypatch.setattr(common, "_derived_current", lambda *a: False)
    slow = an.shop_stats(shop, start, end, today, categories=True)
    assert fast == slow
    assert calls == ["fast"]
    if end == date(2025, 6, 30):
        assert (fast.ltv.estimate_base, fast.ltv.estimate_retained) == (5, 2)
    if end == date(2023, 10, 1):
        assert (fast.ltv.estimate_window_days, fast.ltv.estimate_base) == (136, 1)  # F, not H


def test_segments_from_derived_columns_agree(
    shop: sqlite_utils.Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_order(shop, "o9", "E", "2024-03-30 10:00:00", 0.3)
    _refreshed(shop)
    fast = an.rfm_scores(shop, TODAY)
    monkeypatch.setattr(common, "_derived_current", lambda *a: False)
    assert an.rfm_scores(shop, TODAY) == fast
    assert [r.customer_id for r in fast] == ["A", "B", "C", "D", "E"]


@pytest.mark.parametrize("refresh", [False, True])
def test_segment_table_matches_rfm_scores(shop: sqlite_utils.Database, refresh: bool) -> None:
    add_order(shop, "o9", "E", "2024-03-30 10:00:00", 0.3)
    if refresh:
        _refreshed(shop)
    for today in (TODAY, date(2024, 2, 15)):
        expected = {r.customer_id: r.segment.value for r in an.rfm_scores(shop, today)}
        assert rfm._segment_table(shop, today) == expected
        assert len(expected) == (5 if today == TODAY else 4)


@pytest.mark.parametrize("retained", [27, 30])
def test_ltv_lifetime_from_thin_retention_is_not_estimated(
    db: sqlite_utils.Database, retained: int
) -> None:
    """Issue 12, defect 5: 27 vs 30 of 30 customers retained gave 2.9 vs 10 years. Thirty
    customers cannot tell those apart: the retention's 95% interval spans lifetimes from 3.9
    (27 of 30) or 8.8 years (30 of 30) up to the cap, so the estimate is called too thin and
    the default is used."""
    add_customer(db, "old")
    add_order(db, "old1", "old", "2022-06-01 10:00:00", 10.0)
    for i in range(30):
        add_customer(db, f"c{i}")
        add_order(db, f"a{i}", f"c{i}", "2023-01-10 10:00:00", 10.0)
        if i < retained:
            add_order(db, f"b{i}", f"c{i}", "2024-06-10 10:00:00", 30.0)
    ltv = an.ltv_figures(db, date(2024, 12, 31))
    assert (ltv.estimate_base, ltv.estimate_retained) == (30, retained)
    assert ltv.lifetime_source == "default" and ltv.lifetime_years == 3.0
    assert ltv.lifetime_interval is not None
    low, high = ltv.lifetime_interval
    assert low == pytest.approx(3.90 if retained == 27 else 8.81, abs=0.01) and high >= 10.0
    assert any("too thin" in note for note in ltv.notes)


def test_ltv_orders_per_year_leaves_out_partial_years(db: sqlite_utils.Database) -> None:
    """Defect 5: orders per year was orders / customers who ordered in the year, so 40 new
    customers with one order in the year's last week halved the rate of 40 established
    customers who order four times a year. Only customers who were already customers when the
    year began (a whole year to order in) measure it."""
    for i in range(40):
        add_customer(db, f"c{i}")
        add_order(db, f"c{i}-0", f"c{i}", "2023-06-01 10:00:00", 10.0)
        for q, month in enumerate(("02", "05", "08", "11")):
            add_order(db, f"c{i}-{q + 1}", f"c{i}", f"2024-{month}-01 10:00:00", 10.0)
        add_customer(db, f"n{i}")
        add_order(db, f"n{i}-0", f"n{i}", "2024-12-25 10:00:00", 10.0)
    ltv = an.ltv_figures(db, date(2024, 12, 31))
    assert ltv.orders_per_year == pytest.approx(4.0)  # was (160 + 40) / 80 = 2.5
    assert ltv.orders_per_year_customers == 40


def test_repurchase_by_month(shop: sqlite_utils.Database) -> None:
    # 2023-12: C's first. 2024-01: A (first, then o2: returning), B (first): 2 customers,
    # A returning. 2024-02: C returning, D first. 2024-03: A returning.
    rows = {m.month: (m.customers, m.returning) for m in an.repurchase_by_month(shop, TODAY)}
    assert rows == {
        "2023-12": (1, 0),
        "2024-01": (2, 1),
        "2024-02": (2, 1),
        "2024-03": (1, 1),
    }
    assert [m.month for m in an.repurchase_by_month(shop, TODAY, months=2)] == [
        "2024-02",
        "2024-03",
    ]


def test_phrases_ranked_by_conversion_only_when_the_interval_says_so() -> None:
    from tui_agent.core.metrics import AttributionRow, rank_by_conversion

    big_good = AttributionRow("good", 200, 120, 0.0, 0.2, 40, 200)  # 60% vs 20%: clear
    big_ok = AttributionRow("ok", 300, 90, 0.0, 0.2, 40, 200)  # 30% vs 20%: clear
    tiny = AttributionRow("tiny", 3, 3, 0.0, 0.2, 40, 200)  # 100%, but 3 touches
    assert tiny.too_thin and big_good.lift_is_clear and not big_good.too_thin
    ranked = [r.key for r in rank_by_conversion((tiny, big_ok, big_good))]
    assert ranked[:2] == ["good", "ok"]
    assert ranked[-1] == "tiny"


def test_stored_segments_are_read_one_row_at_a_time(
    shop: sqlite_utils.Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    lazy = an.segments_for(shop, ["A", "B", "C", "D", "E"], TODAY)
    assert not an.stored_segments_current(shop, TODAY)
    assert an.refresh_segments(shop, TODAY) == 4
    assert an.stored_segments_current(shop, TODAY)

    def no_scoring(*args: object) -> None:
        raise AssertionError("scored everyone for one card")

    monkeypatch.setattr(rfm, "_segment_table", no_scoring)
    assert an.segments_for(shop, ["A", "B", "C", "D", "E"], TODAY) == lazy
    assert an.segment_of(shop, "A", TODAY) == "champions"
    # another day, or a new order: the stored rows are not used (the lazy path is)
    assert not an.stored_segments_current(shop, date(2024, 4, 1))
    add_order(shop, "new", "D", "2024-03-31 12:00:00", 5.0)
    assert not an.stored_segments_current(shop, TODAY)
    with pytest.raises(AssertionError, match="scored everyone"):
        an.segment_of(shop, "D", TODAY)


def test_touch_outcomes_per_stage_phrase_and_agent(db: sqlite_utils.Database) -> None:
    add_customer(db, "X")
    for i, outcome in enumerate(("replied", "problem", None, "replied")):
        db.execute(
            "INSERT INTO touches(id, agent, customer_id, phrase_id, stage, text, at, outcome) "
            "VALUES (?, ?, 'X', ?, 'upkeep', 'hi', ?, ?)",
            [i + 1, "li" if i < 2 else "wang", f"p{i % 2}", f"2024-05-0{i + 1} 10:00:00", outcome],
        )
    o = an.touch_outcomes(db, None, date(2024, 5, 31))
    assert o.source == "touch_events"
    (stage,) = o.by_stage
    assert (stage.key, stage.touches, stage.recorded) == ("upkeep", 4, 3)
    assert stage.counts == {"replied": 2, "problem": 1}
    assert stage.rate("replied") == pytest.approx(2 / 3)
    agents = {r.key: (r.touches, r.counts) for r in o.by_agent}
    assert agents == {"li": (2, {"replied": 1, "problem": 1}), "wang": (2, {"replied": 1})}
    # outcomes recorded later are touch_events rows: the latest one of a touch counts, and a
    # retracted touch (undo) is left out
    from tui_agent.store import outcomes as oc

    oc.record_outcome(db, 3, "no_reply", agent="wang", now=datetime(2024, 5, 4, 11, 0))
    oc.record_outcome(db, 3, "ordered", agent="wang", now=datetime(2024, 5, 4, 12, 0))
    oc.undo_last_touch(db, "li", touch_id=1, now=datetime(2024, 5, 1, 10, 5))
    o = an.touch_outcomes(db, None, date(2024, 5, 31))
    (stage,) = o.by_stage
    assert (stage.touches, stage.recorded) == (3, 3)
    assert stage.counts == {"problem": 1, "ordered": 1, "replied": 1}
