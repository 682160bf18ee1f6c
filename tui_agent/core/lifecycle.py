"""Lifecycle scheduling, pure: which rule occurrences fall due on a day, and how they become
follow-ups (merging, frequency cap, opt-out, stop on repurchase).

The store feeds it facts read through indexed windows (see :func:`delivery_windows`) and
writes the plan it returns; nothing here touches the database.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from tui_agent.core.models import Stage
from tui_agent.core.rules import Cap, Rule, RuleSet


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


@dataclass(frozen=True, slots=True)
class CustomerFact:
    customer_id: str
    opt_out: bool
    last_order_at: datetime | None
    birthday: date | None = None
    last_order_id: str | None = None


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


@dataclass(frozen=True, slots=True)
class NewFollowUp:
    customer_id: str
    rule: Rule  # the leading rule
    stage: Stage
    tags: tuple[str, ...]
    due: date
    order_id: str | None
    occurrences: tuple[Occurrence, ...]
    capped: str | None = None  # reason when the frequency cap holds it back


@dataclass(frozen=True, slots=True)
class Merge:
    """Occurrences added to a customer's already pending follow-up."""

    follow_up_id: int
    occurrences: tuple[Occurrence, ...]


@dataclass(frozen=True, slots=True)
class Plan:
    new: list[NewFollowUp] = field(default_factory=list)
    merges: list[Merge] = field(default_factory=list)


def delivered_day(delivered_at: datetime | None, ordered_at: datetime, assumed_days: int) -> date:
    if delivered_at is not None:
        return delivered_at.date()
    return ordered_at.date() + timedelta(days=assumed_days)


def delivery_windows(rules: RuleSet, today: date) -> list[tuple[int, date, date]]:
    """Distinct (days-after-delivery, first, last) delivery-date windows the rules need today."""
    offsets = {r.days for r in rules.rules if r.kind in ("after_delivery", "vip")}
    return [
        (k, today - timedelta(days=k + rules.catch_up_days), today - timedelta(days=k))
        for k in sorted(offsets)
    ]


def replenish_windows(
    rules: RuleSet, cycles: Iterable[int], today: date
) -> list[tuple[int, date, date]]:
    """For each distinct cycle, the delivery dates whose replenishment falls due today."""
    result = []
    for rule in rules.of_kind("replenish"):
        for c in sorted(set(cycles)):
            back = c - rule.lead_days
            result.append(
                (
                    c,
                    today - timedelta(days=back + rules.catch_up_days),
                    today - timedelta(days=back),
                )
            )
    return result


def _in_window(due: date, today: date, catch_up: int) -> bool:
    return today - timedelta(days=catch_up) <= due <= today


def after_delivery_occurrences(
    rules: RuleSet, orders: Iterable[OrderFact], today: date
) -> list[Occurrence]:
    out: list[Occurrence] = []
    for o in orders:
        d = delivered_day(o.delivered_at, o.ordered_at, rules.assumed_delivery_days)
        for rule in rules.rules:
            if rule.kind == "vip" and o.seq < rule.min_orders:
                continue
            if rule.kind not in ("after_delivery", "vip"):
                continue
            due = d + timedelta(days=rule.days)
            if not _in_window(due, today, rules.catch_up_days):
                continue
            nth = f"order #{o.seq}" if o.seq else "order"
            text = f"{rule.label}: {nth} {o.order_id} delivered {d.isoformat()} (+{rule.days} d)"
            out.append(
                Occurrence(
                    o.customer_id,
                    rule,
                    f"{rule.id}:{o.order_id}",
                    due,
                    text,
                    o.order_id,
                    o.ordered_at,
                )
            )
    return out


def replenish_occurrences(
    rules: RuleSet, lines: Iterable[LineFact], today: date
) -> list[Occurrence]:
    out: list[Occurrence] = []
    for rule in rules.of_kind("replenish"):
        for ln in lines:
            cycle = rules.cycle_for(ln.product_cycle, ln.category)
            if cycle is None:
                continue
            d = delivered_day(ln.delivered_at, ln.ordered_at, rules.assumed_delivery_days)
            due = d + timedelta(days=cycle - rule.lead_days)
            if not _in_window(due, today, rules.catch_up_days):
                continue
            what = ln.product or ln.category or "product"
            text = f"{rule.label}: {what} ({cycle}-day cycle) delivered {d.isoformat()}"
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
                )
            )
    return out


def birthday_this_year(birthday: date, year: int) -> date:
    """The birthday in ``year``; 29 February falls on the 28th in a common year."""
    if birthday.month == 2 and birthday.day == 29 and not calendar.isleap(year):
        return date(year, 2, 28)
    return date(year, birthday.month, birthday.day)


def birthday_month_days(rules: RuleSet, today: date) -> set[str]:
    """MM-DD strings of birthdays that may fall due today (the store's indexed look-up)."""
    days: set[str] = set()
    for rule in rules.of_kind("birthday"):
        for back in range(rules.catch_up_days + 1):
            d = today + timedelta(days=rule.lead_days - back)
            days.add(d.strftime("%m-%d"))
            if d.month == 2 and d.day == 28 and not calendar.isleap(d.year):
                days.add("02-29")
    return days


