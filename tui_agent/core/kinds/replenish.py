"""``replenish``: a reminder ``lead_days`` before the product's repurchase cycle ends.

The cycle is the customer's own when they bought the product often enough
(``own_cycle_min_orders``), else the product's, else its category's default.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import date, timedelta

from tui_agent.core.kinds.base import (
    Facts,
    LineFact,
    Occurrence,
    delivered_day,
    delivery_phrase,
    in_window,
)
from tui_agent.core.rules import Rule, RuleSet


@dataclass(frozen=True, slots=True)
class Cycle:
    days: int
    why: str  # "30-day cycle" or "own cycle 26 d from 4 orders"


def own_cycle(gaps: tuple[int, ...], base: int | None, min_orders: int, weight: int) -> int | None:
    """The median of the customer's gaps, pulled toward ``base`` (the product or category
    cycle) as if it were ``weight`` more gaps: with few orders the product's cycle still
    counts, with many the customer's own habit wins. None below ``min_orders`` orders."""
    gaps = tuple(g for g in gaps if g > 0)
    if min_orders <= 0 or not gaps or len(gaps) + 1 < min_orders:
        return None  # off, or too few orders (a single order has no gap to measure)
    median = statistics.median(gaps)
    if base is None:
        return max(1, round(median))
    return max(1, round((len(gaps) * median + weight * base) / (len(gaps) + weight)))


def cycle_for(rules: RuleSet, rule: Rule, ln: LineFact) -> Cycle | None:
    base = rules.cycle_for(ln.product_cycle, ln.category)
    own = own_cycle(ln.own_gaps, base, rule.own_cycle_min_orders, rule.own_cycle_weight)
    if own is not None:
        return Cycle(own, f"own cycle {own} d from {len(ln.own_gaps) + 1} orders")
    if base is None:
        return None
    return Cycle(base, f"{base}-day cycle")


def offset(cycle: int, lead: int) -> int:
    """Days after delivery the reminder falls on. A cycle no longer than the lead would put
    it on or before the delivery day: it then comes the day after delivery instead."""
    return max(1, cycle - lead)


def occurrences(rules: RuleSet, rule: Rule, facts: Facts, today: date) -> list[Occurrence]:
    out: list[Occurrence] = []
    for ln in facts.lines:
        cycle = cycle_for(rules, rule, ln)
        if cycle is None:
            continue
        d = delivered_day(ln.delivered_at, ln.ordered_at, rules.assumed_delivery_days)
        due = d + timedelta(days=offset(cycle.days, rule.lead_days))
        if not in_window(due, today, rules.catch_up_days):
            continue
        what = ln.product or ln.category or "product"
        text = f"{rule.label}: {what} ({cycle.why}) {delivery_phrase(ln.delivered_at, d)}"
        if cycle.days <= rule.lead_days:
            text += f"; cycle not longer than the {rule.lead_days}-day lead: reminder +1 d"
        out.append(
            Occurrence(
                ln.customer_id,
                rule,
                f"{rule.id}:{ln.order_id}:{ln.line_no}",
                due,
                text,
                ln.order_id,
                ln.ordered_at,
                ln.product,
                ln.category,
                delivery_assumed=ln.delivered_at is None,
            )
        )
    return out
