"""``holiday``: one greeting per holiday or shopping festival for each eligible customer.

Dates come from three places, each named in the rule:

- ``calendar = "CN"``: China's statutory holidays from the maintained ``holidays`` package
  (元旦, 春节, 清明节, 劳动节, 端午节, 中秋节, 国庆节), ``holidays = [...]`` to choose. The greeting
  is due ``lead_days`` before the holiday's first day, and if that is not a working day, on
  the working day before it, where working days follow the official calendar: a weekend made
  a working day by 调休 counts as one, a day off made by 调休 does not.
- ``shop_dates = { "双11" = "11-11" }``: the shop's own solar dates (618, 双12, 38节,
  anniversary), ``lead_days`` before.
- ``lunar_dates = { "元宵" = "01-15" }``: lunar dates (元宵, 七夕), converted per year.

The official calendar for a year is published each November; until then the package only
computes the holidays' dates, without the 调休 days. :func:`missing_years` says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

from tui_agent.core.kinds import lunar
from tui_agent.core.kinds.base import Facts, Occurrence, eligible, in_window
from tui_agent.core.rules import STATUTORY_CN, Rule, RuleSet

# The statutory holidays' names in the package's zh_CN calendar; other entries are the
# extra days of a break (补假, 调休 days off, 除夕).
STATUTORY = STATUTORY_CN


@dataclass(frozen=True, slots=True)
class Greeting:
    name: str
    day: date  # the holiday (its first day)
    due: date  # when the greeting is due


@lru_cache(maxsize=8)
def _china(year: int) -> Any:
    import holidays

    return holidays.country_holidays("CN", years=year, language="zh_CN")


def is_working_day(day: date) -> bool:
    """China's official working days: Monday-Friday that are not holidays, plus the
    weekends made working days by 调休."""
    cal = _china(day.year)
    if day in cal.weekend_workdays:
        return True
    return day.weekday() < 5 and day not in cal


def working_day_on_or_before(day: date) -> date:
    while not is_working_day(day):
        day -= timedelta(days=1)
    return day


def statutory_days(year: int) -> dict[str, date]:
    """Each statutory holiday's first day in ``year``."""
    first: dict[str, date] = {}
    cal = _china(year)
    for day in sorted(cal):
        for name in cal.get_list(day):
            if name in STATUTORY and name not in first:
                first[name] = day
    return first


def has_official_calendar(year: int) -> bool:
    """True when the package knows the year's published calendar (its 调休 working days)."""
    return any(d.year == year for d in _china(year).weekend_workdays)


def greetings(rule: Rule, year: int) -> list[Greeting]:
    out: list[Greeting] = []
    if rule.calendar == "CN":
        for name, day in statutory_days(year).items():
            if rule.holidays and name not in rule.holidays:
                continue
            due = working_day_on_or_before(day - timedelta(days=rule.lead_days))
            out.append(Greeting(name, day, due))
    for name, md in rule.shop_dates:
        month, d = int(md[:2]), int(md[3:])
        if month == 2 and d == 29 and year % 4:  # a leap-day festival in a common year
            d = 28
        day = date(year, month, d)
        out.append(Greeting(name, day, day - timedelta(days=rule.lead_days)))
    for name, md in rule.lunar_dates:
        month, d, _leap = lunar.parse_lunar_md(md)
        day = lunar.to_solar(year, month, d)
        out.append(Greeting(name, day, day - timedelta(days=rule.lead_days)))
    return out


def due_greetings(rules: RuleSet, rule: Rule, today: date) -> list[Greeting]:
    """Greetings of this rule whose due day is in today's catch-up window."""
    found = []
    for year in (today.year - 1, today.year, today.year + 1):
        found += [g for g in greetings(rule, year) if in_window(g.due, today, rules.catch_up_days)]
    return found


def missing_years(rules: RuleSet, today: date, horizon_days: int = 60) -> list[int]:
    """Years within ``horizon_days`` whose official holiday calendar the package lacks, for
    rules that use it (the dates would be computed, without the 调休 days)."""
    if not any(r.kind == "holiday" and r.calendar == "CN" for r in rules.rules):
        return []
    years = sorted({today.year, (today + timedelta(days=horizon_days)).year})
    return [y for y in years if not has_official_calendar(y)]


def occurrences(rules: RuleSet, rule: Rule, facts: Facts, today: date) -> list[Occurrence]:
    out: list[Occurrence] = []
    for g in due_greetings(rules, rule, today):
        text = f"{rule.label}: {g.name} {g.day.isoformat()}"
        for c in facts.customers:
            if eligible(rule, c, today):
                key = f"{rule.id}:{g.name}:{g.day.year}:{c.customer_id}"
                out.append(Occurrence(c.customer_id, rule, key, g.due, text))
    return out


def missing_message(rules: RuleSet, today: date) -> str | None:
    """One line for ``tui-agent due`` and the console when a coming year's official calendar
    is missing, or None."""
    years = missing_years(rules, today)
    if not years:
        return None
    from importlib.metadata import version

    listed = ", ".join(str(y) for y in years)
    return (
        f"holiday data: China's official holiday calendar for {listed} is not in the installed "
        f"holidays package ({version('holidays')}); statutory greetings use computed dates "
        "without the 调休 days until it is (pip install -U holidays)"
    )
