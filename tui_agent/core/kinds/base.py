"""The facts every kind reads and the occurrence every kind returns (pure dataclasses)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from tui_agent.core.rules import Rule, RuleSet


@dataclass(frozen=True, slots=True)
class OrderFact:
    order_id: str
    customer_id: str
    ordered_at: datetime
    delivered_at: datetime | None
    seq: int


@dataclass(frozen=True, slots=True)
class LineFact:
    order_id: str
    customer_id: str
    line_no: int
    product: str | None
    category: str | None
    product_cycle: int | None
    ordered_at: datetime
    delivered_at: datetime | None
    # The customer's own gaps (days) between orders of this product, oldest first; filled by
    # the store for customers with enough repeat purchases (see ``kinds.replenish``).
    own_gaps: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class CustomerFact:
    customer_id: str
    opt_out: bool
    last_order_at: datetime | None
    birthday: date | None = None  # the year is meaningless when the file gave MM-DD
    last_order_id: str | None = None
    lunar_birthday: str | None = None  # "MM-DD" or "闰MM-DD"
    tier: str | None = None
    tags: tuple[str, ...] = ()
    first_order_at: datetime | None = None
    segment: str | None = None  # stored RFM segment value; filled only for eligible_segments


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One rule falling due for one customer: the unit of idempotence (its key)."""

    customer_id: str
    rule: Rule
    key: str
    due: date
    text: str
    order_id: str | None = None
    anchor_at: datetime | None = None  # when the anchoring order was placed
    product: str | None = None
    category: str | None = None
    delivery_assumed: bool = False  # the order had no delivery time: its date is assumed


@dataclass(frozen=True, slots=True)
class Facts:
    """What the store read for one rule on one day (each kind uses the fields it needs)."""

    orders: Sequence[OrderFact] = ()
    lines: Sequence[LineFact] = ()
    customers: Sequence[CustomerFact] = ()
    avg_gap_days: float | None = None
    low_p_alive: frozenset[str] = frozenset()  # winback: P(alive) below the rule's threshold


OccurrenceFn = Callable[[RuleSet, Rule, Facts, date], list[Occurrence]]


def in_window(due: date, today: date, catch_up: int) -> bool:
    return today - timedelta(days=catch_up) <= due <= today


def delivered_day(delivered_at: datetime | None, ordered_at: datetime, assumed_days: int) -> date:
    if delivered_at is not None:
        return delivered_at.date()
    return ordered_at.date() + timedelta(days=assumed_days)


def delivery_phrase(delivered_at: datetime | None, day: date) -> str:
    """``delivered 2026-11-28``, or ``delivery assumed ~2026-11-28`` when the order had no
    delivery time (never state an assumed date as fact)."""
    return (
        f"delivered {day.isoformat()}" if delivered_at else f"delivery assumed ~{day.isoformat()}"
    )


def eligible(rule: Rule, c: CustomerFact, today: date) -> bool:
    """The eligibility keys of holiday, member-day and periodic rules."""
    if rule.active_within_days:
        if c.last_order_at is None:
            return False
        if c.last_order_at.date() < today - timedelta(days=rule.active_within_days):
            return False
    if rule.eligible_tiers:
        tier = (c.tier or "").strip()
        if not tier or ("*" not in rule.eligible_tiers and tier not in rule.eligible_tiers):
            return False
    if rule.eligible_segments and c.segment not in rule.eligible_segments:
        return False  # no segment (no order by then) is not eligible either
    return not rule.eligible_tags or bool(set(rule.eligible_tags) & set(c.tags))
