"""Cancelled and refunded orders in the lifecycle: they start no chain and stop none."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import sqlite_utils

from tui_agent.core.rules import RuleSet, load_rules
from tui_agent.paths import rules_path
from tui_agent.store import followups as fu
from tui_agent.store.importer import import_orders

RULES: RuleSet = load_rules(rules_path())
D = date(2026, 3, 10)
HEAD = "order_id,customer_id,ordered_at,delivered_at,sku,amount,status\n"


def imp(db: sqlite_utils.Database, tmp_path: Path, name: str, body: str) -> None:
    p = tmp_path / name
    p.write_text(HEAD + body, encoding="utf-8")
    import_orders(db, p)


def pending(db: sqlite_utils.Database) -> dict[str, str]:
    return dict(
        db.execute(
            "SELECT customer_id, group_concat(status) FROM follow_ups GROUP BY customer_id"
        ).fetchall()
    )


def test_refunded_or_cancelled_order_starts_no_chain(
    db: sqlite_utils.Database, tmp_path: Path
) -> None:
    # Delivered yesterday: the +1 day care is due today for a purchase, not for the others.
    imp(
        db,
        tmp_path,
        "a.csv",
        "o1,paid,2026-03-01 10:00,2026-03-09 10:00,S1,30,paid\n"
        "o2,refunded,2026-03-01 10:00,2026-03-09 10:00,S1,30,refunded\n"
        "o3,cancelled,2026-03-01 10:00,,S1,30,cancelled\n",
    )
    fu.generate(db, D, RULES)
    assert pending(db) == {"paid": "pending"}


def test_cancelled_order_does_not_stop_a_chain(db: sqlite_utils.Database, tmp_path: Path) -> None:
    imp(
        db,
        tmp_path,
        "a.csv",
        "o1,c1,2026-03-01 10:00,2026-03-09 10:00,S1,30,paid\n"
        "o2,c2,2026-03-01 10:00,2026-03-09 10:00,S1,30,paid\n",
    )
    fu.generate(db, D, RULES)
    assert pending(db) == {"c1": "pending", "c2": "pending"}
    # The next day's export: c1 ordered again but cancelled; c2 really bought again.
    imp(
        db,
        tmp_path,
        "b.csv",
        "o1,c1,2026-03-01 10:00,2026-03-09 10:00,S1,30,paid\n"
        "o2,c2,2026-03-01 10:00,2026-03-09 10:00,S1,30,paid\n"
        "o3,c1,2026-03-10 09:00,,S1,30,cancelled\n"
        "o4,c2,2026-03-10 09:00,,S1,30,paid\n",
    )
    fu.generate(db, D, RULES)
    assert pending(db) == {"c1": "pending", "c2": "cancelled"}
