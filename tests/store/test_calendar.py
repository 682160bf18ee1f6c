"""The calendar on a real SQLite file: the defects of issue 10 and the new kinds end to end."""

from __future__ import annotations

import tomllib
from datetime import date, datetime, timedelta
from typing import Any

import pytest
import sqlite_utils

from tests.helpers import add_customer, add_order
from tui_agent.core.rules import RuleSet, load_rules, parse_rules
from tui_agent.paths import rules_path
from tui_agent.store import followups as fu

RULES: RuleSet = load_rules(rules_path())


def rules_with(*extra: dict[str, Any], **work: Any) -> RuleSet:
    data = tomllib.loads(rules_path().read_text())
    data["work"].update(work)
    data["rule"] += list(extra)
    return parse_rules(data)


def reasons(db: sqlite_utils.Database, day: date) -> dict[str, set[str]]:
    return {f.customer_id: {r.rule for r in f.reasons} for f in fu.due_queue(db, day)}


def test_year_unknown_birthday_is_greeted(db: sqlite_utils.Database) -> None:
    """Defect 1: customers A,1990-03-15 and B,03-15 (stored 0000-03-15): both on 2027-03-15."""
    add_customer(db, "A", birthday="1990-03-15")
    add_customer(db, "B", birthday="0000-03-15")
    fu.generate(db, date(2027, 3, 15), RULES)
    assert reasons(db, date(2027, 3, 15)) == {"A": {"birthday"}, "B": {"birthday"}}


def test_birthday_missed_over_new_year_is_caught_up(db: sqlite_utils.Database) -> None:
    """Defect 2: runs on 12-30 and then 01-01; the birthday on 12-31 comes on 01-01."""
    add_customer(db, "c1", birthday="1990-12-31")
    fu.generate(db, date(2026, 12, 30), RULES)
    fu.generate(db, date(2027, 1, 1), RULES)
    queue = fu.due_queue(db, date(2027, 1, 1))
    assert [(f.customer_id, f.due_date) for f in queue] == [("c1", date(2026, 12, 31))]


def test_replenishment_uses_the_products_category(db: sqlite_utils.Database) -> None:
    """Defect 3: the order line has no category, products.csv says food (21 days)."""
    add_customer(db, "c1")
    db.execute("INSERT INTO products (sku, name, category) VALUES ('T1', '乌龙茶', 'food')")
    add_order(db, "o1", "c1", "2026-02-01", "2026-02-03 10:00:00", lines=[("T1", "乌龙茶", None)])
    lead = RULES.by_id("replenish").lead_days  # type: ignore[union-attr]
    day = date(2026, 2, 3) + timedelta(days=21 - lead)
    fu.generate(db, day, RULES)
    assert "replenish" in reasons(db, day)["c1"]


def test_the_cap_holds_at_the_moment_of_work(db: sqlite_utils.Database) -> None:
    """Defect 4: a follow-up queued in the morning, a manual touch at 09:00, then the queued
    one at 09:30: refused with the reason, nothing written; forced, it goes through."""
    from tui_agent.store.cap import cap_block

    add_customer(db, "c1")
    add_order(db, "o1", "c1", "2026-02-01", "2026-02-08 10:00:00")  # +30 coupon due 03-10
    day = date(2026, 3, 10)
    fu.generate(db, day, RULES)
    [item] = fu.due_queue(db, day)
    assert item.rule == "coupon"
    nine = datetime(2026, 3, 10, 9, 0)
    assert cap_block(db, "c1", nine, RULES, item.id) is None
    fu.log_touch(db, agent="mike", customer_id="c1", text="hi", now=nine)  # manual, no follow-up
    reason = cap_block(db, "c1", nine + timedelta(minutes=30), RULES, item.id)
    assert reason is not None and reason.startswith("cap: 1 touch(es) in the last 24 h")
    before = db.execute("SELECT count(*) FROM touches").fetchone()[0]
    with pytest.raises(fu.CapBlocked, match="cap: 1 touch"):
        fu.log_touch(
            db,
            agent="lily",
            customer_id="c1",
            text="coupon",
            follow_up_id=item.id,
            now=nine + timedelta(minutes=30),
            rules=RULES,
        )
    assert db.execute("SELECT count(*) FROM touches").fetchone()[0] == before
    assert fu.get_follow_up(db, item.id).status.value == "pending"  # type: ignore[union-attr]
    fu.log_touch(
        db,
        agent="lily",
        customer_id="c1",
        text="coupon",
        follow_up_id=item.id,
        now=nine + timedelta(minutes=31),
        rules=RULES,
        force=True,
    )
    assert db.execute("SELECT count(*) FROM touches").fetchone()[0] == before + 1


