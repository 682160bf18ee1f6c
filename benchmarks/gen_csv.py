"""Write seeded, reproducible shop CSV files in the importer's canonical columns.

    python benchmarks/gen_csv.py --lines 1000000 --out /tmp/bench          # orders.csv etc.
    python benchmarks/gen_csv.py --lines 5000 --customers 800 --seed 7 --out DIR

Writes ``customers.csv``, ``products.csv`` and ``orders.csv`` (one row per order line) into
``--out``, streaming (memory does not grow with ``--lines``). The same arguments always give
byte-identical files.
"""

from __future__ import annotations

import argparse
import csv
import random
from datetime import datetime, timedelta
from pathlib import Path

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
GIVEN = "伟芳娜敏静丽强磊洋艳勇军杰娟涛明超秀霞平刚桂英华玲"
ENGLISH = ["Emma Clark", "Liam Wong", "Olivia Tan", "Noah Lee", "Ava Smith", "Lucas Ng"]
CATALOGUE = {
    "food": (["挂耳咖啡", "坚果礼盒", "有机燕麦", "红枣枸杞茶", "牛肉干"], (19, 128), 21),
    "beauty": (["玻尿酸面膜", "氨基酸洁面", "防晒霜", "精华水", "护手霜"], (39, 399), 45),
    "clothing": (["纯棉T恤", "羊毛围巾", "运动袜", "牛仔裤", "羽绒服"], (29, 899), 60),
    "mother_baby": (["婴儿纸尿裤", "奶瓶", "婴儿湿巾", "辅食米粉", "儿童牙膏"], (25, 299), 30),
    "electronics": (["蓝牙耳机", "充电宝", "数据线", "智能手环", "键盘"], (15, 999), 270),
}
TIERS = ["", "", "silver", "gold", "vip"]


def _products() -> list[tuple[str, str, str, float, float, int]]:
    """(sku, name, category, low price, high price, cycle days)."""
    out: list[tuple[str, str, str, float, float, int]] = []
    for ci, (cat, (names, (lo, hi), cycle)) in enumerate(CATALOGUE.items()):
        for ni, name in enumerate(names):
            for size in range(4):
                sku = f"SKU{ci}{ni}{size:02d}"
                label = f"{name} {['小', '中', '大', '家庭'][size]}装"
                out.append((sku, label, cat, lo * (1 + size / 2), hi, cycle))
    return out


def generate(out: Path, lines: int, customers: int, seed: int) -> None:
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    products = _products()
    with open(out / "products.csv", "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["sku", "name", "category", "cycle_days", "related_sku"])
        for i, (sku, name, cat, _lo, _hi, cycle) in enumerate(products):
            related = products[(i + 4) % len(products)][0]
            w.writerow([sku, name, cat, cycle if i % 3 else "", related])
    with open(out / "customers.csv", "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(
            [
                "customer_id",
                "name",
                "phone",
                "email",
                "wechat",
                "birthday",
                "tier",
                "points",
                "opt_out",
                "tags",
            ]
        )
        for c in range(customers):
            if rng.random() < 0.08:
                name = rng.choice(ENGLISH)
            else:
                name = rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.randint(1, 2)))
            birthday = ""
            if rng.random() < 0.6:
                birthday = (
                    f"{rng.randint(1960, 2005)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
                )
            w.writerow(
                [
                    f"C{c:07d}",
                    name,
                    f"1{rng.randint(3, 9)}{rng.randint(0, 10**9 - 1):09d}",
                    "",
                    f"wx_{c}" if rng.random() < 0.5 else "",
                    birthday,
                    rng.choice(TIERS),
                    rng.randint(0, 5000),
                    1 if rng.random() < 0.03 else 0,
                    "回头客" if rng.random() < 0.2 else "",
                ]
            )
    start = datetime(2024, 1, 1)
    span_minutes = 2 * 365 * 24 * 60
    with open(out / "orders.csv", "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(
            [
                "order_id",
                "customer_id",
                "ordered_at",
                "delivered_at",
                "sku",
                "product",
                "category",
                "quantity",
                "amount",
            ]
        )
        written = 0
        order = 0
        while written < lines:
            order += 1
            cust = f"C{int(customers * rng.random() ** 1.6):07d}"  # some customers buy a lot
            at = start + timedelta(minutes=rng.randrange(span_minutes))
            delivered = ""
            if rng.random() < 0.92:
                delivered = (at + timedelta(days=rng.randint(1, 6))).strftime("%Y-%m-%d %H:%M")
            n = min(lines - written, rng.choice((1, 1, 1, 2, 2, 3, 4)))
            for sku, name, cat, lo, hi, _cycle in rng.sample(products, n):
                qty = rng.randint(1, 3)
                w.writerow(
                    [
                        f"O{order:08d}",
                        cust,
                        at.strftime("%Y-%m-%d %H:%M:%S"),
                        delivered,
                        sku,
                        name,
                        cat,
                        qty,
                        f"{qty * rng.uniform(lo, hi):.2f}",
                    ]
                )
            written += n


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--lines", type=int, default=100_000, help="order lines (default 100000)")
    p.add_argument("--customers", type=int, default=None, help="default: lines / 5")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--out", type=Path, required=True, help="output directory")
    a = p.parse_args()
    generate(a.out, a.lines, a.customers or max(1, a.lines // 5), a.seed)


if __name__ == "__main__":
    main()
