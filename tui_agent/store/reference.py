"""The slow reference for generation: every fact loaded whole, every kind's pure function.

Used by the tests (the indexed windows of ``store.facts`` must find exactly what this finds)
and by the queue benchmark's baseline; a set-based rewrite of generation compares with it.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import replace
from datetime import date

import sqlite_utils

from tui_agent.core import lifecycle as lc
from tui_agent.core.dates import from_db_date, from_db_datetime
from tui_agent.core.kinds import OCCURRENCES
from tui_agent.core.rules import RuleSet
from tui_agent.store.facts import avg_gap_days


def reference_keys(db: sqlite_utils.Database, rules: RuleSet, today: date) -> set[str]:
    """The keys of every occurrence due in ``today``'s catch-up window, found the slow way:
    every order, line and customer loaded whole, every rule's pure occurrence function
    (``core.kinds``) run over all of them, no index, no window. ``store.followups`` reads
    through indexed windows and must find exactly these (tests/store/test_reference.py)."""
    return {o.key for o in reference_occurrences(db, rules, today)}


def reference_occurrences(
    db: sqlite_utils.Database, rules: RuleSet, today: date
) -> list[lc.Occurrence]:
    """The occurrences behind :func:`reference_keys` (texts included): what a planner fed
    by the slow way plans, generation must write (tests/store/test_generate_identical.py)."""
    orders = [
        lc.OrderFact(oid, cid, from_db_datetime(o), from_db_datetime(d), seq)  # type: ignore[arg-type]
        for oid, cid, o, d, seq in db.execute(
            "SELECT order_id, customer_id, ordered_at, delivered_at, seq FROM orders"
        )
    ]
    lines = [
        lc.LineFact(oid, cid, n, prod, cat, cyc, from_db_datetime(o), from_db_datetime(d))  # type: ignore[arg-type]
        for oid, cid, n, prod, cat, cyc, o, d, _sku in db.execute(
            "SELECT l.order_id, o.customer_id, l.line_no, l.product, "
            "coalesce(l.category, p.category), p.cycle_days, o.ordered_at, o.delivered_at, l.sku "
            "FROM order_lines l JOIN orders o ON o.order_id = l.order_id "
            "LEFT JOIN products p ON p.sku = l.sku ORDER BY o.ordered_at, l.line_no"
        )
    ]
    skus = dict(
        ((oid, n), sku)
        for oid, n, sku in db.execute("SELECT order_id, line_no, sku FROM order_lines")
    )
    own_lines = _with_own_gaps(lines, skus, rules)
    last_order: dict[str, str] = {}
    for cid, oid in db.execute("SELECT customer_id, order_id FROM orders ORDER BY ordered_at"):
        last_order[cid] = oid
    customers = []
    for cid, opt, last, bday, lunar, tier, tags, first in db.execute(
        "SELECT customer_id, opt_out, last_order_at, birthday, lunar_birthday, tier, tags, "
        "first_order_at FROM customers"
    ):
        born = None
        if bday:
            try:
                born = (
                    date(2000, int(bday[5:7]), int(bday[8:10]))
                    if str(bday).startswith("0000")
                    else from_db_date(bday)
                )
            except ValueError:
                born = None
        customers.append(
            lc.CustomerFact(
                cid,
                bool(opt),
                from_db_datetime(last),
                born,
                last_order.get(cid),
                lunar,
                tier,
                tuple(t for t in (tags or "").split(",") if t),
                from_db_datetime(first),
            )
        )
    if any(r.eligible_segments for r in rules.rules):
        from tui_agent.store.analytics import all_segments  # scoring needs the analytics code

        seg = all_segments(db, today)
        customers = [replace(c, segment=seg.get(c.customer_id)) for c in customers]
    wide = replace(rules, catch_up_days=lc.lookback_days(rules, today))
    occ = []
    for rule in rules.rules:
        facts = lc.Facts(
            orders=orders,
            lines=own_lines if rule.own_cycle_min_orders else lines,
            customers=customers,
            avg_gap_days=avg_gap_days(db),
        )
        occ += OCCURRENCES[rule.kind](wide, rule, facts, today)
    return lc.settle(rules, occ, today)


def _with_own_gaps(
    lines: list[lc.LineFact], skus: dict[tuple[str, int], str | None], rules: RuleSet
) -> list[lc.LineFact]:
    """The lines, the latest of each (customer, sku else category) carrying the customer's
    gaps between the days they bought it."""
    n = max((r.own_cycle_min_orders for r in rules.of_kind("replenish")), default=0)
    if not n:
        return lines
    days: dict[tuple[str, str], list[date]] = defaultdict(list)
    latest: dict[tuple[str, str], int] = {}
    for i, ln in enumerate(lines):  # in order of time
        sku = skus.get((ln.order_id, ln.line_no))
        key = f"sku:{sku}" if sku else (f"cat:{ln.category.strip().lower()}" if ln.category else "")
        if not key:
            continue
        d = ln.ordered_at.date()
        if d not in days[(ln.customer_id, key)]:
            days[(ln.customer_id, key)].append(d)
        latest[(ln.customer_id, key)] = i
    out = list(lines)
    for pair, i in latest.items():
        ds = sorted(days[pair])
        if len(ds) >= n:
            gaps = tuple((b - a).days for a, b in itertools.pairwise(ds))
            out[i] = replace(out[i], own_gaps=gaps)
    return out
