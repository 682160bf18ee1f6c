"""``eligible_segments`` on a holiday rule: generation greets only customers whose RFM segment
(as of the day, from ``customer_segments`` when current) is listed, and finds exactly what the
slow reference finds."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import sqlite_utils

from tests.store.test_reference import calendar_rules, random_shop, write
from tui_agent.core.rules import RuleSet, parse_rules
from tui_agent.store import followups as fu
from tui_agent.store.analytics import refresh_segments, stored_segments_current
from tui_agent.store.importer import import_customers, import_orders
from tui_agent.store.reference import reference_keys

SPRING = date(2026, 2, 14)  # the 春节 greeting's working day (see tests/core/test_kinds.py)


def holiday_rules(segments: list[str]) -> RuleSet:
    rule = {
        "id": "vip_holiday",
        "kind": "holiday",
        "calendar": "CN",
        "holidays": ["春节"],
        "stage": "upkeep",
        "active_within_days": 0,  # any customer: only the segment decides
        "eligible_segments": segments,
    }
    return parse_rules({"work": {"catch_up_days": 0}, "rule": [rule]})


def hand_built_shop(db: sqlite_utils.Database, tmp: Path) -> None:
    """Ten customers: five buy often and much (champions or loyal: scores are relative), five
    bought once, long ago (about to sleep, hibernating or lost); N1 never ordered (no
    segment)."""
    customers: list[list[object]] = [["customer_id", "name"]]
    orders: list[list[object]] = [["order_id", "customer_id", "ordered_at", "amount"]]
    n = 0
    for i in range(5):
        customers.append([f"BIG{i}", f"大客户{i}"])
        for k in range(6):
            n += 1
            orders.append([f"O{n}", f"BIG{i}", f"2026-0{1 + k % 2}-{10 + k}", 500 + i])
    for i in range(5):
        customers.append([f"OLD{i}", f"老客户{i}"])
        n += 1
        orders.append([f"O{n}", f"OLD{i}", f"2024-0{3 + i}-01", 20])
    customers.append(["N1", "新人"])
    import_customers(db, write(tmp / "customers.csv", customers))
    import_orders(db, write(tmp / "orders.csv", orders))


def greeted(db: sqlite_utils.Database, rules: RuleSet) -> set[str]:
    return {o.customer_id for o in fu.occurrences_for_day(db, SPRING, rules)}


def test_holiday_with_eligible_segments_greets_only_those_segments(
    db: sqlite_utils.Database, tmp_path: Path
) -> None:
    hand_built_shop(db, tmp_path)
    refresh_segments(db, SPRING)
    stored = dict(db.execute("SELECT customer_id, segment FROM customer_segments").fetchall())
    assert {stored[f"BIG{i}"] for i in range(5)} == {"champions", "loyal"}
    assert "N1" not in stored  # no order, no segment
    champions = {cid for cid, seg in stored.items() if seg == "champions"}
    assert greeted(db, holiday_rules(["champions"])) == champions
    assert greeted(db, holiday_rules(["champions", "loyal"])) == {f"BIG{i}" for i in range(5)}
    old = {stored[f"OLD{i}"] for i in range(5)}
    assert not old & {"champions", "loyal"}
    assert greeted(db, holiday_rules(sorted(old))) == {f"OLD{i}" for i in range(5)}
    # without the key every customer is greeted, the one without orders too
    plain = holiday_rules([])
    assert greeted(db, plain) == set(stored) | {"N1"}
    # the reference agrees
    rules = holiday_rules(["champions"])
    assert {o.key for o in fu.occurrences_for_day(db, SPRING, rules)} == reference_keys(
        db, rules, SPRING
    )


def test_segments_not_stored_for_the_day_are_scored_the_same_way_without_writing(
    db: sqlite_utils.Database, tmp_path: Path
) -> None:
    """Generation never writes segments while it reads: when the stored segments are not of
    the day (or of the orders as they are), the same scoring runs in memory."""
    hand_built_shop(db, tmp_path)
    rules = holiday_rules(["champions", "loyal"])
    assert not stored_segments_current(db, SPRING)
    lazy = greeted(db, rules)
    assert db.execute("SELECT count(*) FROM customer_segments").fetchone()[0] == 0
    refresh_segments(db, SPRING)
    assert stored_segments_current(db, SPRING)
    assert greeted(db, rules) == lazy == {f"BIG{i}" for i in range(5)}


def test_reference_matches_with_eligible_segments_on_every_calendar_kind(
    db: sqlite_utils.Database, tmp_path: Path
) -> None:
    random_shop(db, tmp_path, seed=7)
    base = calendar_rules()
    segs = ("champions", "loyal", "potential_loyal", "new", "promising")
    rules = replace(
        base,
        rules=tuple(
            replace(r, eligible_segments=segs)
            if r.kind in ("holiday", "member_day", "periodic")
            else r
            for r in base.rules
        ),
    )
    seen: set[str] = set()
    for day in (date(2026, 3, 1), date(2026, 3, 2), date(2026, 3, 7), date(2026, 3, 31)):
        got = {o.key for o in fu.occurrences_for_day(db, day, rules)}
        assert got == reference_keys(db, rules, day), day
        wide = {o.key for o in fu.occurrences_for_day(db, day, base)}
        assert got <= wide
        seen |= {k.split(":")[0] for k in wide - got}
    assert {"holiday", "member_day"} <= seen  # the key did leave customers out
