"""Shopify: Admin > Orders > Export > "All orders", "CSV for Excel, Numbers, or other programs".

One row per line item; the order's own fields (email, status, times, totals, billing) are
written on its first row only. Times carry the store's UTC offset (``2026-02-20 10:00:00
+0800``). ``Financial Status`` is paid, partially_paid, authorized, pending, partially_refunded,
refunded, voided or expired; a non-empty ``Cancelled at`` cancels the order whatever it says.
"""

from __future__ import annotations

from collections.abc import Mapping

from tui_agent.core.formats.base import (
    CANCELLED,
    PAID,
    PARTIALLY_REFUNDED,
    REFUNDED,
    UNPAID,
    Preset,
    lookup,
)

_FINANCIAL = lookup(
    {
        "paid": PAID,
        "partially_paid": PAID,
        "authorized": PAID,
        "pending": UNPAID,
        "unpaid": UNPAID,
        "partially_refunded": PARTIALLY_REFUNDED,
        "refunded": REFUNDED,
        "voided": CANCELLED,
        "expired": CANCELLED,
    }
)


def _status(cells: Mapping[str, str]) -> str:
    if cells.get("Cancelled at"):
        return CANCELLED
    return _FINANCIAL(cells.get("Financial Status", ""))


PRESET = Preset(
    key="shopify",
    title="Shopify orders export",
    menu="Shopify admin: Orders > Export > All orders > CSV for Excel, Numbers, or other programs",
    signature=("Name", "Financial Status", "Lineitem name", "Lineitem quantity"),
    order_id="Name",
    customer_id=("Email", "Billing Phone", "Phone"),
    ordered_at="Created at",
    shipped_at="Fulfilled at",
    quantity="Lineitem quantity",
    price="Lineitem price",
    line_discount="Lineitem discount",
    sku=("Lineitem sku",),
    product="Lineitem name",
    refunded="Refunded Amount",
    status=_status,
    status_columns=("Financial Status", "Cancelled at"),
    customer_name="Billing Name",
    phone=("Billing Phone", "Phone"),
    email="Email",
    order_level=(
        "Email",
        "Financial Status",
        "Paid at",
        "Fulfilled at",
        "Created at",
        "Billing Name",
        "Billing Phone",
        "Phone",
        "Cancelled at",
        "Refunded Amount",
    ),
    optional=("Lineitem discount", "Phone", "Fulfilled at"),
)
