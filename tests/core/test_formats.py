"""The platform presets' pure parts: Excel escapes, times and offsets, recognition, statuses."""

from __future__ import annotations

import csv
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tui_agent.core.formats import PRESETS, FormatError, Translator, recognise, shop_time, unescape
from tui_agent.core.formats.base import OUT_FIELDS, zone

DATA = Path(__file__).parent.parent / "data" / "formats"
SH = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(
    ("cell", "text"),
    [
        ('="3012345678901234"', "3012345678901234"),
        ("'250000000102", "250000000102"),
        ("\t6930000000000000101", "6930000000000000101"),
        ('=" 12 "', "12"),
        ("=1+1", "=1+1"),  # a formula is not an escape: kept as text, never evaluated
        ("1.23457E+11", "1.23457E+11"),  # left for the check to reject
        ("plain", "plain"),
    ],
)
def test_unescape(cell: str, text: str) -> None:
    assert unescape(cell) == text


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("2026-02-20 10:00:00 +0800", "2026-02-20 10:00:00"),
        ("2026-02-20 10:00:00 -0500", "2026-02-20 23:00:00"),
        ("2026-02-20T02:00:00Z", "2026-02-20 10:00:00"),
        ("2026-02-20T02:00:00+00:00", "2026-02-20 10:00:00"),
        ("2026-03-01 23:30:00 +0000", "2026-03-02 07:30:00"),
        ("2026/2/5 9:03", "2026-02-05 09:03:00"),  # Excel's way, no offset: shop time
        ("2026-02-20", "2026-02-20 00:00:00"),
        ("2026-02-30 10:00:00", "2026-02-30 10:00:00"),  # not a date: left for the check
        ("soon", "soon"),
    ],
)
def test_shop_time(raw: str, stored: str) -> None:
    assert shop_time(raw, SH) == stored


def test_time_in_the_exports_own_zone() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    assert shop_time("2026-02-20 03:00:00", SH, berlin) == "2026-02-20 10:00:00"
    assert shop_time("2026-07-20 03:00:00", SH, berlin) == "2026-07-20 09:00:00"  # summer time
    assert shop_time("2026-02-20 03:00:00 +0000", SH, berlin) == "2026-02-20 11:00:00"


def test_zone_names() -> None:
    assert zone(None) is None and zone("") is None
    with pytest.raises(ValueError, match="unknown time zone"):
        zone("Mars/Olympus")


def _header(name: str, encoding: str = "utf-8-sig") -> list[str]:
    with open(DATA / name, encoding=encoding, newline="") as f:
        return next(csv.reader(f))


@pytest.mark.parametrize(
    ("name", "key", "encoding"),
    [
        ("shopify_orders_export.csv", "shopify", "utf-8-sig"),
        ("taobao_订单报表.csv", "taobao", "gb18030"),
        ("taobao_宝贝报表.csv", "taobao-lines", "gb18030"),
        ("jd_orders_export.csv", "jd", "utf-8-sig"),
        ("douyin_orders_export.csv", "douyin", "utf-8-sig"),
        ("woocommerce_orders_export.csv", "woocommerce", "utf-8-sig"),
    ],
)
def test_recognised_from_the_header(name: str, key: str, encoding: str) -> None:
    preset = recognise(_header(name, encoding))
    assert preset is not None and preset.key == key


def test_canonical_header_is_no_platform() -> None:
    assert recognise(list(OUT_FIELDS)) is None


def test_missing_column_names_it() -> None:
    header = [h for h in _header("shopify_orders_export.csv") if h != "Created at"]
    with pytest.raises(FormatError, match="not a Shopify orders export: missing column Created at"):
        Translator(PRESETS["shopify"], header, SH)


def _translate(key: str, header: list[str], rows: list[dict[str, str]]) -> list[dict[str, str]]:
    t = Translator(PRESETS[key], header, SH)
    out = t.rows([[r.get(h, "") for h in header] for r in rows])
    fields = [t.mapping[label] for label in t.header]
    return [dict(zip(fields, row, strict=True)) for row in out]


def test_masked_values_are_never_the_customer_key() -> None:
    header = _header("jd_orders_export.csv")
    base = {
        "订单号": "1",
        "下单时间": "2026-02-20 10:00:00",
        "京东价": "10",
        "订购数量": "1",
        "订单状态": "完成",
        "联系电话": "138****1234",
    }
    [masked] = _translate("jd", header, [base | {"下单帐号": "jd_***88"}])
    assert masked["customer_id"] == "" and masked["phone"] == "138****1234"
    [plain] = _translate("jd", header, [base | {"下单帐号": "jd_zhang88"}])
    assert plain["customer_id"] == "jd_zhang88"


def test_shopify_statuses_and_first_line_fields() -> None:
    header = _header("shopify_orders_export.csv")
    rows = [
        {
            "Name": "#1",
            "Email": "a@x",
            "Financial Status": "paid",
            "Created at": "2026-02-20 10:00:00 +0800",
            "Lineitem quantity": "2",
            "Lineitem price": "1.50",
            "Lineitem discount": "0.50",
        },
        {"Name": "#1", "Lineitem quantity": "1", "Lineitem price": "4"},
        {
            "Name": "#2",
            "Email": "b@x",
            "Financial Status": "paid",
            "Cancelled at": "2026-02-21",
            "Created at": "2026-02-20 10:00:00 +0800",
            "Lineitem quantity": "1",
            "Lineitem price": "4",
        },
        {
            "Name": "#3",
            "Email": "b@x",
            "Financial Status": "pending",
            "Created at": "2026-02-20 10:00:00 +0800",
            "Lineitem quantity": "1",
            "Lineitem price": "4",
        },
        {
            "Name": "#4",
            "Email": "b@x",
            "Financial Status": "chargeback",
            "Created at": "2026-02-20 10:00:00 +0800",
            "Lineitem quantity": "1",
            "Lineitem price": "4",
        },
    ]
    out = _translate("shopify", header, rows)
    assert [(r["order_id"], r["customer_id"], r["amount"], r["status"]) for r in out] == [
        ("#1", "a@x", "2.50", "paid"),
        ("#1", "a@x", "4.00", "paid"),
        ("#2", "b@x", "4.00", "cancelled"),
        ("#3", "b@x", "4.00", "unpaid"),
        ("#4", "b@x", "4.00", "chargeback"),  # unknown: a row error naming Financial Status
    ]
    assert out[1]["ordered_at"] == "2026-02-20 10:00:00"


@pytest.mark.parametrize(
    ("status", "refund", "expected"),
    [
        ("交易成功", "0.00", "paid"),
        ("卖家已发货，等待买家确认", "", "paid"),
        ("等待买家付款", "", "unpaid"),
        ("交易关闭", "0.00", "cancelled"),
        ("交易关闭", "30.00", "refunded"),
        ("交易成功", "10.00", "partially_refunded"),
    ],
)
def test_taobao_statuses(status: str, refund: str, expected: str) -> None:
    header = _header("taobao_订单报表.csv", "gb18030")
    row = {
        "订单编号": '="1"',
        "买家会员名": "tb",
        "订单状态": status,
        "退款金额": refund,
        "订单创建时间": "2026-02-20 10:00:00",
        "买家实际支付金额": "30.00",
    }
    assert _translate("taobao", header, [row])[0]["status"] == expected
