"""A small, fixed shop for console tests: plain INSERTs, then today's follow-ups generated.

Replaced by ``tui_agent.store.demo.build_demo`` where the tests need a realistic shop.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from tui_agent.core.rules import load_rules
from tui_agent.paths import rules_path
from tui_agent.store import purchase_days
from tui_agent.store.db import connect, write_tx
from tui_agent.store.followups import generate

TODAY = date(2026, 11, 20)

# (id, name, phone, tier, points, days since delivery of the latest order, extra older orders)
CUSTOMERS = [
    ("C001", "王小明", "13812345678", "金卡", 1200, 1, 0),
    ("C002", "李娜", "13998765432", None, None, 3, 0),
    ("C003", "张伟", "13700001111", "银卡", 300, 7, 0),
    ("C004", "陈静", "13655556666", None, None, 15, 0),
    ("C005", "刘洋", "13522223333", "金卡", 800, 30, 0),
    ("C006", "赵敏", "13344445555", "钻石", 5000, 2, 2),
    ("C007", "Emma Li", "+8613011112222", None, None, 1, 0),
]
PRODUCTS = [
    ("SKU1", "玻尿酸保湿面霜", "美妆", 45, "SKU2"),
    ("SKU2", "补水精华液", "美妆", 45, None),
    ("SKU3", "挂耳咖啡 20 包", "食品", 20, None),
]


def build_shop(path: Path, today: date = TODAY, *, generated: bool = True) -> Path:
    """Create the shop at ``path`` and (unless told not to) generate today's follow-ups."""
    db = connect(path)
    with write_tx(db):
        for sku, name, cat, cycle, related in PRODUCTS:
            db.execute(
                "INSERT INTO products (sku, name, category, cycle_days, related_sku) VALUES (?,?,?,?,?)",
                [sku, name, cat, cycle, related],
            )
        for n, (cid, name, phone, tier, points, days, older) in enumerate(CUSTOMERS):
            orders = []
            for k in range(older, -1, -1):
                delivered = today - timedelta(days=days + 40 * k)
                orders.append((f"O{cid}-{k}", delivered - timedelta(days=3), delivered))
            spent = 199.0 * len(orders) + n
            db.execute(
                "INSERT INTO customers (customer_id, name, phone, tier, points, order_count, "
                "total_spent, first_order_at, last_order_at) VALUES (?,?,?,?,?,?,?,?,?)",
                [
                    cid,
                    name,
                    phone,
                    tier,
                    points,
                    len(orders),
                    spent,
                    f"{orders[0][1]} 10:00:00",
                    f"{orders[-1][1]} 10:00:00",
                ],
            )
            for seq, (oid, ordered, delivered) in enumerate(orders, start=1):
                sku, pname, cat, _c, _r = PRODUCTS[(n + seq) % len(PRODUCTS)]
                db.execute(
                    "INSERT INTO orders (order_id, customer_id, ordered_at, delivered_at, amount, seq) "
                    "VALUES (?,?,?,?,?,?)",
                    [oid, cid, f"{ordered} 10:00:00", f"{delivered} 15:00:00", 199.0, seq],
                )
                db.execute(
                    "INSERT INTO order_lines (order_id, line_no, sku, product, category, quantity, amount) "
                    "VALUES (?,?,?,?,?,?,?)",
                    [oid, 1, sku, pname, cat, 1, 199.0],
                )
        purchase_days.rebuild(db)  # derived, like the customers' figures above
    if generated:
        generate(db, today, load_rules(rules_path()))
    db.conn.close()
    return path
