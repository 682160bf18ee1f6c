"""Issue 15 item 10: an order re-exported under another customer is moved, counted as
updated (and said), and the follow-ups it affects are fixed: the old customer's open
follow-up about it is cancelled with the reason, and the new owner gets one."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from tui_agent.core.rules import load_rules
from tui_agent.paths import rules_path
from tui_agent.store import followups as fu
from tui_agent.store import importer
from tui_agent.store.db import connect

HEADER = "order_id,customer_id,ordered_at,delivered_at,sku,product,category,quantity,amount\n"
DAY = date(2026, 1, 5)


def test_an_order_moved_to_another_customer(tmp_path: Path) -> None:
    db = connect(tmp_path / "s.db")
    rules = load_rules(rules_path())
    first = tmp_path / "o1.csv"
    first.write_text(
        HEADER + "O1,C1,2026-01-02 10:00:00,2026-01-04,S1,挂耳咖啡,food,1,39.90\n"
        "O2,C3,2026-01-02 11:00:00,2026-01-04,S1,挂耳咖啡,food,1,39.90\n",
        encoding="utf-8",
    )
    importer.import_orders(db, first)
    fu.generate(db, DAY, rules)
    before = {
        r[0]: r[1]
        for r in db.execute("SELECT customer_id, status FROM follow_ups WHERE order_id = 'O1'")
    }
    assert before == {"C1": "pending"}

    moved = tmp_path / "o2.csv"
    moved.write_text(HEADER + "O1,C2,2026-01-02 10:00:00,2026-01-04,S1,挂耳咖啡,food,1,39.90\n")
    result = importer.import_orders(db, moved)
    assert (result.updated, result.unchanged) == (1, 0)
    assert result.moved == 1
    assert "1 orders moved to another customer" in result.summary()
    assert db.execute("SELECT customer_id FROM orders WHERE order_id='O1'").fetchone()[0] == "C2"
    # the old customer's figures follow
    c1 = db.execute("SELECT order_count, total_spent FROM customers WHERE customer_id='C1'")
    assert c1.fetchone() == (0, 0)
    status, reason = db.execute(
        "SELECT status, status_reason FROM follow_ups WHERE customer_id = 'C1'"
    ).fetchone()
    assert status == "cancelled" and "O1" in reason and "C2" in reason
    fu.generate(db, DAY, rules)
    owners = {
        r[0]: r[1]
        for r in db.execute("SELECT customer_id, status FROM follow_ups WHERE order_id = 'O1'")
    }
    assert owners == {"C1": "cancelled", "C2": "pending"}
    # untouched order and its follow-up stay as they were
    assert db.execute("SELECT status FROM follow_ups WHERE order_id = 'O2'").fetchone()[0] == (
        "pending"
    )
    # importing the same file again changes nothing
    again = importer.import_orders(db, moved)
    assert (again.updated, again.unchanged, again.moved) == (0, 1, 0)
