"""Read queries that turn rows into core dataclasses."""

from __future__ import annotations

from typing import Any

import sqlite_utils

from tui_agent.core.dates import from_db_date, from_db_datetime
from tui_agent.core.models import Customer, Order, OrderLine, Product


def _birthday(text: str | None) -> Any:
    if not text or text.startswith("0000"):
        return None
    try:
        return from_db_date(text)
    except ValueError:
        return None


def customer_from_row(row: dict[str, Any]) -> Customer:
    tags = tuple(t for t in (row.get("tags") or "").split(",") if t)
    return Customer(
        customer_id=row["customer_id"],
        name=row.get("name"),
        phone=row.get("phone"),
        email=row.get("email"),
        wechat=row.get("wechat"),
        birthday=_birthday(row.get("birthday")),
        tier=row.get("tier"),
        points=row.get("points"),
        opt_out=bool(row.get("opt_out")),
        tags=tags,
        language=row.get("language") or "zh",
        order_count=row.get("order_count") or 0,
        total_spent=row.get("total_spent") or 0.0,
        first_order_at=from_db_datetime(row.get("first_order_at")),
        last_order_at=from_db_datetime(row.get("last_order_at")),
        lunar_birthday=row.get("lunar_birthday") or None,
        birthday_md=(row.get("birthday") or "")[5:10] or None
        if str(row.get("birthday") or "").startswith("0000")
        else None,
    )


def get_customer(db: sqlite_utils.Database, customer_id: str) -> Customer | None:
    rows = list(db.query("SELECT * FROM customers WHERE customer_id = ?", [customer_id]))
    return customer_from_row(rows[0]) if rows else None


def _lines_for(db: sqlite_utils.Database, order_ids: list[str]) -> dict[str, list[OrderLine]]:
    result: dict[str, list[OrderLine]] = {oid: [] for oid in order_ids}
    if not order_ids:
        return result
    marks = ",".join("?" * len(order_ids))
    for r in db.query(
        f"SELECT * FROM order_lines WHERE order_id IN ({marks}) ORDER BY order_id, line_no",
        order_ids,
    ):
        result[r["order_id"]].append(
            OrderLine(
                order_id=r["order_id"],
                line_no=r["line_no"],
                sku=r["sku"],
                product=r["product"],
                category=r["category"],
                quantity=r["quantity"],
                amount=r["amount"],
            )
        )
    return result


def orders_for_customer(
    db: sqlite_utils.Database, customer_id: str, limit: int = 20
) -> list[Order]:
    """The customer's orders, latest first, with their lines."""
    rows = list(
        db.query(
            "SELECT * FROM orders WHERE customer_id = ? ORDER BY ordered_at DESC LIMIT ?",
            [customer_id, limit],
        )
    )
    lines = _lines_for(db, [r["order_id"] for r in rows])
    orders = []
    for r in rows:
        ordered_at = from_db_datetime(r["ordered_at"])
        assert ordered_at is not None
        orders.append(
            Order(
                order_id=r["order_id"],
                customer_id=r["customer_id"],
                ordered_at=ordered_at,
                delivered_at=from_db_datetime(r["delivered_at"]),
                amount=r["amount"],
                seq=r["seq"],
                lines=tuple(lines[r["order_id"]]),
            )
        )
    return orders


def latest_order(db: sqlite_utils.Database, customer_id: str) -> Order | None:
    orders = orders_for_customer(db, customer_id, limit=1)
    return orders[0] if orders else None


def get_product(db: sqlite_utils.Database, sku: str) -> Product | None:
    rows = list(db.query("SELECT * FROM products WHERE sku = ?", [sku]))
    if not rows:
        return None
    r = rows[0]
    return Product(
        sku=r["sku"],
        name=r["name"],
        category=r["category"],
        cycle_days=r["cycle_days"],
        related_sku=r["related_sku"],
    )
