"""Issue 12's attribution defects, each on a small hand-built shop (window 14 days).

Touches (each with its done follow-up): A on 02-01 (A orders 02-05), B on 02-01 (B never
orders), C on 02-20 (C orders 02-25). The frequency cap then skipped follow-ups of A (02-02)
and C (02-21): both customers had just been touched. D and E had follow-ups due 02-01 that an
agent skipped, were never touched, and never order.
"""

from __future__ import annotations

from datetime import date

import pytest
import sqlite_utils

from tests.analytics_data import add_customer, add_follow_up, add_order, add_touch
from tui_agent.store import analytics as an


@pytest.fixture
def shop(db: sqlite_utils.Database) -> sqlite_utils.Database:
    for c in "ABCDE":
        add_customer(db, c)
    add_order(db, "a0", "A", "2024-01-01 09:00:00", 10.0)
    add_order(db, "b0", "B", "2024-01-01 09:00:00", 10.0)
    add_order(db, "c0", "C", "2024-01-01 09:00:00", 10.0)
    add_order(db, "a1", "A", "2024-02-05 09:00:00", 30.0)
    add_order(db, "c1", "C", "2024-02-25 09:00:00", 40.0)
    add_follow_up(db, 1, "A", "repurchase", "2024-02-01", "done", None)
    add_follow_up(db, 2, "B", "repurchase", "2024-02-01", "done", None)
    add_follow_up(db, 3, "C", "repurchase", "2024-02-20", "done", None)
    add_follow_up(db, 4, "A", "upkeep", "2024-02-02", "skipped", "cap: 1 touch in 24 h")
    add_follow_up(db, 5, "C", "upkeep", "2024-02-21", "skipped", "cap: 2 touches in 7 days")
    add_follow_up(db, 6, "D", "repurchase", "2024-02-01", "skipped", "agent skipped")
    add_follow_up(db, 7, "E", "repurchase", "2024-02-01", "skipped", "agent skipped")
    add_touch(db, "li", "A", 1, "p1", "repurchase", "2024-02-01 10:00:00")
    add_touch(db, "li", "B", 2, "p1", "repurchase", "2024-02-01 10:00:00")
    add_touch(db, "li", "C", 3, "p1", "repurchase", "2024-02-20 10:00:00")
    return db


def test_baseline_leaves_out_capped_and_touched_customers(shop: sqlite_utils.Database) -> None:
    today = date(2024, 3, 31)  # every window closed
    a = an.attribution(shop, None, today, today=today)
    # Only D and E: neither ordered. The capped follow-ups of A and C are not a baseline
    # (their customers had just been touched; their orders belong to those touches).
    assert (a.baseline.follow_ups, a.baseline.converted) == (2, 0)
    assert (a.total.touches, a.total.converted) == (3, 2)
    assert a.total.lift_pp == pytest.approx(200 / 3)
    assert a.total.lift_pp > 0
    # the lift's interval (Newcombe) and the note that these groups are too thin to compare
    assert a.total.lift_interval is not None
    assert a.total.lift_interval.low < a.total.lift_pp / 100 < a.total.lift_interval.high
    assert a.total.too_thin


def test_open_windows_are_maturing_not_failures(shop: sqlite_utils.Database) -> None:
    today = date(2024, 2, 22)  # A's and B's windows closed 02-15; C's is open until 03-05
    a = an.attribution(shop, None, today, today=today)
    assert (a.total.touches, a.total.converted) == (2, 1)
    assert a.total.conversion == 0.5
    assert a.maturing.touches == 1
    stage = {r.key: r for r in a.by_stage}
    assert stage["repurchase"].touches == 2
    # the baseline's own windows (due 02-01: closed 02-15; due 02-21: open) likewise
    assert a.baseline.follow_ups == 2
    assert a.maturing.follow_ups == 0  # C's capped follow-up is no baseline at all


def test_orders_after_today_never_count(shop: sqlite_utils.Database) -> None:
    # As of 02-22, C's order of 02-25 has not happened yet: the maturing touch has not
    # converted so far, and no matured figure sees it either.
    today = date(2024, 2, 22)
    a = an.attribution(shop, None, today, today=today)
    assert a.maturing.converted == 0
    assert a.total.revenue == pytest.approx(30.0)
    later = an.attribution(shop, None, date(2024, 2, 26), today=date(2024, 2, 26))
    assert (later.maturing.touches, later.maturing.converted) == (1, 1)


def test_stats_use_today_for_attribution(shop: sqlite_utils.Database) -> None:
    s = an.shop_stats(shop, None, date(2024, 2, 22), date(2024, 2, 22))
    assert (s.attribution.total.touches, s.attribution.total.converted) == (2, 1)
