"""Douyin (抖店): 抖店后台 > 订单 > 订单管理 > 批量导出 (下载中心).

One row per sub-order (子订单编号) of a main order (主订单编号, the order here). 商品金额 is the
unit price, 商品数量 the quantity. 订单状态 is 待支付, 待发货, 已发货, 已完成, 已关闭 or
已取消; 售后状态 says 退款成功 when a sub-order was refunded in full. 收件人手机号 is masked in
most exports; a masked number is kept for display and never used as the customer key, so the
buyer's id comes from 用户ID when the export has it.
"""

from __future__ import annotations

from collections.abc import Mapping

from tui_agent.core.formats.base import CANCELLED, PAID, REFUNDED, UNPAID, Preset, lookup

_TEXT = lookup(
    {
        "待支付": UNPAID,
        "待发货": PAID,
        "备货中": PAID,
        "已发货": PAID,
        "已完成": PAID,
        "已关闭": CANCELLED,
        "已取消": CANCELLED,
    }
)


def _status(cells: Mapping[str, str]) -> str:
    if cells.get("售后状态", "") in ("退款成功", "售后完成", "已退款"):
        return REFUNDED
    return _TEXT(cells.get("订单状态", ""))


PRESET = Preset(
    key="douyin",
    title="Douyin (抖店) orders export",
    menu="抖店后台: 订单 > 订单管理 > 批量导出 > 下载中心",
    signature=("主订单编号", "子订单编号", "选购商品", "商品数量", "订单提交时间"),
    order_id="主订单编号",
    customer_id=("用户ID", "收件人手机号"),
    ordered_at="订单提交时间",
    shipped_at="发货时间",
    delivered_at="订单完成时间",
    quantity="商品数量",
    price="商品金额",
    sku=("商家编码", "商品ID"),
    product="选购商品",
    status=_status,
    status_columns=("订单状态", "售后状态"),
    customer_name="收件人",
    phone=("收件人手机号",),
    optional=("用户ID", "发货时间", "订单完成时间", "商家编码", "售后状态"),
)
