"""The slow reference for generation: every fact loaded whole, every kind's pure function.

Used by the tests (the indexed windows of ``store.facts`` and the SQL of ``store.generation``
must find and write exactly what this finds and plans) and by the queue benchmark's baseline.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import TypeVar

import sqlite_utils

from tui_agent.core import lifecycle as lc
from tui_agent.core.dates import from_db_date, from_db_datetime, to_db
from tui_agent.core.kinds import OCCURRENCES
from tui_agent.core.rules import RuleSet
from tui_agent.store.facts import avg_gap_days
from tui_agent.store.followups import touch_counts
from tui_agent.store.generation import GenerateResult, look_back, write_day

T = TypeVar("T")


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


# ---------------------------------------------------------------------------------------------
# The reference planner: the day planned in Python (``core.lifecycle.plan_day``), the way
# generation worked before it moved to SQL (``store.generation``), which must write the same.


def reference_generate(
    db: sqlite_utils.Database, today: date, rules: RuleSet, *, now: datetime | None = None
) -> GenerateResult:
    """``store.generation.generate`` the slow way: the occurrences of
    :func:`reference_occurrences`, planned by ``plan_day`` and written row by row."""
    stamp = to_db(now or datetime.now())
    assert stamp is not None
    found = reference_occurrences(db, look_back(db, today, rules), today)

    def write(
        db: sqlite_utils.Database, today: date, rules: RuleSet, stamp: str
    ) -> tuple[int, int, int]:
        return _write_plan(db, _plan(db, today, rules, found), rules, stamp)

    return write_day(db, today, rules, stamp, now, write)


def _chunks(items: Sequence[T], size: int = 500) -> Iterator[Sequence[T]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _facts_for(
    db: sqlite_utils.Database, ids: Sequence[str], today: date
) -> dict[str, lc.CustomerFact]:
    """What planning needs of each customer (``opt_out`` and ``last_order_at``) as of the end
    of ``today``: when planning a past day, a later order had not happened yet."""
    facts: dict[str, lc.CustomerFact] = {}
    for chunk in _chunks(ids):
        marks = ",".join("?" * len(chunk))
        for cid, opt, last in db.execute(
            f"SELECT customer_id, opt_out, last_order_at FROM customers "
            f"WHERE customer_id IN ({marks})",
            list(chunk),
        ):
            facts[cid] = lc.CustomerFact(cid, bool(opt), from_db_datetime(last))
    tomorrow = datetime.combine(today + timedelta(days=1), datetime.min.time())
    for cid, fact in list(facts.items()):
        if fact.last_order_at and fact.last_order_at >= tomorrow:
            found = db.execute(
                "SELECT max(ordered_at) FROM orders WHERE customer_id = ? AND ordered_at < ?",
                [cid, to_db(tomorrow)],
            ).fetchone()[0]
            facts[cid] = replace(fact, last_order_at=from_db_datetime(found))
    return facts


def _existing_keys(db: sqlite_utils.Database, keys: Sequence[str]) -> set[str]:
    out: set[str] = set()
    for chunk in _chunks(keys):
        marks = ",".join("?" * len(chunk))
        out.update(
            r[0]
            for r in db.execute(
                f"SELECT key FROM follow_up_reasons WHERE key IN ({marks})", list(chunk)
            )
        )
    return out


def _open_follow_ups(db: sqlite_utils.Database, ids: Sequence[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for chunk in _chunks(ids):
        marks = ",".join("?" * len(chunk))
        for cid, fid in db.execute(
            f"SELECT customer_id, min(id) FROM follow_ups WHERE status IN ('pending', 'snoozed') "
            f"AND stage != 'campaign' AND customer_id IN ({marks}) GROUP BY customer_id",
            list(chunk),
        ):
            out[cid] = fid
    return out


def _plan(
    db: sqlite_utils.Database, today: date, rules: RuleSet, found: list[lc.Occurrence]
) -> lc.Plan:
    ids = sorted({o.customer_id for o in found})
    c24, c7 = touch_counts(db, ids, datetime.combine(today, datetime.min.time()))
    return lc.plan_day(
        found,
        customers=_facts_for(db, ids, today),
        existing_keys=_existing_keys(db, [o.key for o in found]),
        pending=_open_follow_ups(db, ids),
        touches_24h=c24,
        touches_7d=c7,
        cap=rules.cap,
    )


def _write_plan(
    db: sqlite_utils.Database, plan: lc.Plan, rules: RuleSet, stamp: str
) -> tuple[int, int, int]:
    first = db.execute("SELECT coalesce(max(id), 0) + 1 FROM follow_ups").fetchone()[0]
    for fid, n in enumerate(plan.new, start=first):
        db.execute(
            "INSERT INTO follow_ups (id, customer_id, stage, rule, suggested_tags, due_date, "
            "status, status_reason, order_id, created_at, updated_at) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            [
                fid,
                n.customer_id,
                n.stage.value,
                n.rule.id,
                ",".join(n.tags),
                n.due.isoformat(),
                "skipped" if n.capped else "pending",
                n.capped,
                n.order_id,
                stamp,
                stamp,
            ],
        )
        _insert_reasons(db, fid, n.occurrences)
    for merge in plan.merges:
        _merge_into(db, merge, rules, stamp)
    return len(plan.new), sum(bool(n.capped) for n in plan.new), len(plan.merges)


def _insert_reasons(
    db: sqlite_utils.Database, fid: int, occurrences: Sequence[lc.Occurrence]
) -> None:
    for o in occurrences:
        db.execute(
            "INSERT INTO follow_up_reasons (key, follow_up_id, rule, text, order_id, product, "
            "category, delivery_assumed) VALUES (?,?,?,?,?,?,?,?)",
            [o.key, fid, o.rule.id, o.text, o.order_id, o.product, o.category, o.delivery_assumed],
        )


def _merge_into(db: sqlite_utils.Database, merge: lc.Merge, rules: RuleSet, stamp: str) -> None:
    row = db.execute(
        "SELECT rule, suggested_tags FROM follow_ups WHERE id = ?", [merge.follow_up_id]
    ).fetchone()
    current = rules.by_id(row[0])
    tags = [t for t in row[1].split(",") if t]
    lead = merge.occurrences[0]
    for o in merge.occurrences:
        tags.extend(t for t in o.rule.tags if t not in tags)
    if current is None or lead.rule.priority > current.priority:
        db.execute(
            "UPDATE follow_ups SET rule = ?, stage = ?, order_id = ?, suggested_tags = ?, "
            "updated_at = ? WHERE id = ?",
            [
                lead.rule.id,
                lead.rule.stage.value,
                lead.order_id,
                ",".join(tags),
                stamp,
                merge.follow_up_id,
            ],
        )
    else:
        db.execute(
            "UPDATE follow_ups SET suggested_tags = ?, updated_at = ? WHERE id = ?",
            [",".join(tags), stamp, merge.follow_up_id],
        )
    _insert_reasons(db, merge.follow_up_id, merge.occurrences)
