"""The stale check looks only where something changed, and cancels what the whole check does.

Two copies of a seeded shop go through the same days and the same changes. One generates as
the console does: the check looks at the customers the triggers recorded, new orders and
follow-ups, and orders dated after the last check's day (``store.stale``). The other forgets
the last check before each day, so it looks at every open follow-up, as generation always
did. After each day both hold the same follow-ups. Each change is made to cancel something,
and the test asserts that it does.
"""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlite_utils

from tests.store.test_generate_identical import FOLLOW_UPS
from tests.store.test_reference import calendar_rules, random_shop, write
from tui_agent.core.rules import RuleSet
from tui_agent.store import followups as fu
from tui_agent.store.db import connect, get_meta, write_tx
from tui_agent.store.importer import import_customers, import_orders
from tui_agent.store.outcomes import undo_last_touch
from tui_agent.store.stale import STATE

ORDER_HEADER = ["order_id", "customer_id", "ordered_at", "delivered_at", "sku", "amount"]


class Pair:
    """The shop twice: ``fast`` checks what changed, ``full`` checks everything."""

    def __init__(self, tmp: Path, rules: RuleSet) -> None:
        self.tmp, self.rules = tmp, rules
        fast = connect(tmp / "fast.db")
        random_shop(fast, tmp, seed=5)
        fast.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        a, b = sqlite3.connect(tmp / "fast.db"), sqlite3.connect(tmp / "full.db")
        a.backup(b)
        a.close()
        b.close()
        self.fast, self.full = fast, connect(tmp / "full.db")
        self.files = 0

    @property
    def both(self) -> tuple[sqlite_utils.Database, sqlite_utils.Database]:
        return self.fast, self.full

    def day(self, day: date, rules: RuleSet | None = None) -> int:
        """Generate ``day`` in both; returns how many follow-ups were cancelled."""
        now = datetime.combine(day, datetime.min.time()) + timedelta(hours=8)
        with write_tx(self.full):
            self.full.execute("DELETE FROM meta WHERE key = ?", [STATE])
        got = fu.generate(self.fast, day, rules or self.rules, now=now)
        want = fu.generate(self.full, day, rules or self.rules, now=now)
        assert got == want, day
        assert _rows(self.fast) == _rows(self.full), day
        assert self.fast.execute("SELECT count(*) FROM stale_check").fetchone()[0] == 0
        return got.cancelled

    def orders(self, rows: list[list[object]]) -> None:
        self.files += 1
        path = write(self.tmp / f"orders-{self.files}.csv", [ORDER_HEADER, *rows])
        for db in self.both:
            import_orders(db, path)

    def customers(self, rows: list[list[object]]) -> None:
        self.files += 1
        path = write(self.tmp / f"customers-{self.files}.csv", rows)
        for db in self.both:
            import_customers(db, path)


def _rows(db: sqlite_utils.Database) -> list[Any]:
    return db.execute(FOLLOW_UPS).fetchall()


def _target(db: sqlite_utils.Database, rules: RuleSet, *, orders: int = 1) -> tuple[Any, ...]:
    """An open follow-up of a stop-on-repurchase rule anchored on its customer's latest order
    (and the customer has ``orders`` orders or more): (id, customer, order, ordered_at)."""
    stop = [r.id for r in rules.rules if r.stop_on_repurchase]
    marks = ",".join("?" * len(stop))
    row = db.execute(
        "SELECT f.id, f.customer_id, f.order_id, o.ordered_at FROM follow_ups f "
        "JOIN orders o ON o.order_id = f.order_id "
        "JOIN customers c ON c.customer_id = f.customer_id "
        f"WHERE f.status = 'pending' AND f.rule IN ({marks}) AND NOT c.opt_out "
        "AND o.ordered_at = c.last_order_at AND c.order_count >= ? ORDER BY f.id LIMIT 1",
        [*stop, orders],
    ).fetchone()
    assert row is not None
    return tuple(row)


def _status(db: sqlite_utils.Database, fid: int) -> str:
    return str(db.execute("SELECT status FROM follow_ups WHERE id = ?", [fid]).fetchone()[0])


