"""Small builders for store tests: rows written with plain SQL, derived columns set by hand."""

from __future__ import annotations

import sqlite_utils

from tui_agent.store.purchase_days import refresh_customers


def add_customer(db: sqlite_utils.Database, cid: str, **fields: object) -> None:
    row = {"customer_id": cid, "name": fields.pop("name", f"客户{cid}"), **fields}
    if row.get("birthday"):
        row.setdefault("birth_md", str(row["birthday"])[5:10])
    cols = ",".join(row)
    db.execute(
        f"INSERT INTO customers ({cols}) VALUES ({','.join('?' * len(row))})", list(row.values())
    )


def add_order(
    db: sqlite_utils.Database,
    oid: str,
    cid: str,
    ordered: str,
    delivered: str | None,
    amount: float = 100.0,
    *,
    seq: int = 1,
    lines: list[tuple[str, str, str | None]] | None = None,
) -> None:
    """An order with its lines (sku, product, category); customer aggregates updated by hand,
    the customer's purchase days (``store.purchase_days``) recomputed."""
    db.execute(
        "INSERT INTO orders (order_id, customer_id, ordered_at, delivered_at, amount, seq) VALUES (?,?,?,?,?,?)",
        [oid, cid, ordered, delivered, amount, seq],
    )
    for i, (sku, product, category) in enumerate(lines or [("sku1", "好物", None)], start=1):
        db.execute(
            "INSERT INTO order_lines (order_id, line_no, sku, product, category, quantity, amount) VALUES (?,?,?,?,?,1,?)",
            [oid, i, sku, product, category, amount / max(1, len(lines or [1]))],
        )
    db.execute(
        "UPDATE customers SET order_count = order_count + 1, total_spent = total_spent + ?, "
        "last_order_at = max(coalesce(last_order_at, ''), ?), first_order_at = coalesce(first_order_at, ?) "
        "WHERE customer_id = ?",
        [amount, ordered, ordered, cid],
    )
    refresh_customers(db, [cid])
