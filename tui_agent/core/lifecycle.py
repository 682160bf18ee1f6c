"""Lifecycle scheduling, pure: which rule occurrences fall due on a day, and how they become
follow-ups (merging, frequency cap, opt-out, stop on repurchase).

The store feeds it facts read through indexed windows (see :func:`delivery_windows`) and
writes the plan it returns; nothing here touches the database.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

from tui_agent.core.kinds import after_delivery, birthday, replenish, winback
from tui_agent.core.kinds.base import (
    CustomerFact,
    Facts,
    LineFact,
    Occurrence,
    OrderFact,
    delivered_day,
)
from tui_agent.core.kinds.birthday import birthday_this_year
from tui_agent.core.kinds.winback import winback_days
from tui_agent.core.models import Stage
from tui_agent.core.rules import Cap, Rule, RuleSet

__all__ = [
    "CustomerFact",
    "Facts",
    "LineFact",
    "Occurrence",
    "OrderFact",
    "birthday_this_year",
    "delivered_day",
    "winback_days",
]


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
            back = replenish.offset(c, rule.lead_days)
            result.append(
                (
                    c,
                    today - timedelta(days=back + rules.catch_up_days),
                    today - timedelta(days=back),
                )
            )
    return result


# The kinds' occurrence functions over every rule of a kind (the planner calls each kind
# per rule through ``kinds.OCCURRENCES``; these keep the older call shape for tests).


def after_delivery_occurrences(
    rules: RuleSet, orders: Iterable[OrderFact], today: date
) -> list[Occurrence]:
    facts = Facts(orders=list(orders))
    out: list[Occurrence] = []
    for rule in rules.rules:
        if rule.kind in ("after_delivery", "vip"):
            out += after_delivery.occurrences(rules, rule, facts, today)
    return out


def replenish_occurrences(
    rules: RuleSet, lines: Iterable[LineFact], today: date
) -> list[Occurrence]:
    facts = Facts(lines=list(lines))
    return [
        o for r in rules.of_kind("replenish") for o in replenish.occurrences(rules, r, facts, today)
    ]


def birthday_month_days(rules: RuleSet, today: date) -> set[str]:
    """MM-DD strings of birthdays that may fall due today (the store's indexed look-up)."""
    return {md for r in rules.of_kind("birthday") for md in birthday.month_days(rules, r, today)}


def birthday_occurrences(
    rules: RuleSet, customers: Iterable[CustomerFact], today: date
) -> list[Occurrence]:
    facts = Facts(customers=list(customers))
    return [
        o for r in rules.of_kind("birthday") for o in birthday.occurrences(rules, r, facts, today)
    ]


def winback_occurrences(
    rules: RuleSet, customers: Iterable[CustomerFact], today: date, avg_gap_days: float | None
) -> list[Occurrence]:
    facts = Facts(customers=list(customers), avg_gap_days=avg_gap_days)
    return [
        o for r in rules.of_kind("winback") for o in winback.occurrences(rules, r, facts, today)
    ]


# ---------------------------------------------------------------------------------------------
# Do-not-disturb days


def window_start(rules: RuleSet, today: date) -> date:
    """The first day of today's catch-up window: ``catch_up_days`` allowed days back, so that
    do-not-disturb days in between do not eat the catch-up (without them: today - catch_up)."""
    start, counted = today, 0
    while counted < rules.catch_up_days or start - timedelta(days=1) in rules.quiet_days:
        start -= timedelta(days=1)
        if start not in rules.quiet_days:
            counted += 1
    return start


def lookback_days(rules: RuleSet, today: date) -> int:
    """How far back the kinds must look: to :func:`window_start`, so an occurrence due on a
    do-not-disturb day, or missed before it, is still found."""
    return (today - window_start(rules, today)).days


def settle(rules: RuleSet, occurrences: Iterable[Occurrence], today: date) -> list[Occurrence]:
    """Move each occurrence off do-not-disturb days to the next allowed day, and keep those
    due in today's catch-up window (the kinds were asked with :func:`lookback_days`).
    On a do-not-disturb day itself nothing is due: all of it is found on the next allowed day
    (follow-ups already pending from before stay in the queue)."""
    if today in rules.quiet_days:
        return []
    first = window_start(rules, today)
    out = []
    for o in occurrences:
        due = rules.next_allowed(o.due)
        if not (first <= o.due and due <= today):
            continue
        if due != o.due:
            o = replace(
                o, due=due, text=f"{o.text}; moved from {o.due.isoformat()} (do-not-disturb)"
            )
        out.append(o)
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


def is_service(occurrences: Iterable[Occurrence]) -> bool:
    """A follow-up carrying a service occurrence (care, experience check, review invitation:
    what the order itself entails) is not held back by the frequency cap: the default
    +1/+3/+7 cadence is three touches in 7 days and must happen for a one-time buyer. Other
    occurrences merged into it ride along in the same touch. Service touches still count
    toward the cap for marketing follow-ups."""
    return any(o.rule.service for o in occurrences)


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
    - a customer over the frequency cap gets the follow-up recorded as skipped, with the reason,
      unless the follow-up carries a service touch (:func:`is_service`).
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
                capped=None
                if is_service(occs)
                else cap_reason(cap, touches_24h.get(cid, 0), touches_7d.get(cid, 0)),
            )
        )
    return plan


# ---------------------------------------------------------------------------------------------
# A day the team can finish


@dataclass(frozen=True, slots=True)
class QueueItem:
    """A pending follow-up due today, as the capacity cut sees it."""

    id: int
    due: date
    priority: int  # the leading rule's priority
    value: float  # the customer's total spent
    deferrals: int  # how often it was deferred already
    claimed: bool


def capacity_cut(
    items: Iterable[QueueItem], capacity: int, done_today: int, max_deferrals: int
) -> list[int]:
    """Ids of the follow-ups to defer to tomorrow so that today's work fits ``capacity``.

    Kept first: those deferred ``max_deferrals`` times already (never deferred again, so
    nothing goes stale unseen), claimed ones (an agent is on them), then the oldest due, the
    highest rule priority, the most valuable customer. ``capacity`` 0 means no limit.
    """
    if capacity <= 0:
        return []
    room = max(0, capacity - done_today)
    ranked = sorted(
        items,
        key=lambda i: (
            i.deferrals < max_deferrals,
            not i.claimed,
            i.due,
            -i.priority,
            -i.value,
            i.id,
        ),
    )
    return [i.id for i in ranked[room:] if i.deferrals < max_deferrals and not i.claimed]
