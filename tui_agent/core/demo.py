"""A deterministic, realistic demo shop: customers, products and order lines as CSV-ready rows.

Pure: the same seed and day always give the same rows. ``store.demo`` imports them through the
normal CSV import, so the demo exercises the same path as a real shop's data.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾萧田董潘袁蔡蒋余于杜叶程魏苏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = [
    "晓雯",
    "子涵",
    "雨桐",
    "思远",
    "欣怡",
    "浩然",
    "梓萱",
    "一诺",
    "佳琪",
    "俊杰",
    "诗涵",
    "宇航",
    "婉清",
    "明轩",
    "若曦",
    "嘉怡",
    "天佑",
    "静怡",
    "子墨",
    "安然",
    "沐晨",
    "语嫣",
    "博文",
    "芷若",
    "书瑶",
    "皓轩",
    "晨曦",
    "可馨",
    "梦琪",
    "瑾萱",
    "家豪",
    "丽娟",
    "秀英",
    "建国",
    "美玲",
    "志强",
]
ENGLISH = [
    "Emma Clarke",
    "Liam Foster",
    "Olivia Bennett",
    "Noah Hughes",
    "Ava Morgan",
    "Lucas Reid",
    "Mia Turner",
    "Ethan Brooks",
    "Chloe Hayes",
    "James Porter",
    "Grace Sutton",
    "Henry Walsh",
]

# (category, sku prefix, [(name, price, own cycle days or 0)])
CATALOG: list[tuple[str, str, list[tuple[str, float, int]]]] = [
    (
        "food",
        "FD",
        [
            ("云南小粒咖啡豆 500g", 89.0, 25),
            ("高山乌龙茶 250g", 128.0, 0),
            ("每日坚果 30袋", 99.0, 30),
            ("手工黑芝麻丸", 59.0, 0),
            ("冷榨亚麻籽油 1L", 76.0, 40),
            ("燕麦脆 400g", 45.0, 0),
        ],
    ),
    (
        "beauty",
        "BT",
        [
            ("玻尿酸保湿精华 30ml", 239.0, 45),
            ("氨基酸洁面乳", 89.0, 50),
            ("轻薄防晒乳 SPF50", 129.0, 0),
            ("修护面霜 50g", 199.0, 0),
            ("补水面膜 10片", 99.0, 30),
        ],
    ),
    (
        "clothing",
        "CL",
        [
            ("纯棉圆领T恤", 79.0, 0),
            ("羊毛混纺围巾", 159.0, 0),
            ("高腰直筒牛仔裤", 199.0, 0),
            ("速干运动袜 5双", 49.0, 60),
            ("轻量羽绒背心", 299.0, 0),
        ],
    ),
    (
        "mother_baby",
        "MB",
        [
            ("婴儿纸尿裤 L码 52片", 139.0, 20),
            ("有机米粉 2段", 88.0, 25),
            ("婴儿湿巾 80抽x6", 59.0, 0),
            ("宝宝润肤乳", 69.0, 0),
            ("防胀气奶瓶 240ml", 119.0, 0),
        ],
    ),
    (
        "electronics",
        "EL",
        [
            ("降噪蓝牙耳机", 699.0, 0),
            ("65W 氮化镓充电器", 149.0, 0),
            ("机械键盘 87键", 459.0, 0),
            ("智能手环", 299.0, 365),
            ("Type-C 数据线 2条装", 39.0, 180),
        ],
    ),
]

TIERS = [(0, "普通会员"), (500, "银卡会员"), (1500, "金卡会员"), (4000, "钻石会员")]
TAGS = ["学生", "宝妈", "上班族", "价格敏感", "老客", "爱评价", "送礼"]


@dataclass(slots=True)
class DemoShop:
    """The rows of a demo shop, in the canonical CSV columns of each import."""

    customers: list[dict[str, str]] = field(default_factory=list)
    products: list[dict[str, str]] = field(default_factory=list)
    order_lines: list[dict[str, str]] = field(default_factory=list)
    planted: set[str] = field(default_factory=set)  # placed on purpose to be due today


def products() -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    for category, prefix, items in CATALOG:
        skus = [f"{prefix}{i + 1:03d}" for i in range(len(items))]
        for i, (name, _price, cycle) in enumerate(items):
            rows.append(
                {
                    "sku": skus[i],
                    "name": name,
                    "category": category,
                    "cycle_days": str(cycle) if cycle else "",
                    "related_sku": skus[(i + 1) % len(skus)],
                }
            )
    return rows


def _catalog_lookup() -> dict[str, tuple[str, str, float]]:
    out: dict[str, tuple[str, str, float]] = {}
    for category, prefix, items in CATALOG:
        for i, (name, price, _cycle) in enumerate(items):
            out[f"{prefix}{i + 1:03d}"] = (name, category, price)
    return out


def _fmt(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%d %H:%M:%S")


class _Builder:
    def __init__(self, today: date, seed: int) -> None:
        self.today = today
        self.rng = random.Random(seed)
        self.catalog = _catalog_lookup()
        self.skus = sorted(self.catalog)
        self.order_no = 0
        self.shop = DemoShop(products=products())

    def customer(
        self,
        cid: str,
        *,
        english: bool = False,
        birthday: date | None = None,
        opt_out: bool = False,
        spent_hint: float = 0.0,
    ) -> None:
        rng = self.rng
        name = rng.choice(ENGLISH) if english else rng.choice(SURNAMES) + rng.choice(GIVEN)
        tier = next(t for floor, t in reversed(TIERS) if spent_hint >= floor)
        tags = rng.sample(TAGS, rng.choice([0, 1, 1, 2]))
        if english:
            tags.append("en")
        self.shop.customers.append(
            {
                "customer_id": cid,
                "name": name,
                "phone": f"1{rng.choice('3456789')}{rng.randrange(10**9):09d}",
                "email": f"{cid.lower()}@example.com" if english or rng.random() < 0.3 else "",
                "wechat": f"wx_{cid.lower()}" if not english and rng.random() < 0.6 else "",
                "birthday": birthday.isoformat() if birthday else "",
                "tier": tier,
                "points": str(int(spent_hint)),
                "opt_out": "1" if opt_out else "0",
                "tags": ",".join(tags),
                "language": "en" if english else "zh",
            }
        )

    def order(
        self,
        cid: str,
        ordered: datetime,
        *,
        delivered_days: int | None = 3,
        skus: list[str] | None = None,
    ) -> float:
        self.order_no += 1
        oid = f"D{self.order_no:07d}"
        delivered = (
            ""
            if delivered_days is None
            else _fmt(ordered + timedelta(days=delivered_days, hours=2))
        )
        total = 0.0
        for sku in skus or self.rng.sample(self.skus, self.rng.choice([1, 1, 1, 2, 2, 3])):
            name, category, price = self.catalog[sku]
            qty = self.rng.choice([1, 1, 1, 2, 3])
            total += price * qty
            self.shop.order_lines.append(
                {
                    "order_id": oid,
                    "customer_id": cid,
                    "ordered_at": _fmt(ordered),
                    "delivered_at": delivered,
                    "sku": sku,
                    "product": name,
                    "category": category,
                    "quantity": str(qty),
                    "amount": f"{price * qty:.2f}",
                }
            )
        return total

    def at(self, days_ago: int) -> datetime:
        base = datetime.combine(self.today, datetime.min.time())
        return (
            base
            - timedelta(days=days_ago)
            + timedelta(hours=self.rng.randrange(8, 21), minutes=self.rng.randrange(60))
        )


def _birthday(rng: random.Random) -> date | None:
    if rng.random() < 0.3:
        return None
    if rng.random() < 0.01:
        return date(1992, 2, 29)
    return date(rng.randrange(1970, 2004), 1, 1) + timedelta(days=rng.randrange(365))


def build_shop(today: date, customers: int = 300, seed: int = 7) -> DemoShop:
    """A shop whose schedule has follow-ups of every stage due on ``today``.

    Most customers get a random history over the last 13 months; a few are placed on purpose
    so that each rule falls due today (care, experience, review, related, coupon, replenishment,
    birthday and VIP). Win-back needs the shop's own average gap, known only after import:
    see :func:`winback_customers`.
    """
    b = _Builder(today, seed)
    rng = b.rng
    n = 0

    def next_id() -> str:
        nonlocal n
        n += 1
        return f"C{n:05d}"

    # Placed on purpose: one customer per after-delivery offset, delivered exactly that many
    # days ago; two of each so the list has some depth.
    for days in (1, 3, 7, 15, 30, 1, 3, 7):
        cid = next_id()
        b.customer(cid, english=(days == 3 and n < 4), birthday=_birthday(rng), spent_hint=300)
        b.order(cid, b.at(days + 3), delivered_days=3)
    # Replenishment: coffee beans (25-day cycle, reminder 5 days early) delivered 20 days ago;
    # nappies (20 days) delivered 15 days ago would also be +15 "related": use 16.
    cid = next_id()
    b.customer(cid, birthday=_birthday(rng), spent_hint=600)
    b.order(cid, b.at(24), delivered_days=4, skus=["FD001"])
    cid = next_id()
    b.customer(cid, birthday=_birthday(rng), spent_hint=400)
    b.order(cid, b.at(18), delivered_days=2, skus=["MB001"])
    # Birthdays today.
    for english in (False, True):
        cid = next_id()
        b.customer(
            cid,
            english=english,
            birthday=date(1991, today.month, min(today.day, 28)),
            spent_hint=800,
        )
        b.order(cid, b.at(60), delivered_days=3)
    # VIP: third order delivered two days ago.
    cid = next_id()
    b.customer(cid, birthday=_birthday(rng), spent_hint=4200)
    b.order(cid, b.at(120))
    b.order(cid, b.at(60))
    b.order(cid, b.at(5), delivered_days=3)
    # An opted-out customer who would otherwise be due today.
    cid = next_id()
    b.customer(cid, opt_out=True, spent_hint=100)
    b.order(cid, b.at(4), delivered_days=3)

    b.shop.planted = {c["customer_id"] for c in b.shop.customers}
    while n < customers:
        cid = next_id()
        english = rng.random() < 0.08
        orders = rng.choices([1, 2, 3, 4, 6], weights=[55, 22, 12, 7, 4])[0]
        first = rng.randrange(20, 400)
        history = sorted(
            {rng.randrange(0, first + 1) for _ in range(orders - 1)} | {first}, reverse=True
        )
        spent = 0.0
        for d in history:
            spent += b.order(cid, b.at(d), delivered_days=None if d < 3 else rng.choice([2, 3, 4]))
        b.customer(
            cid,
            english=english,
            birthday=_birthday(rng),
            opt_out=rng.random() < 0.03,
            spent_hint=spent,
        )
    return b.shop


def winback_customers(
    today: date, gap_days: int, count: int = 2, seed: int = 7, first_id: int = 90001
) -> DemoShop:
    """Customers whose only order was ``gap_days`` ago: due for win-back today."""
    b = _Builder(today, seed + 1)
    b.order_no = 9_000_000
    for i in range(count):
        cid = f"C{first_id + i:05d}"
        b.customer(cid, birthday=_birthday(b.rng), spent_hint=250)
        ordered = datetime.combine(
            today - timedelta(days=gap_days), datetime.min.time()
        ) + timedelta(hours=10 + i)
        b.order(cid, ordered, delivered_days=3)
    b.shop.products = []
    return b.shop


def repeat_orders(
    shop: DemoShop, touched: list[tuple[str, date]], today: date, seed: int = 7
) -> DemoShop:
    """Some touched customers order again a few days later (the same product as before), so
    the demo's attribution has something to find. Planted customers never do."""
    b = _Builder(today, seed + 2)
    b.order_no = 8_000_000
    last_sku: dict[str, str] = {}
    for line in shop.order_lines:
        if line["sku"]:
            last_sku[line["customer_id"]] = line["sku"]
    done: set[str] = set()
    for cid, day in touched:
        if cid in shop.planted or cid in done or cid not in last_sku or b.rng.random() > 0.3:
            continue
        when = day + timedelta(days=b.rng.randrange(2, 12))
        if when >= today:
            continue
        done.add(cid)
        ordered = datetime.combine(when, datetime.min.time()) + timedelta(
            hours=b.rng.randrange(9, 21)
        )
        b.order(
            cid,
            ordered,
            delivered_days=None if (today - when).days < 4 else 3,
            skus=[last_sku[cid]],
        )
    b.shop.products = []
    return b.shop
