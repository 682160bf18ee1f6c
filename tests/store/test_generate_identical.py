"""Generation writes exactly what the slow reference planner writes.

Generation reads through indexed windows and leaves out, in SQL, what planning would drop
(keys already written, chains stopped by a newer order, own-cycle products outside the last
order: ``store.facts``, ``live``); the heavy kinds' occurrences and the planning itself are
SQL (``store.occurrences``, ``store.generation``). The reference planner is
``store.reference.reference_generate``: every order, line and customer loaded whole, every
kind's pure function, ``core.lifecycle.plan_day`` in Python, rows written one by one. Two copies of a seeded shop with every rule kind on, a do-not-disturb week, the
daily capacity, customers' own replenishment cycles, agents working the queue, new orders and
an opt-out in between: after each day both hold the same follow-ups and the same reasons,
texts included.
"""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils

from tests.store.test_reference import calendar_rules, random_shop, write
from tui_agent.core.rules import RuleSet
from tui_agent.store import followups as fu
from tui_agent.store.db import connect
from tui_agent.store.importer import import_customers, import_orders, import_products
from tui_agent.store.reference import reference_generate

FOLLOW_UPS = (
    "SELECT id, customer_id, stage, rule, suggested_tags, due_date, status, status_reason, "
    "snoozed_until, claimed_by, order_id, deferrals, updated_at FROM follow_ups ORDER BY id"
)
REASONS = (
    "SELECT key, follow_up_id, rule, text, order_id, product, category, delivery_assumed "
    "FROM follow_up_reasons ORDER BY key"
)
# the order a follow-up's reasons are shown in (its leading reason first)
REASON_ORDER = "SELECT follow_up_id, key FROM follow_up_reasons ORDER BY follow_up_id, rowid"


def _copy(src: Path, dst: Path) -> None:
    a, b = sqlite3.connect(src), sqlite3.connect(dst)
    a.backup(b)
    a.close()
    b.close()


def _state(db: sqlite_utils.Database) -> tuple[list[Any], list[Any], list[Any]]:
    return (
        db.execute(FOLLOW_UPS).fetchall(),
        db.execute(REASONS).fetchall(),
        db.execute(REASON_ORDER).fetchall(),
    )


def _work(db: sqlite_utils.Database, day: date, rules: RuleSet) -> None:
    """The agents touch the first three of the day's queue (the cap and merges follow)."""
    at = datetime.combine(day, datetime.min.time()) + timedelta(hours=10)
    for f in fu.due_queue(db, day)[:3]:
        fu.log_touch(
            db, agent="a1", customer_id=f.customer_id, text="hi", follow_up_id=f.id, now=at
        )


def _new_orders(db: sqlite_utils.Database, tmp: Path, day: date) -> None:
    rows: list[list[object]] = [
        ["order_id", "customer_id", "ordered_at", "delivered_at", "sku", "category", "amount"]
    ]
    for i in range(0, 80, 7):
        at = f"{day.isoformat()} 09:{i % 60:02d}"
        rows.append([f"N{day:%m%d}-{i}", f"C{i}", at, "", "TEA", "", 10])
    import_orders(db, write(tmp / f"orders-{day}.csv", rows))


@pytest.mark.parametrize("seed", [7, 11])
def test_generation_writes_what_the_reference_planner_writes(tmp_path: Path, seed: int) -> None:
    fast = connect(tmp_path / "fast.db")
    random_shop(fast, tmp_path, seed=seed)
    fast.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    _copy(tmp_path / "fast.db", tmp_path / "ref.db")
    ref = connect(tmp_path / "ref.db")
    quiet = frozenset(date(2026, 3, 14) + timedelta(days=i) for i in range(3))
    rules = replace(calendar_rules(), daily_capacity=12, quiet_days=quiet)
    assert any(r.own_cycle_min_orders for r in rules.rules)

    day, written, moved = date(2026, 3, 1), 0, 0
    while day <= date(2026, 4, 20):
        now = datetime.combine(day, datetime.min.time()) + timedelta(hours=8)
        if day in (date(2026, 3, 2), date(2026, 3, 9), date(2026, 3, 20)):
            for db in (fast, ref):  # repeat buyers of TEA: their own cycle counts
                _new_orders(db, tmp_path, day)
                fu.opt_out(db, "C3", "a1", now=now)
        got = fu.generate(fast, day, rules, now=now)
        want = reference_generate(ref, day, rules, now=now)
        assert got == want, day
        assert _state(fast) == _state(ref), day
        written += got.created + got.merged
        moved += got.cancelled + got.deferred
        for db in (fast, ref):
            _work(db, day, rules)
        day += timedelta(days=1)
    follow_ups, reasons, _ = _state(fast)
    texts = " ".join(r[3] for r in reasons)
    # not vacuous: many follow-ups and merges, every kind, own cycles, moved days, deferrals
    assert written > 100 and moved > 0
    kinds = {r[2] for r in reasons}
    assert {"care", "replenish", "birthday", "holiday", "member_day", "upkeep", "winback"} <= kinds
    assert "own cycle" in texts and "do-not-disturb" in texts
    assert any(f[6] == "cancelled" for f in follow_ups)