def test_each_kind_of_change_is_seen_as_the_whole_check_sees_it(tmp_path: Path) -> None:
    rules = calendar_rules()
    p = Pair(tmp_path, rules)
    day = date(2026, 3, 1)
    p.day(day)
    assert get_meta(p.fast, STATE) is not None

    # An opt-out from a customers import (a trigger on customers.opt_out).
    _, cid, _, _ = _target(p.fast, rules)
    p.customers([["customer_id", "opt_out"], [cid, "1"]])
    day += timedelta(days=1)
    assert p.day(day) >= 1

    # A new order (found by its rowid; the figures an import writes have no trigger).
    fid, cid, _, _ = _target(p.fast, rules)
    p.orders([[f"N-{cid}", cid, f"{day} 09:00", "", "TEA", 10]])
    day += timedelta(days=1)
    assert p.day(day) >= 1 and _status(p.fast, fid) == "cancelled"

    # The anchor order's time moved before the customer's previous order (a re-import).
    fid, cid, oid, _ = _target(p.fast, rules, orders=2)
    first = p.fast.execute(
        "SELECT min(ordered_at) FROM orders WHERE customer_id = ?", [cid]
    ).fetchone()[0]
    earlier = datetime.fromisoformat(first) - timedelta(days=1)
    p.orders([[oid, cid, f"{earlier:%Y-%m-%d %H:%M}", "", "TEA", 10]])
    day += timedelta(days=1)
    assert p.day(day) >= 1 and _status(p.fast, fid) == "cancelled"

    # A follow-up closed, its customer ordering again, then the touch taken back: reopened.
    fid, cid, _, _ = _target(p.fast, rules)
    at = datetime.combine(day, datetime.min.time()) + timedelta(hours=10)
    for db in p.both:
        fu.log_touch(db, agent="a1", customer_id=cid, text="hi", follow_up_id=fid, now=at)
    p.orders([[f"R-{cid}", cid, f"{day} 11:00", "", "TEA", 10]])
    day += timedelta(days=1)
    p.day(day)
    assert _status(p.fast, fid) == "done"
    for db in p.both:
        undo_last_touch(db, "a1", now=at + timedelta(minutes=1))
    assert _status(p.fast, fid) == "pending"
    day += timedelta(days=1)
    assert p.day(day) >= 1 and _status(p.fast, fid) == "cancelled"

    # A follow-up another writer created (a campaign) for a customer who opted out before.
    opted = p.fast.execute("SELECT customer_id FROM customers WHERE opt_out LIMIT 1").fetchone()[0]
    for db in p.both:
        with write_tx(db):
            db.execute(
                "INSERT INTO follow_ups (customer_id, stage, rule, due_date, created_at, "
                "updated_at) VALUES (?, 'campaign', 'spring', ?, ?, ?)",
                [opted, day.isoformat(), f"{day} 09:00:00", f"{day} 09:00:00"],
            )
    day += timedelta(days=1)
    assert p.day(day) >= 1

    # An order dated three days ahead stops the chain once its day is planned (a past day).
    fid, cid, _, _ = _target(p.fast, rules)
    ahead = day + timedelta(days=3)
    p.orders([[f"F-{cid}", cid, f"{ahead} 09:00", "", "TEA", 10]])
    for _ in range(3):
        day += timedelta(days=1)
        p.day(day)
        assert _status(p.fast, fid) != "cancelled" or day >= ahead
    assert day == ahead and _status(p.fast, fid) == "cancelled"

    # A rule that stopped on repurchase no longer does, then does again.
    fid, cid, _, _ = _target(p.fast, rules)
    rule = p.fast.execute("SELECT rule FROM follow_ups WHERE id = ?", [fid]).fetchone()[0]
    loose = replace(
        rules,
        rules=tuple(
            replace(r, stop_on_repurchase=False) if r.id == rule else r for r in rules.rules
        ),
    )
    p.orders([[f"L-{cid}", cid, f"{day} 12:00", "", "TEA", 10]])
    day += timedelta(days=1)
    p.day(day, loose)
    assert _status(p.fast, fid) != "cancelled"
    day += timedelta(days=1)
    assert p.day(day) >= 1 and _status(p.fast, fid) == "cancelled"

    # An order moved to another customer by a re-import (an update: the trigger sees both).
    fid, cid, _, _ = _target(p.fast, rules)
    other = p.fast.execute(
        "SELECT order_id FROM orders WHERE customer_id != ? ORDER BY rowid LIMIT 1", [cid]
    ).fetchone()[0]
    p.orders([[other, cid, f"{day} 07:00", "", "TEA", 10]])
    day += timedelta(days=1)
    assert p.day(day) >= 1 and _status(p.fast, fid) == "cancelled"

    # The newest order refunded (out of orders) and a new one of another customer in the same
    # file: the new one takes the rowid of the deleted one, which only the deletion tells.
    fid, cid, _, _ = _target(p.fast, rules)
    newest, rowid, owner, at = p.fast.execute(
        "SELECT order_id, rowid, customer_id, ordered_at FROM orders WHERE customer_id != ? "
        "ORDER BY rowid DESC LIMIT 1",
        [cid],
    ).fetchone()
    p.files += 1
    path = write(
        tmp_path / "refund.csv",
        [
            [*ORDER_HEADER, "status"],
            [newest, owner, at[:16], "", "TEA", 10, "refunded"],
            [f"M-{cid}", cid, f"{day} 07:30", "", "TEA", 10, ""],
        ],
    )
    for db in p.both:
        import_orders(db, path)
    assert (
        p.fast.execute("SELECT rowid FROM orders WHERE order_id = ?", [f"M-{cid}"]).fetchone()[0]
        == rowid
    )
    day += timedelta(days=1)
    assert p.day(day) >= 1 and _status(p.fast, fid) == "cancelled"


def test_the_triggers_record_who_changed(tmp_path: Path) -> None:
    p = Pair(tmp_path, calendar_rules())
    p.day(date(2026, 3, 1))
    db = p.fast
    fid, cid, oid, _ = _target(db, p.rules)

    def recorded() -> list[str | None]:
        return [r[0] for r in db.execute("SELECT customer_id FROM stale_check")]

    with write_tx(db):
        db.execute("UPDATE customers SET opt_out = 1 WHERE customer_id = ?", [cid])
        db.execute("UPDATE customers SET tier = 'gold' WHERE customer_id = ?", [cid])
    assert recorded() == [cid]
    with write_tx(db):
        db.execute("DELETE FROM stale_check")
        db.execute("UPDATE orders SET ordered_at = ordered_at WHERE order_id = ?", [oid])
        db.execute("UPDATE orders SET amount = amount + 1 WHERE order_id = ?", [oid])
        db.execute("UPDATE follow_ups SET suggested_tags = 'x' WHERE id = ?", [fid])
    assert recorded() == []  # nothing that can make a follow-up stale
    with write_tx(db):
        db.execute("UPDATE orders SET status = 'cancelled' WHERE order_id = ?", [oid])
        db.execute("UPDATE follow_ups SET status = 'done' WHERE id = ?", [fid])
        db.execute("UPDATE follow_ups SET status = 'pending' WHERE id = ?", [fid])
        db.execute("DELETE FROM order_lines WHERE order_id = ?", [oid])
        db.execute("DELETE FROM orders WHERE order_id = ?", [oid])
    assert recorded() == [cid, cid, None]  # None: an order was deleted, check everything
