"""WooCommerce: WP admin > WooCommerce > Export Orders (the "Advanced Order Export For
WooCommerce" plugin, one row per product).

Order Status is the store's slug (completed, processing, on-hold, pending, cancelled,
failed, refunded). Order Date is the site's local time without an offset; when the export
has a ``Timezone`` column (a site setting such as ``Europe/Berlin``), the time is read in
that zone and converted to the shop's. Order Refund Amount reduces a partly refunded order.
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

_SLUG = lookup(
    {
        "completed": PAID,
        "processing": PAID,
        "on-hold": PAID,
        "pending": UNPAID,
        "checkout-draft": UNPAID,
        "cancelled": CANCELLED,
        "failed": CANCELLED,
        "refunded": REFUNDED,
    }
)


def _status(cells: Mapping[str, str]) -> str:
    text = cells.get("Order Status", "").strip().lower().removeprefix("wc-")
    return after_refund(_SLUG(text), cells.get("Order Refund Amount", ""))


PRESET = Preset(
    key="woocommerce",
    title="WooCommerce orders export",
    menu="WordPress admin: WooCommerce > Export Orders (Advanced Order Export), CSV, one row "
    "per product",
    signature=("Order Number", "Order Status", "Order Date", "Item Name", "Quantity"),
    order_id="Order Number",
    customer_id=("Customer User ID", "Email (Billing)", "Phone (Billing)"),
    ordered_at="Order Date",
    delivered_at="Date of Completion",
    quantity="Quantity",
    price="Item Cost",
    sku=("SKU",),
    product="Item Name",
    refunded="Order Refund Amount",
    status=_status,
    status_columns=("Order Status", "Order Refund Amount"),
    customer_name="Full Name (Billing)",
    phone=("Phone (Billing)",),
    email="Email (Billing)",
    timezone="Timezone",
    optional=("Customer User ID", "Date of Completion", "Timezone", "Order Refund Amount"),
)
