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
from tui_agent.core.demo import DemoShop, build_shop, repeat_orders, winback_customers
from tui_agent.core.lifecycle import winback_days
from tui_agent.core.models import FollowUp
from tui_agent.core.phrases import Library, load_library
from tui_agent.core.render import TemplateError, build_context, render
from tui_agent.core.rules import RuleSet
from tui_agent.paths import shipped_phrases_dir
from tui_agent.store import followups as fu
from tui_agent.store import queries
from tui_agent.store.db import connect
from tui_agent.store.importer import import_customers, import_orders, import_products

DEMO_AGENTS = ("amy", "ben", "chen")
DEMO_SHOP = "小满生活馆"
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


def _work_past(
    db: sqlite_utils.Database, today: date, rules: RuleSet, seed: int
) -> list[tuple[str, date]]:
    """Work the days before this week; returns who was touched on which day."""
    rng = random.Random(seed)
    touched: list[tuple[str, date]] = []
    library = load_library([shipped_phrases_dir()]).library
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
            phrase_id, text = _demo_text(db, library, item, day, agent)
            fu.log_touch(
                db,
                agent=agent,
                customer_id=item.customer_id,
                text=text,
                follow_up_id=item.id,
                phrase_id=phrase_id,
                stage=item.stage.value,
                now=at,
            )
            touched.append((item.customer_id, day))
    return touched


def _demo_text(
    db: sqlite_utils.Database, library: Library, item: FollowUp, day: date, agent: str
) -> tuple[str | None, str]:
    """What a demo agent sent: the suggested phrase, filled as the console would fill it."""
    customer = queries.get_customer(db, item.customer_id)
    assert customer is not None
    focus = item.focus
    category = focus.category if focus else None
    # The console's own choice (the product's category counts), so the demo's history reads
    # as what an agent would have sent.
    phrase = library.suggest(item.stage, item.suggested_tags, customer.language, category)
    if phrase is not None:
        ctx = build_context(
            customer,
            queries.latest_order(db, item.customer_id),
            today=day,
            shop_name=DEMO_SHOP,
            agent_name=agent,
            coupon="满199减20",
            product=focus.product if focus else None,
            category=focus.category if focus else None,
        )
        try:
            filled = render(phrase.variant(customer.language).body, ctx)
        except TemplateError:
            filled = None
        if filled is not None and not filled.missing:
            return phrase.id, filled.text
    return None, f"{customer.name or '亲'}您好，这里是{DEMO_SHOP}，{item.stage.label_zh}回访。"


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
        step("working the past two weeks")
        touched = _work_past(db, today, rules, seed)
        _import(db, repeat_orders(shop, touched, today, seed), Path(tmp), "-repeat")
        # Win-back waits for the shop's own average gap, known only now.
        rule = next(iter(rules.of_kind("winback")), None)
        if rule is not None:
            gap = winback_days(rule, fu.avg_gap_days(db))
            _import(db, winback_customers(today, gap, seed=seed), Path(tmp), "-winback")
    step("generating today's follow-ups")
    fu.generate(db, today, rules)
    due = len(fu.due_queue(db, today))
    lines = db.execute("SELECT count(*) FROM order_lines").fetchone()[0]
    n = db.execute("SELECT count(*) FROM customers").fetchone()[0]
    db.close()
    return DemoResult(customers=n, order_lines=lines, due_today=due)