def test_planning_a_past_day_ignores_later_orders(db: sqlite_utils.Database) -> None:
    """Defect 6: an order placed after the planning day does not stop the chain."""
    add_customer(db, "c1")
    add_order(db, "o1", "c1", "2026-03-01 10:00:00", "2026-03-09 10:00:00")
    add_order(db, "o2", "c1", "2026-03-20 10:00:00", None, seq=2)
    day = date(2026, 3, 10)
    result = fu.generate(db, day, RULES)
    assert result.cancelled == 0
    assert reasons(db, day) == {"c1": {"care"}}


def test_the_default_cadence_reaches_a_one_time_buyer(db: sqlite_utils.Database) -> None:
    """Defect 8: +1 care and +3 experience check worked, the +7 review invitation still comes
    (service touches are not held back by the 2-per-7-days cap)."""
    add_customer(db, "c1")
    add_order(db, "o1", "c1", "2026-03-01 10:00:00", "2026-03-02 10:00:00")
    worked = []
    for day in (date(2026, 3, d) for d in range(3, 17)):
        fu.generate(db, day, RULES)
        for f in fu.due_queue(db, day):
            fu.log_touch(
                db,
                agent="lily",
                customer_id=f.customer_id,
                text=f.rule,
                follow_up_id=f.id,
                now=datetime.combine(day, datetime.min.time()) + timedelta(hours=10),
                rules=RULES,
            )
            worked.append((day.day, f.rule))
    assert worked == [(3, "care"), (5, "experience"), (9, "review")]
    capped = db.execute("SELECT count(*) FROM follow_ups WHERE status_reason LIKE 'cap:%'")
    assert capped.fetchone()[0] == 0


def test_assumed_delivery_is_flagged_on_the_follow_up(db: sqlite_utils.Database) -> None:
    add_customer(db, "c1")
    add_order(db, "o1", "c1", "2026-11-25 10:00:00", None)
    fu.generate(db, date(2026, 11, 29), RULES)
    [f] = fu.due_queue(db, date(2026, 11, 29))
    assert f.delivery_assumed
    assert "delivery assumed ~2026-11-28" in f.reasons[0].text


def test_lunar_birthday_from_the_database(db: sqlite_utils.Database) -> None:
    add_customer(db, "L", lunar_birthday="02-30")  # 2026: the second month has 29 days
    add_customer(db, "S", birthday="1990-04-16")
    fu.generate(db, date(2026, 4, 16), RULES)
    queue = fu.due_queue(db, date(2026, 4, 16))
    assert {f.customer_id for f in queue} == {"L", "S"}
    lunar = next(f for f in queue if f.customer_id == "L")
    assert "农历02-30" in lunar.reasons[0].text


def test_own_cycle_from_the_database(db: sqlite_utils.Database) -> None:
    add_customer(db, "c1")
    db.execute(
        "INSERT INTO products (sku, name, category, cycle_days) VALUES ('T1', '茶', 'food', 30)"
    )
    starts = [date(2026, 1, 1) + timedelta(days=20 * i) for i in range(4)]  # every 20 days
    for i, d in enumerate(starts, start=1):
        add_order(
            db, f"o{i}", "c1", f"{d} 10:00:00", f"{d} 18:00:00", seq=i, lines=[("T1", "茶", None)]
        )
    db.execute("UPDATE customers SET order_count = 4 WHERE customer_id = 'c1'")
    # own cycle: (3 gaps * 20 + 2 * 30) / 5 = 24 days; reminder 5 days before
    day = starts[-1] + timedelta(days=24 - 5)
    fu.generate(db, day - timedelta(days=1), RULES)
    assert "replenish" not in reasons(db, day - timedelta(days=1)).get("c1", set())
    fu.generate(db, day, RULES)
    [f] = fu.due_queue(db, day)
    texts = [r.text for r in f.reasons if r.rule == "replenish"]
    assert len(texts) == 1 and "own cycle 24 d from 4 orders" in texts[0]


HOLIDAY = {
    "id": "holiday",
    "kind": "holiday",
    "calendar": "CN",
    "holidays": ["春节"],
    "lead_days": 1,
    "stage": "upkeep",
    "tags": ["holiday"],
    "priority": 20,
}


