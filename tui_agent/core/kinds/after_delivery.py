"""``after_delivery`` (care, experience, review, related, coupon) and ``vip``: a fixed number
of days after an order's delivery (vip: only from the customer's ``min_orders``-th order)."""

from __future__ import annotations

from datetime import date, timedelta

from tui_agent.core.kinds.base import (
    Facts,
    Occurrence,
    delivered_day,
    delivery_phrase,
    in_window,
)
from tui_agent.core.rules import Rule, RuleSet


def window(rules: RuleSet, rule: Rule, today: date) -> tuple[date, date]:
    """The delivery dates whose +days falls in today's catch-up window."""
    return (
        today - timedelta(days=rule.days + rules.catch_up_days),
        today - timedelta(days=rule.days),
    )


def occurrences(rules: RuleSet, rule: Rule, facts: Facts, today: date) -> list[Occurrence]:
    out: list[Occurrence] = []
    for o in facts.orders:
        if rule.kind == "vip" and o.seq < rule.min_orders:
            continue
        d = delivered_day(o.delivered_at, o.ordered_at, rules.assumed_delivery_days)
        due = d + timedelta(days=rule.days)
        if not in_window(due, today, rules.catch_up_days):
            continue
        nth = f"order #{o.seq}" if o.seq else "order"
        when = delivery_phrase(o.delivered_at, d)
        out.append(
            Occurrence(
                o.customer_id,
                rule,
                f"{rule.id}:{o.order_id}",
                due,
                f"{rule.label}: {nth} {o.order_id} {when} (+{rule.days} d)",
                o.order_id,
                o.ordered_at,
                delivery_assumed=o.delivered_at is None,
            )
        )
    return out
