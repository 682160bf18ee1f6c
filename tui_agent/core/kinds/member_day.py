"""``member_day`` (会员日): monthly on ``day_of_month`` (the month's last day when it is
shorter), ``lead_days`` before, for customers with a tier (``eligible_tiers``; ``"*"`` = any)."""

from __future__ import annotations

import calendar
from datetime import date, timedelta

from tui_agent.core.kinds.base import Facts, Occurrence, eligible, in_window
from tui_agent.core.rules import Rule, RuleSet


def member_day(rule: Rule, year: int, month: int) -> date:
    last = calendar.monthrange(year, month)[1]
    return date(year, month, min(rule.day_of_month, last))


def due_days(rules: RuleSet, rule: Rule, today: date) -> list[date]:
    """Member days whose greeting falls in today's catch-up window."""
    out = []
    for back in (-1, 0, 1, 2):
        y, m = divmod(today.year * 12 + today.month - 1 - back, 12)
        day = member_day(rule, y, m + 1)
        if in_window(day - timedelta(days=rule.lead_days), today, rules.catch_up_days):
            out.append(day)
    return out


def occurrences(rules: RuleSet, rule: Rule, facts: Facts, today: date) -> list[Occurrence]:
    out: list[Occurrence] = []
    for day in due_days(rules, rule, today):
        due = day - timedelta(days=rule.lead_days)
        for c in facts.customers:
            if eligible(rule, c, today):
                tier = f" ({c.tier})" if c.tier else ""
                out.append(
                    Occurrence(
                        c.customer_id,
                        rule,
                        f"{rule.id}:{day.strftime('%Y-%m')}:{c.customer_id}",
                        due,
                        f"{rule.label}: member day {day.isoformat()}{tier}",
                    )
                )
    return out