def test_holiday_greeting_once_for_active_customers(db: sqlite_utils.Database) -> None:
    rules = rules_with(HOLIDAY)
    add_customer(db, "active")
    add_order(db, "o1", "active", "2025-12-01 10:00:00", "2025-12-03 10:00:00")
    add_customer(db, "lapsed")
    add_order(db, "o2", "lapsed", "2024-06-01 10:00:00", "2024-06-03 10:00:00")
    fu.generate(db, date(2026, 2, 13), rules)
    assert reasons(db, date(2026, 2, 13)) == {}
    fu.generate(db, date(2026, 2, 14), rules)  # the 调休 working Saturday
    assert reasons(db, date(2026, 2, 14)) == {"active": {"holiday"}}
    fu.generate(db, date(2026, 2, 16), rules)
    n = db.execute("SELECT count(*) FROM follow_up_reasons WHERE rule = 'holiday'").fetchone()[0]
    assert n == 1


def test_capacity_defers_and_brings_back(db: sqlite_utils.Database) -> None:
    rules = rules_with(daily_capacity=2, max_deferrals=1)
    for cid, value in [("a", 300), ("b", 200), ("c", 100)]:
        add_customer(db, cid)
        add_order(db, f"o{cid}", cid, "2026-03-01", "2026-03-09 10:00:00", value)
    day = date(2026, 3, 10)
    result = fu.generate(db, day, rules)
    assert result.deferred == 1 and fu.deferred_count(db, day) == 1
    assert [f.customer_id for f in fu.due_queue(db, day)] == ["a", "b"]
    row = db.execute(
        "SELECT status, status_reason, deferrals FROM follow_ups WHERE customer_id='c'"
    )
    status, why, n = row.fetchone()
    assert status == "snoozed" and why.startswith("deferred: daily capacity 2") and n == 1
    assert fu.day_progress(db, day).done == 0  # a deferral is not work done
    # the next day it comes back, and having been deferred max_deferrals times it is kept
    # even though a more valuable customer's follow-up arrives and the day is full
    nxt = day + timedelta(days=1)
    add_customer(db, "d")
    add_order(db, "od", "d", "2026-03-01", "2026-03-10 10:00:00", 900)
    result = fu.generate(db, nxt, rules)
    assert "c" in [f.customer_id for f in fu.due_queue(db, nxt)]
    assert result.deferred == 2  # b (overdue, less valuable than a) and d (due today)


def test_quiet_days_hold_follow_ups_until_the_next_allowed_day(db: sqlite_utils.Database) -> None:
    rules = rules_with(quiet_days=["2026-03-10..2026-03-12"])
    add_customer(db, "c1")
    add_order(db, "o1", "c1", "2026-03-01", "2026-03-09 10:00:00")  # care due 03-10
    fu.generate(db, date(2026, 3, 10), rules)
    assert fu.due_queue(db, date(2026, 3, 10)) == []
    fu.generate(db, date(2026, 3, 13), rules)
    [f] = fu.due_queue(db, date(2026, 3, 13))
    assert f.due_date == date(2026, 3, 13)
    assert {r.rule for r in f.reasons} == {"care", "experience"}
    assert any("do-not-disturb" in r.text for r in f.reasons)


def test_the_customer_says_which_calendar_the_birthday_is_in(db: sqlite_utils.Database) -> None:
    from tui_agent.store.queries import get_customer

    add_customer(db, "L", birthday="1990-05-01", lunar_birthday="闰04-10")
    add_customer(db, "S", birthday="1990-05-01")
    add_customer(db, "U", birthday="0000-05-01")
    labels = {cid: get_customer(db, cid).birthday_label() for cid in "LSU"}  # type: ignore[union-attr]
    assert labels == {
        "L": "农历 闰04-10 (lunar)",
        "S": "1990-05-01 (solar)",
        "U": "05-01 (solar, year unknown)",
    }


def test_the_new_facts_queries_use_indexes(db: sqlite_utils.Database) -> None:
    plans = {
        "lunar": "SELECT customer_id FROM customers WHERE lunar_birthday IN ('02-30', '闰02-30')",
        "periodic": "SELECT customer_id FROM customers WHERE first_order_at >= '2026-01-01' "
        "AND first_order_at < '2026-01-05'",
        "holiday": "SELECT customer_id FROM customers WHERE last_order_at >= '2025-01-01'",
    }
    for name, sql in plans.items():
        detail = " ".join(str(r[3]) for r in db.execute("EXPLAIN QUERY PLAN " + sql).fetchall())
        assert "USING INDEX" in detail or "USING COVERING INDEX" in detail, (name, detail)


def test_a_customer_imported_late_keeps_the_caught_up_birthday(
    db: sqlite_utils.Database,
) -> None:
    """Like defect 5, for customers: added after 03-09 was generated, birthday 03-08."""
    fu.generate(db, date(2026, 3, 9), RULES)
    add_customer(db, "late", birthday="1990-03-08")
    fu.generate(db, date(2026, 3, 10), RULES)
    assert reasons(db, date(2026, 3, 10)) == {"late": {"birthday"}}
