"""``birthday``: on (or ``lead_days`` before) the customer's birthday.

A customer with a lunar birthday (农历, customers.csv ``lunar_birthday``) is greeted on its
solar date of the year; otherwise on the solar ``birthday`` (``MM-DD`` when the year is
unknown; 29 February falls on the 28th in common years).
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta

from tui_agent.core.kinds import lunar
from tui_agent.core.kinds.base import CustomerFact, Facts, Occurrence, in_window
from tui_agent.core.rules import Rule, RuleSet


def birthday_this_year(birthday: date, year: int) -> date:
    """The birthday in ``year``; 29 February falls on the 28th in a common year."""
    if birthday.month == 2 and birthday.day == 29 and not calendar.isleap(year):
        return date(year, 2, 28)
    return date(year, birthday.month, birthday.day)


def window_days(rules: RuleSet, rule: Rule, today: date) -> list[date]:
    """The birthdays (solar days) that may fall due today."""
    return [
        today + timedelta(days=rule.lead_days - back) for back in range(rules.catch_up_days + 1)
    ]


def month_days(rules: RuleSet, rule: Rule, today: date) -> set[str]:
    """MM-DD strings of solar birthdays that may fall due today (indexed look-up)."""
    days: set[str] = set()
    for d in window_days(rules, rule, today):
        days.add(d.strftime("%m-%d"))
        if d.month == 2 and d.day == 28 and not calendar.isleap(d.year):
            days.add("02-29")
    return days


def lunar_keys(rules: RuleSet, rule: Rule, today: date) -> set[str]:
    """Stored lunar birthdays (``MM-DD``/``闰MM-DD``) that may fall due today."""
    keys: set[str] = set()
    for d in window_days(rules, rule, today):
        keys |= lunar.keys_for(d)
    return keys


def _lunar(rules: RuleSet, rule: Rule, c: CustomerFact, today: date) -> list[Occurrence]:
    assert c.lunar_birthday is not None
    try:
        month, day, leap = lunar.parse_lunar_md(c.lunar_birthday)
    except ValueError:
        return []
    out = []
    # A lunar year starts in late January or February: the birthday of solar year Y may
    # belong to lunar year Y-1 (a late-month birthday) or Y.
    for lyear in (today.year - 1, today.year, today.year + 1):
        bday = lunar.to_solar(lyear, month, day, leap)
        due = bday - timedelta(days=rule.lead_days)
        if in_window(due, today, rules.catch_up_days):
            text = f"{rule.label}: lunar birthday 农历{c.lunar_birthday} = {bday.isoformat()}"
            key = f"{rule.id}:{c.customer_id}:L{lyear}"
            out.append(Occurrence(c.customer_id, rule, key, due, text))
    return out


def occurrences(rules: RuleSet, rule: Rule, facts: Facts, today: date) -> list[Occurrence]:
    out: list[Occurrence] = []
    for c in facts.customers:
        if c.lunar_birthday:
            out += _lunar(rules, rule, c, today)
            continue
        if c.birthday is None:
            continue
        # Today may be early January with the birthday late December (caught up over New
        # Year), or late December with the birthday early next year (lead days).
        for year in (today.year - 1, today.year, today.year + 1):
            bday = birthday_this_year(c.birthday, year)
            due = bday - timedelta(days=rule.lead_days)
            if in_window(due, today, rules.catch_up_days):
                text = f"{rule.label}: birthday {bday.isoformat()}"
                out.append(
                    Occurrence(c.customer_id, rule, f"{rule.id}:{c.customer_id}:{year}", due, text)
                )
    return out
