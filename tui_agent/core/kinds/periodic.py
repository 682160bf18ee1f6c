"""``periodic``: upkeep touches every ``every_days``, from ``start_days`` after the first order
while within ``within_days_of_first_order`` of it (关系维护, 7-30 days after the first
purchase)."""

from __future__ import annotations

from datetime import date, timedelta

from tui_agent.core.kinds.base import Facts, Occurrence, eligible, in_window
from tui_agent.core.rules import Rule, RuleSet


def touch_days(rule: Rule, first_order: date) -> list[date]:
    days = []
    offset = rule.start_days
    while offset <= rule.within_days_of_first_order:
        days.append(first_order + timedelta(days=offset))
        offset += rule.every_days
    return days


def first_order_window(rules: RuleSet, rule: Rule, today: date) -> tuple[date, date]:
    """First-order dates whose touches may fall in today's window."""
    return (
        today - timedelta(days=rule.within_days_of_first_order + rules.catch_up_days),
        today - timedelta(days=rule.start_days),
    )


def occurrences(rules: RuleSet, rule: Rule, facts: Facts, today: date) -> list[Occurrence]:
    out: list[Occurrence] = []
    for c in facts.customers:
        if c.first_order_at is None or not eligible(rule, c, today):
            continue
        first = c.first_order_at.date()
        for n, due in enumerate(touch_days(rule, first), start=1):
            if in_window(due, today, rules.catch_up_days):
                out.append(
                    Occurrence(
                        c.customer_id,
                        rule,
                        f"{rule.id}:{c.customer_id}:{first.isoformat()}:{n}",
                        due,
                        f"{rule.label}: #{n}, day {(due - first).days} after the first order "
                        f"({first.isoformat()})",
                        anchor_at=c.first_order_at,
                    )
                )
    return out