def test_own_cycles_at_the_edges_of_the_window(tmp_path: Path) -> None:
    """The own-cycle look-up leaves out, before reading a product's days, lines whose
    reminder cannot fall in the window; at the bound's edges it still finds what the
    reference finds: a reminder due on the first day of the catch-up window (cycle = the
    bound), and one due the day after delivery (a cycle shorter than the lead)."""
    fast = connect(tmp_path / "fast.db")
    products = [["sku", "name", "category", "cycle_days"], ["SOAP", "香皂", "", ""]]
    customers = [["customer_id", "name"], ["E1", "客户1"], ["E2", "客户2"]]
    orders: list[list[object]] = [
        ["order_id", "customer_id", "ordered_at", "delivered_at", "sku", "category", "amount"]
    ]
    days = {"E1": ["2026-01-01", "2026-01-31", "2026-03-02"]}  # gaps 30, 30: cycle 30
    days["E2"] = ["2026-03-01", "2026-03-04", "2026-03-07"]  # gaps 3, 3: cycle 3
    for cid, ds in days.items():
        for i, d in enumerate(ds):
            orders.append([f"{cid}-{i}", cid, f"{d} 09:00", f"{d} 18:00", "SOAP", "", 10])
    import_products(fast, write(tmp_path / "p.csv", products))
    import_customers(fast, write(tmp_path / "c.csv", customers))
    import_orders(fast, write(tmp_path / "o.csv", orders))
    fast.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    _copy(tmp_path / "fast.db", tmp_path / "ref.db")
    ref = connect(tmp_path / "ref.db")
    # no category defaults: the bound is the customer's own (no base cycle above it)
    rules = replace(calendar_rules(), category_cycle_days={}, quiet_days=frozenset())
    # E2: delivered 7 March, due the 8th (+1 d); E1: delivered 2 March, due 27 March
    # (+25 d), generated on the 30th, when the 27th opens the 3-day catch-up window
    for day in (date(2026, 3, 8), date(2026, 3, 30)):
        now = datetime.combine(day, datetime.min.time()) + timedelta(hours=8)
        got = fu.generate(fast, day, rules, now=now)
        assert reference_generate(ref, day, rules, now=now) == got, day
        assert _state(fast) == _state(ref), day
    texts = [r[3] for r in _state(fast)[1] if r[2] == "replenish"]
    assert any("own cycle 30 d from 3 orders" in t for t in texts), texts
    assert any("own cycle 3 d from 3 orders" in t for t in texts), texts


def test_a_customers_occurrences_are_ranked_as_the_reference_ranks_them(tmp_path: Path) -> None:
    """A long catch-up and no rule stopping on a repurchase: customers get several
    occurrences of one rule (same priority, different days) in one follow-up; the leading
    one, the tags and the order the reasons are shown in are the reference planner's."""
    fast = connect(tmp_path / "fast.db")
    random_shop(fast, tmp_path, seed=7)
    fast.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    _copy(tmp_path / "fast.db", tmp_path / "ref.db")
    ref = connect(tmp_path / "ref.db")
    base = calendar_rules()
    rules = replace(
        base,
        catch_up_days=20,
        quiet_days=frozenset(),
        rules=tuple(replace(r, stop_on_repurchase=False) for r in base.rules),
    )
    # after the last order (the reference would count later orders in the own cycles)
    for day in (date(2026, 3, 1), date(2026, 3, 8), date(2026, 3, 20)):
        now = datetime.combine(day, datetime.min.time()) + timedelta(hours=8)
        assert fu.generate(fast, day, rules, now=now) == reference_generate(
            ref, day, rules, now=now
        )
        assert _state(fast) == _state(ref), day
    same_rule = fast.execute(
        "SELECT count(*) FROM (SELECT follow_up_id, rule FROM follow_up_reasons "
        "GROUP BY follow_up_id, rule HAVING count(DISTINCT substr(text, 1, 200)) > 1)"
    ).fetchone()[0]
    assert same_rule > 0


def test_category_cycles_are_found_as_the_rules_key_them(tmp_path: Path) -> None:
    """A line's category finds its default cycle as ``RuleSet.cycle_for`` keys it (stripped,
    lower case, Unicode included), in SQL as in the pure reference."""
    products = [["sku", "name", "category", "cycle_days"], ["P1", "礼盒", "Food", ""]]
    customers = [["customer_id", "name"]] + [[f"K{i}", f"客户{i}"] for i in range(6)]
    cats = ["FOOD", "食品", "Beauty ", "ＭＯＴＨＥＲ_ＢＡＢＹ", "Électronique", ""]
    orders: list[list[object]] = [
        ["order_id", "customer_id", "ordered_at", "delivered_at", "sku", "category", "amount"]
    ]
    for i, cat in enumerate(cats):
        sku = "P1" if not cat else ""
        orders.append([f"Q{i}", f"K{i}", "2026-03-01 09:00", "2026-03-01 18:00", sku, cat, 10])
    fast = connect(tmp_path / "fast.db")
    import_products(fast, write(tmp_path / "p.csv", products))
    import_customers(fast, write(tmp_path / "c.csv", customers))
    import_orders(fast, write(tmp_path / "o.csv", orders))
    # an ideographic space the import would have stripped: Python's strip() removes it too
    fast.execute("UPDATE order_lines SET category = ? WHERE order_id = 'Q1'", ["\u3000食品"])
    fast.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    _copy(tmp_path / "fast.db", tmp_path / "ref.db")
    ref = connect(tmp_path / "ref.db")
    rules = replace(calendar_rules(), quiet_days=frozenset())
    day = date(2026, 3, 10)
    while day <= date(2026, 4, 20):
        now = datetime.combine(day, datetime.min.time())
        assert fu.generate(fast, day, rules, now=now) == reference_generate(
            ref, day, rules, now=now
        )
        assert _state(fast) == _state(ref), day
        day += timedelta(days=1)
    texts = [r[3] for r in _state(fast)[1] if r[2] == "replenish"]
    # the ideographic space stripped as Python strips it; no rule names the full-width
    # letters (lower() keeps them full width), Électronique nor the product's own category
    assert len(texts) == 4 and any("\u3000食品 (21-day cycle)" in t for t in texts), texts
