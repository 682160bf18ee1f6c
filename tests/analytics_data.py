"""Hand-built shop data for the analytics tests, written with plain INSERTs.

The figures each test expects are worked out by hand in the test from the rows below.
"""

from __future__ import annotations

import sqlite_utils

# (order_id, customer_id, ordered_at, amount, [categories of its lines])
ORDERS: list[tuple[str, str, str, float, list[str]]] = [
    ("o1", "A", "2024-01-05 10:00:00", 100.0, ["food"]),
    ("o2", "A", "2024-01-20 10:00:00", 50.0, ["food"]),
    ("o3", "A", "2024-03-01 10:00:00", 150.0, ["beauty"]),
    ("o4", "B", "2024-01-10 09:00:00", 200.0, ["beauty", "beauty"]),  # 2 lines, 1 order
    ("o5", "C", "2023-12-15 12:00:00", 80.0, ["food"]),
    ("o6", "C", "2024-02-10 12:00:00", 120.0, ["food"]),
    ("o7", "D", "2024-02-01 08:00:00", 60.0, ["food"]),
]
CUSTOMERS = ["A", "B", "C", "D", "E"]  # E never ordered

# (id, customer_id, stage, due_date, status, status_reason)
FOLLOW_UPS: list[tuple[int, str, str, str, str, str | None]] = [
    (1, "B", "repurchase", "2024-01-25", "done", None),
    (2, "C", "repurchase", "2024-02-01", "done", None),
    (3, "D", "upkeep", "2024-01-25", "skipped", "cap: 2 touches in 7 days"),
    (4, "A", "upkeep", "2024-01-10", "skipped", "agent skipped"),  # but A touched 01-12
    (5, "B", "repurchase", "2024-03-01", "skipped", "agent skipped"),
    (6, "C", "upkeep", "2024-01-05", "cancelled", "bought again"),
]

# (agent, customer_id, follow_up_id, phrase_id, stage, at)
TOUCHES: list[tuple[str, str, int | None, str | None, str | None, str]] = [
    ("li", "A", None, "p1", "upkeep", "2024-01-12 10:00:00"),
    ("li", "C", 2, "p2", "repurchase", "2024-02-01 09:00:00"),
    ("wang", "B", 1, "p2", None, "2024-01-25 09:00:00"),  # stage from its follow-up
    ("wang", "D", None, "p3", "upkeep", "2024-03-20 15:00:00"),
]


def add_customer(db: sqlite_utils.Database, customer_id: str, name: str | None = None) -> None:
    db.execute(
        "INSERT INTO customers(customer_id, name) VALUES (?, ?)", [customer_id, name or customer_id]
    )


def add_order(
    db: sqlite_utils.Database,
    order_id: str,
    customer_id: str,
    ordered_at: str,
    amount: float,
    categories: list[str] | None = None,
) -> None:
    db.execute(
        "INSERT INTO orders(order_id, customer_id, ordered_at, amount) VALUES (?, ?, ?, ?)",
        [order_id, customer_id, ordered_at, amount],
    )
    cats = categories or ["misc"]
    for i, cat in enumerate(cats, start=1):
        db.execute(
            "INSERT INTO order_lines(order_id, line_no, sku, product, category, amount) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [order_id, i, f"sku-{cat}", cat, cat, amount / len(cats)],
        )


def add_follow_up(
    db: sqlite_utils.Database,
    fid: int,
    customer_id: str,
    stage: str,
    due_date: str,
    status: str,
    reason: str | None,
) -> None:
    db.execute(
        "INSERT INTO follow_ups(id, customer_id, stage, rule, due_date, status, status_reason, "
        "created_at, updated_at) VALUES (?, ?, ?, 'test', ?, ?, ?, ?, ?)",
        [fid, customer_id, stage, due_date, status, reason, due_date, due_date],
    )


def add_touch(
    db: sqlite_utils.Database,
    agent: str,
    customer_id: str,
    follow_up_id: int | None,
    phrase_id: str | None,
    stage: str | None,
    at: str,
) -> None:
    db.execute(
        "INSERT INTO touches(agent, customer_id, follow_up_id, phrase_id, stage, text, at) "
        "VALUES (?, ?, ?, ?, ?, 'hello', ?)",
        [agent, customer_id, follow_up_id, phrase_id, stage, at],
    )


def build_shop(db: sqlite_utils.Database) -> None:
    """The small shop every hand-worked analytics test uses."""
    for c in CUSTOMERS:
        add_customer(db, c)
    for order in ORDERS:
        add_order(db, *order)
    for fu in FOLLOW_UPS:
        add_follow_up(db, *fu)
    for t in TOUCHES:
        add_touch(db, *t)
