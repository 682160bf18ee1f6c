"""Taobao / Tmall: 千牛卖家中心 > 交易 > 已卖出的宝贝 > 批量导出 (订单报表 and 宝贝报表).

The 订单报表 has one row per order: 订单编号, 买家会员名, 订单状态, 订单创建时间, 收货人姓名,
联系手机 (often masked, ``138****1234``), 买家实际支付金额, 退款金额, 宝贝标题. The 宝贝报表
has one row per item: 订单编号, 标题, 价格 (unit price), 购买数量, 商家编码, 订单状态. Both are
GBK with ids written as ``="1234567890"`` so Excel keeps the digits; times are Beijing time
without an offset.

With the 宝贝报表 the orders' lines come from it, joined by 订单编号 to the 订单报表's buyer,
times and status. Without it each order is one line (its 宝贝标题, 宝贝总数量 and the amount the
buyer paid).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from tui_agent.core.formats.base import (
    CANCELLED,
    PAID,
    UNPAID,
    Preset,
    after_refund,
    lookup,
)

_TEXT = lookup(
    {
        "交易成功": PAID,
        "买家已付款，等待卖家发货": PAID,
        "卖家已发货，等待买家确认": PAID,
        "卖家部分发货": PAID,
        "等待买家付款": UNPAID,
        "交易关闭": CANCELLED,
        "付款以前，卖家或买家主动关闭交易": CANCELLED,
    }
)


def _status(cells: Mapping[str, str]) -> str:
    # A closed order after a refund was paid first: it is refunded, not cancelled.
    status = _TEXT(cells.get("订单状态", ""))
    return after_refund(status, cells.get("退款金额", ""), closed_was_paid=True)


PRESET = Preset(
    key="taobao",
    title="Taobao/Tmall 订单报表",
    menu="千牛卖家中心: 交易 > 已卖出的宝贝 > 批量导出 > 订单报表 (and 宝贝报表)",
    signature=("订单编号", "买家会员名", "订单状态", "订单创建时间"),
    order_id="订单编号",
    price="买家实际支付金额",
    price_is_total=True,
    quantity="宝贝总数量",
    product="宝贝标题",
    refunded="退款金额",
    optional=("买家支付宝账号", "联系电话", "退款金额", "宝贝总数量"),
    customer_id=("买家会员名", "买家支付宝账号"),
    ordered_at="订单创建时间",
    status=_status,
    status_columns=("订单状态", "退款金额"),
    customer_name="收货人姓名",
    phone=("联系手机", "联系电话"),
)

# The same order-level columns (from the 订单报表); the lines from the 宝贝报表's own columns.
LINES = replace(
    PRESET,
    key="taobao-lines",
    title="Taobao/Tmall 宝贝报表 joined to its 订单报表",
    signature=("订单编号", "标题", "价格", "购买数量", "商家编码"),
    price="价格",
    price_is_total=False,
    quantity="购买数量",
    sku=("商家编码",),
    product="标题",
    optional=("买家支付宝账号", "联系电话", "退款金额"),
)
