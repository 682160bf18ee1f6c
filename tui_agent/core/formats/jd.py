"""JD (京东): 京麦 / 商家后台 > 订单管理 > 订单查询与跟踪 > 导出 (订单导出).

One row per product of an order; the order's own fields are repeated on each row. 京东价 is
the unit price; 下单帐号 is the buyer's account (masked accounts are not used as a key);
联系电话 is usually masked. 订单状态 is 等待付款, 等待出库, 等待确认收货, 完成, (删除)已取消,
已取消, 锁定; a refunded order shows 退款成功 (or 已退款).
"""

from __future__ import annotations

from collections.abc import Mapping

from tui_agent.core.formats.base import (
    CANCELLED,
    PAID,
    REFUNDED,
    UNPAID,
    Preset,
    after_refund,
    lookup,
)

_TEXT = lookup(
    {
        "等待付款": UNPAID,
        "等待出库": PAID,
        "等待发货": PAID,
        "等待确认收货": PAID,
        "完成": PAID,
        "已完成": PAID,
        "锁定": PAID,
        "已取消": CANCELLED,
        "(删除)已取消": CANCELLED,
        "（删除）已取消": CANCELLED,
        "退款成功": REFUNDED,
        "已退款": REFUNDED,
    }
)


def _status(cells: Mapping[str, str]) -> str:
    return after_refund(_TEXT(cells.get("订单状态", "")), cells.get("退款金额", ""))


PRESET = Preset(
    key="jd",
    title="JD (京东) orders export",
    menu="京麦工作台 / 商家后台: 订单管理 > 订单查询与跟踪 > 订单导出",
    signature=("订单号", "商品名称", "订购数量", "下单时间", "订单状态", "下单帐号"),
    order_id="订单号",
    customer_id=("下单帐号",),
    ordered_at="下单时间",
    delivered_at="订单完成时间",
    quantity="订购数量",
    price="京东价",
    sku=("商家SKUID", "商品ID"),
    product="商品名称",
    refunded="退款金额",
    status=_status,
    status_columns=("订单状态", "退款金额"),
    customer_name="客户姓名",
    phone=("联系电话",),
    optional=("订单完成时间", "商家SKUID", "退款金额"),
)
