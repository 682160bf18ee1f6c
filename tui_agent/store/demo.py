"""Writing the demo shop into a database through the normal CSV import, then a worked past.

The demo shop (``core.demo``) is written to CSV files in a temporary directory and imported
with the same code a real shop's export goes through. Then the two weeks before the week of
``today`` are "worked" by three demo agents (touches, a few skips), so the customer card, the
usage ranking and the stats have history; nothing is touched within the last seven days, so
the frequency cap leaves today's planted follow-ups alone.
"""

from __future__ import annotations

import csv
import random
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import sqlite_utils

from tui_agent.core.csvrows import Kind, field_names
from tui_agent.core.demo import DemoShop, build_shop, winback_customers
from tui_agent.core.lifecycle import winback_days
from tui_agent.core.rules import RuleSet
from tui_agent.store import followups as fu
from tui_agent.store.db import connect
from tui_agent.store.importer import import_customers, import_orders, import_products

DEMO_AGENTS = ("amy", "ben", "chen")
CUSTOMER_COLUMNS = list(field_names(Kind.CUSTOMERS))
ORDER_COLUMNS = list(field_names(Kind.ORDERS))
PRODUCT_COLUMNS = list(field_names(Kind.PRODUCTS))


class DemoError(Exception):
    """The demo cannot be written where asked."""


@dataclass(frozen=True, slots=True)
class DemoResult:
    customers: int
    order_lines: int
    due_today: int


def _write(path: Path, columns: list[str], rows: list[dict[str, str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=columns)
        w.writeheader()
        w.writerows(rows)
    return path


def _import(db: sqlite_utils.Database, shop: DemoShop, tmp: Path, tag: str) -> None:
    if shop.products:
        import_products(db, _write(tmp / f"products{tag}.csv", PRODUCT_COLUMNS, shop.products))
    import_customers(db, _write(tmp / f"customers{tag}.csv", CUSTOMER_COLUMNS, shop.customers))
    import_orders(db, _write(tmp / f"orders{tag}.csv", ORDER_COLUMNS, shop.order_lines))


def _work_past(db: sqlite_utils.Database, today: date, rules: RuleSet, seed: int) -> None:
    rng = random.Random(seed)
    for back in range(21, 7, -1):
        day = today - timedelta(days=back)
        fu.generate(db, day, rules, now=datetime.combine(day, datetime.min.time()))
        for item in fu.due_queue(db, day):
            agent = rng.choice(DEMO_AGENTS)
            at = datetime.combine(day, datetime.min.time()) + timedelta(
                hours=rng.randrange(9, 18), minutes=rng.randrange(60)
            )
            if rng.random() < 0.1:
                fu.skip(db, item.id, agent, "客户在忙，改天再联系", now=at)
                continue
            name = item.customer_name or "亲"
            text = f"{name}您好，这里是小满生活馆客服，{item.stage.label_zh}回访：{item.reasons[0].text}"
            fu.log_touch(
                db,
                agent=agent,
                customer_id=item.customer_id,
                text=text,
                follow_up_id=item.id,
                stage=item.stage.value,
                now=at,
            )


def build_demo(
    db_path: Path,
    *,
    today: date,
    rules: RuleSet,
    customers: int = 300,
    seed: int = 7,
    force: bool = False,
    on_step: Callable[[str], None] | None = None,
) -> DemoResult:
    """Write a deterministic demo shop to ``db_path`` with follow-ups of every stage due today."""
    step = on_step or (lambda _msg: None)
    if db_path.exists():
        if not force:
            raise DemoError(f"{db_path} already exists (use --force to replace it)")
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    step(f"building a shop of {customers} customers")
    shop = build_shop(today, customers=customers, seed=seed)
    db = connect(db_path)
    with tempfile.TemporaryDirectory(prefix="tui-agent-demo-") as tmp:
        step("importing customers, products and orders")
        _import(db, shop, Path(tmp), "")
        gap_text = db.execute("SELECT value FROM meta WHERE key = 'avg_gap_days'").fetchone()
        rule = rules.by_id("winback") or next(iter(rules.of_kind("winback")), None)
        if rule is not None:
            gap = winback_days(rule, float(gap_text[0]) if gap_text else None)
            lapsed = winback_customers(today, gap, seed=seed)
            _import(db, lapsed, Path(tmp), "-winback")
    step("working the past two weeks")
    _work_past(db, today, rules, seed)
    step("generating today's follow-ups")
    fu.generate(db, today, rules)
    due = len(fu.due_queue(db, today))
    lines = db.execute("SELECT count(*) FROM order_lines").fetchone()[0]
    n = db.execute("SELECT count(*) FROM customers").fetchone()[0]
    db.close()
    return DemoResult(customers=n, order_lines=lines, due_today=due)