def birthday_occurrences(
    rules: RuleSet, customers: Iterable[CustomerFact], today: date
) -> list[Occurrence]:
    out: list[Occurrence] = []
    for rule in rules.of_kind("birthday"):
        for c in customers:
            if c.birthday is None:
                continue
            # The birthday may be early next year while today is late December.
            for year in (today.year, today.year + 1):
                bday = birthday_this_year(c.birthday, year)
                due = bday - timedelta(days=rule.lead_days)
                if _in_window(due, today, rules.catch_up_days):
                    text = f"{rule.label}: birthday {bday.isoformat()}"
                    out.append(
                        Occurrence(
                            c.customer_id, rule, f"{rule.id}:{c.customer_id}:{year}", due, text
                        )
                    )
    return out


def winback_days(rule: Rule, avg_gap_days: float | None) -> int:
    """Days without an order before a customer counts as lapsed: the shop's own average gap."""
    if avg_gap_days is None or avg_gap_days <= 0:
        return rule.default_days
    return max(rule.min_days, round(avg_gap_days * rule.gap_factor))


def winback_occurrences(
    rules: RuleSet,
    customers: Iterable[CustomerFact],
    today: date,
    avg_gap_days: float | None,
    low_p_alive: Collection[str] = (),
) -> list[Occurrence]:
    """Win-back after the shop's average gap without an order; with ``p_alive_below`` set on
    the rule, also today for the customers in ``low_p_alive`` (the BTYD model's P(alive) is
    below it) once ``min_days`` have passed since their last order. Either way the key is
    the customer's last order, so one lapse gives one win-back."""
    out: list[Occurrence] = []
    for rule in rules.of_kind("winback"):
        gap = winback_days(rule, avg_gap_days)
        for c in customers:
            if c.last_order_at is None:
                continue
            last = c.last_order_at.date()
            due = last + timedelta(days=gap)
            text = f"{rule.label}: no order for {gap} days (last {last.isoformat()})"
            if (
                rule.p_alive_below > 0
                and c.customer_id in low_p_alive
                and last + timedelta(days=rule.min_days) <= today < due
            ):
                due = today
                text = (
                    f"{rule.label}: likely lapsing, P(alive) below {rule.p_alive_below:g} "
                    f"(last order {last.isoformat()})"
                )
            if not _in_window(due, today, rules.catch_up_days):
                continue
            out.append(
                Occurrence(
                    c.customer_id,
                    rule,
                    f"{rule.id}:{c.customer_id}:{c.last_order_at.date().isoformat()}",
                    due,
                    text,
                    c.last_order_id,
                    c.last_order_at,
                )
            )
    return out


def stopped_by_repurchase(
    rule: Rule, anchor_at: datetime | None, last_order_at: datetime | None
) -> bool:
    """A chain stops when the customer ordered again after the order it is anchored on."""
    return (
        rule.stop_on_repurchase
        and anchor_at is not None
        and last_order_at is not None
        and last_order_at > anchor_at
    )


def cap_reason(cap: Cap, touches_24h: int, touches_7d: int) -> str | None:
    if touches_24h >= cap.per_24h:
        return f"cap: {touches_24h} touch(es) in the last 24 h (limit {cap.per_24h})"
    if touches_7d >= cap.per_7d:
        return f"cap: {touches_7d} touch(es) in the last 7 days (limit {cap.per_7d})"
    return None


def plan_day(
    occurrences: Iterable[Occurrence],
    *,
    customers: Mapping[str, CustomerFact],
    existing_keys: set[str],
    pending: Mapping[str, int],
    touches_24h: Mapping[str, int],
    touches_7d: Mapping[str, int],
    cap: Cap,
) -> Plan:
    """Turn the day's occurrences into new follow-ups and merges.

    - an occurrence whose key exists already is ignored (idempotence);
    - opted-out customers and chains stopped by a newer order get nothing;
    - all occurrences of one customer become one follow-up, led by the highest-priority rule;
      a customer with a pending follow-up gets the occurrences merged into it, so a customer
      never has two open follow-ups;
    - a customer over the frequency cap gets the follow-up recorded as skipped, with the reason.
    """
    by_customer: dict[str, list[Occurrence]] = defaultdict(list)
    seen: set[str] = set()
    for occ in occurrences:
        if occ.key in existing_keys or occ.key in seen:
            continue
        fact = customers.get(occ.customer_id)
        if fact is None or fact.opt_out:
            continue
        if stopped_by_repurchase(occ.rule, occ.anchor_at, fact.last_order_at):
            continue
        seen.add(occ.key)
        by_customer[occ.customer_id].append(occ)

    plan = Plan()
    for cid in sorted(by_customer):
        occs = sorted(by_customer[cid], key=lambda o: (-o.rule.priority, o.due, o.key))
        if cid in pending:
            plan.merges.append(Merge(pending[cid], tuple(occs)))
            continue
        lead = occs[0]
        tags: list[str] = []
        for o in occs:
            tags.extend(t for t in o.rule.tags if t not in tags)
        plan.new.append(
            NewFollowUp(
                customer_id=cid,
                rule=lead.rule,
                stage=lead.rule.stage,
                tags=tuple(tags),
                due=min(o.due for o in occs),
                order_id=lead.order_id,
                occurrences=tuple(occs),
                capped=cap_reason(cap, touches_24h.get(cid, 0), touches_7d.get(cid, 0)),
            )
        )
    return plan
