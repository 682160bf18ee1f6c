"""The indexed windows of generation find exactly what the slow reference finds.

A seeded random shop (imported through the real importer) with every rule kind switched on,
over three months that hold the Spring Festival, a leap-month-free lunar year, month ends and
a do-not-disturb week: for each day, ``followups.occurrences_for_day`` (facts queries through
indexes, then the kinds' pure functions) and ``reference.reference_keys`` (everything loaded,
the same pure functions) give the same occurrence keys.
"""

from __future__ import annotations

import csv
import random
import tomllib
from datetime import date, datetime, timedelta
from pathlib import Path

import sqlite_utils

from tui_agent.core.rules import RuleSet, parse_rules
from tui_agent.paths import rules_path
from tui_agent.store import followups as fu
from tui_agent.store.importer import import_customers, import_orders, import_products
from tui_agent.store.reference import reference_keys

EXTRA = [
    {
        "id": "holiday",
        "kind": "holiday",
        "calendar": "CN",
        "shop_dates": {"38节": "03-08", "情人节": "02-14"},
        "lunar_dates": {"元宵": "01-15"},
        "lead_days": 1,
        "stage": "upkeep",
    },
    {
        "id": "member_day",
        "kind": "member_day",
        "day_of_month": 31,
        "stage": "loyalty",
        "eligible_tiers": ["金卡会员", "银卡会员"],
    },
    {"id": "upkeep", "kind": "periodic", "every_days": 5, "start_days": 3, "stage": "upkeep"},
]


def calendar_rules() -> RuleSet:
    data = tomllib.loads(rules_path().read_text())
    data["work"]["quiet_days"] = ["2026-02-15..2026-02-21"]
    data["rule"] += EXTRA
    return parse_rules(data)


def write(path: Path, rows: list[list[object]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)
    return path


def random_shop(db: sqlite_utils.Database, tmp: Path, seed: int) -> None:
    rnd = random.Random(seed)
    products = [
        ["sku", "name", "category", "cycle_days"],
        ["TEA", "乌龙茶", "food", 20],
        ["MASK", "面膜", "beauty", ""],
        ["DIAPER", "纸尿裤", "mother_baby", 12],
        ["CABLE", "数据线", "", ""],
    ]
    customers: list[list[object]] = [
        ["customer_id", "name", "birthday", "lunar_birthday", "tier", "tags"]
    ]
    for i in range(80):
        bday = rnd.choice(
            [
                "",
                "",
                f"19{rnd.randint(60, 99)}-{rnd.randint(1, 12):02d}-{rnd.randint(1, 28):02d}",
                f"{rnd.randint(1, 4):02d}-{rnd.randint(1, 28):02d}",
                "02-29",
                "1992-02-29",
            ]
        )
        lunar = rnd.choice(
            ["", "", "", f"{rnd.randint(1, 3):02d}-{rnd.randint(1, 30):02d}", "闰02-10", "12-30"]
        )
        tier = rnd.choice(["", "金卡会员", "银卡会员", "普通"])
        customers.append([f"C{i}", f"客户{i}", bday, lunar, tier, rnd.choice(["", "vip"])])
    orders: list[list[object]] = [
        ["order_id", "customer_id", "ordered_at", "delivered_at", "sku", "category", "amount"]
    ]
    start = datetime(2025, 9, 1, 8)
    n = 0
    for i in range(80):
        for _ in range(rnd.choice([0, 1, 1, 2, 3, 4, 5])):
            n += 1
            at = start + timedelta(minutes=rnd.randint(0, 180 * 24 * 60))
            delivered = (
                ""
                if rnd.random() < 0.25
                else (at + timedelta(hours=rnd.randint(10, 120))).strftime("%Y-%m-%d %H:%M")
            )
            for sku in rnd.sample(["TEA", "MASK", "DIAPER", "CABLE", ""], rnd.randint(1, 2)):
                category = rnd.choice(["", "food", "Beauty"]) if not sku else ""
                orders.append(
                    [f"O{n}", f"C{i}", at.strftime("%Y-%m-%d %H:%M"), delivered, sku, category, 10]
                )
    import_products(db, write(tmp / "products.csv", products))
    import_customers(db, write(tmp / "customers.csv", customers))
    import_orders(db, write(tmp / "orders.csv", orders))


def test_indexed_windows_find_exactly_what_the_reference_finds(
    db: sqlite_utils.Database, tmp_path: Path
) -> None:
    random_shop(db, tmp_path, seed=7)
    rules = calendar_rules()
    day = date(2026, 3, 1)  # orders run to late February; look at the weeks after too
    checked = found = 0
    kinds: set[str] = set()
    while day <= date(2026, 4, 30):
        got = {o.key for o in fu.occurrences_for_day(db, day, rules)}
        want = reference_keys(db, rules, day)
        assert got == want, (day, sorted(got ^ want)[:5])
        kinds |= {k.split(":")[0] for k in got}
        checked += 1
        found += len(got)
        day += timedelta(days=1)
    # the shop exercised the kinds (the comparison is not vacuous)
    assert {"care", "replenish", "birthday", "holiday", "member_day", "upkeep"} <= kinds
    assert checked == 61 and found > 200


def test_reference_matches_through_the_spring_festival_and_quiet_week(
    db: sqlite_utils.Database, tmp_path: Path
) -> None:
    random_shop(db, tmp_path, seed=11)
    rules = calendar_rules()
    day = date(2026, 1, 25)
    while day <= date(2026, 2, 28):
        got = {o.key for o in fu.occurrences_for_day(db, day, rules)}
        # only orders placed by then may count (the reference loads them all): compare the
        # kinds that do not depend on later orders
        want = reference_keys(db, rules, day)
        keep = ("holiday", "member_day", "birthday", "winback")
        assert {k for k in got if k.startswith(keep)} == {k for k in want if k.startswith(keep)}
        if day in rules.quiet_days:
            assert got == set()  # nothing proactive on a do-not-disturb day
        day += timedelta(days=1)
