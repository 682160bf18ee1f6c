"""``winback``: no order for about the shop's own average gap between orders."""

from __future__ import annotations

from datetime import date, timedelta

from tui_agent.core.kinds.base import Facts, Occurrence, in_window
from tui_agent.core.rules import Rule, RuleSet


def winback_days(rule: Rule, avg_gap_days: float | None) -> int:
    """Days without an order before a customer counts as lapsed: the shop's own average gap."""
    if avg_gap_days is None or avg_gap_days <= 0:
        return rule.default_days
    return max(rule.min_days, round(avg_gap_days * rule.gap_factor))


def occurrences(rules: RuleSet, rule: Rule, facts: Facts, today: date) -> list[Occurrence]:
    """Due the shop's average gap after the last order; with ``p_alive_below`` set, also today
    for the customers in ``facts.low_p_alive`` (the BTYD model's P(alive) is below it) once
    ``min_days`` have passed since their last order. The key is the last order either way, so
    one lapse gives one win-back."""
    out: list[Occurrence] = []
    gap = winback_days(rule, facts.avg_gap_days)
    for c in facts.customers:
        if c.last_order_at is None:
            continue
        last = c.last_order_at.date()
        due = last + timedelta(days=gap)
        text = f"{rule.label}: no order for {gap} days (last {last.isoformat()})"
        if (
            rule.p_alive_below > 0
            and c.customer_id in facts.low_p_alive
            and last + timedelta(days=rule.min_days) <= today < due
        ):
            due = today
            text = (
                f"{rule.label}: likely lapsing, P(alive) below {rule.p_alive_below:g} "
                f"(last order {last.isoformat()})"
            )
        if not in_window(due, today, rules.catch_up_days):
            continue
        out.append(
            Occurrence(
                c.customer_id,
                rule,
                f"{rule.id}:{c.customer_id}:{last.isoformat()}",
                due,
                text,
                c.last_order_id,
                c.last_order_at,
            )
        )
    return out
