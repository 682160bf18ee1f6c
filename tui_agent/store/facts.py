"""The facts query of each rule kind: what one rule needs to know on one day, read through
indexed windows. :data:`FACTS` is keyed like ``core.kinds.OCCURRENCES``; the planner calls
both for each rule (``store.followups``).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

import sqlite_utils

from tui_agent.core.dates import from_db_date, from_db_datetime
from tui_agent.core.kinds import after_delivery, birthday, holiday, member_day, periodic, replenish
from tui_agent.core.kinds.base import CustomerFact, Facts, LineFact, OrderFact
from tui_agent.core.kinds.winback import winback_days
from tui_agent.core.rules import Rule, RuleSet
from tui_agent.store.db import get_meta
from tui_agent.store.predictions import low_p_alive_customers

FactsQuery = Callable[[sqlite_utils.Database, RuleSet, Rule, date], Facts]


def day_start(d: date) -> str:
    return f"{d.isoformat()} 00:00:00"


def _dt(text: str) -> datetime:
    value = from_db_datetime(text)
    assert value is not None
    return value


def _delivered_between(first: date, last: date, assumed_days: int) -> list[str]:
    """Parameters for "delivered in [first, last]" (or ordered ``assumed_days`` earlier when
    the order has no delivery time), as the two halves of the UNION the queries use."""
    assumed = timedelta(days=assumed_days)
    return [
        day_start(first),
        day_start(last + timedelta(days=1)),
        day_start(first - assumed),
        day_start(last - assumed + timedelta(days=1)),
    ]


# --- customers --------------------------------------------------------------------------------

CUSTOMER_SQL = (
    "SELECT customer_id, opt_out, last_order_at, birthday, NULL, lunar_birthday, tier, tags, "
    "first_order_at FROM customers"
)


def customer_fact(row: Sequence[Any]) -> CustomerFact:
    cid, opt_out, last_order_at, bday_text, last_oid, lunar_bd, tier, tags, first = row[:9]
    bday = None
    if bday_text:
        text = str(bday_text)
        try:
            # year unknown (stored 0000-MM-DD): any leap year keeps the month-day, 29 Feb too
            bday = (
                date(2000, int(text[5:7]), int(text[8:10]))
                if text.startswith("0000")
                else (from_db_date(text))
            )
        except ValueError:
            bday = None
    return CustomerFact(
        cid,
        bool(opt_out),
        from_db_datetime(last_order_at),
        bday,
        last_oid,
        lunar_bd or None,
        tier,
        tuple(t for t in (tags or "").split(",") if t),
        from_db_datetime(first),
    )


def facts_for(
    db: sqlite_utils.Database, ids: Sequence[str], chunk: int = 500
) -> dict[str, CustomerFact]:
    out: dict[str, CustomerFact] = {}
    for i in range(0, len(ids), chunk):
        part = list(ids[i : i + chunk])
        marks = ",".join("?" * len(part))
        for r in db.execute(f"{CUSTOMER_SQL} WHERE customer_id IN ({marks})", part):
            out[r[0]] = customer_fact(r)
    return out


def _customers_where(
    db: sqlite_utils.Database, where: str, params: list[Any]
) -> list[CustomerFact]:
    return [customer_fact(r) for r in db.execute(f"{CUSTOMER_SQL} WHERE {where}", params)]


def _eligible_customers(db: sqlite_utils.Database, rule: Rule, today: date) -> list[CustomerFact]:
    where, params = "1", []
    if rule.active_within_days:
        where = "last_order_at >= ?"
        params = [day_start(today - timedelta(days=rule.active_within_days))]
    if rule.eligible_tiers:
        where += " AND tier IS NOT NULL AND tier != ''"
    return _customers_where(db, where, params)


# --- each kind ----------------------------------------------------------------------------------


def orders_facts(db: sqlite_utils.Database, rules: RuleSet, rule: Rule, today: date) -> Facts:
    first, last = after_delivery.window(rules, rule, today)
    rows = db.execute(
        "SELECT order_id, customer_id, ordered_at, delivered_at, seq FROM orders "
        "WHERE delivered_at >= ? AND delivered_at < ? "
        "UNION ALL "
        "SELECT order_id, customer_id, ordered_at, delivered_at, seq FROM orders "
        "WHERE ordered_at >= ? AND ordered_at < ? AND delivered_at IS NULL",
        _delivered_between(first, last, rules.assumed_delivery_days),
    ).fetchall()
    return Facts(
        orders=[
            OrderFact(oid, cid, _dt(o), from_db_datetime(d), seq) for oid, cid, o, d, seq in rows
        ]
    )


_LINE_SELECT = (
    "SELECT l.order_id, o.customer_id, l.line_no, l.product, coalesce(l.category, p.category), "
    "p.cycle_days, o.ordered_at, o.delivered_at, l.sku FROM orders o "
    "JOIN order_lines l ON l.order_id = o.order_id "
    "LEFT JOIN products p ON p.sku = l.sku "
)


def replenish_facts(db: sqlite_utils.Database, rules: RuleSet, rule: Rule, today: date) -> Facts:
    cycles = {
        int(r[0])
        for r in db.execute("SELECT DISTINCT cycle_days FROM products WHERE cycle_days > 0")
    }
    cycles |= set(rules.category_cycle_days.values())
    found: dict[tuple[str, int], LineFact] = {}
    for c in sorted(cycles):
        back = replenish.offset(c, rule.lead_days)
        first = today - timedelta(days=back + rules.catch_up_days)
        last = today - timedelta(days=back)
        rows = db.execute(
            _LINE_SELECT
            + "WHERE o.delivered_at >= ? AND o.delivered_at < ? UNION ALL "
            + _LINE_SELECT
            + "WHERE o.ordered_at >= ? AND o.ordered_at < ? AND o.delivered_at IS NULL",
            _delivered_between(first, last, rules.assumed_delivery_days),
        ).fetchall()
        for oid, cid, line_no, product, category, cycle, ordered, delivered, _sku in rows:
            found[(oid, line_no)] = LineFact(
                oid,
                cid,
                line_no,
                product,
                category,
                cycle,
                _dt(ordered),
                from_db_datetime(delivered),
            )
    if rule.own_cycle_min_orders > 0:
        for ln in _own_cycle_lines(db, rule, today):
            found[(ln.order_id, ln.line_no)] = ln
    return Facts(lines=list(found.values()))


def _own_cycle_lines(db: sqlite_utils.Database, rule: Rule, today: date) -> list[LineFact]:
    """The latest line of each product a customer bought on at least ``own_cycle_min_orders``
    days, with the gaps between those days (the customer's own cycle). "The same product" is
    the sku, else the category. Grouped in SQL (only the qualifying pairs reach Python); the
    bare columns come from the row of ``max()``, as SQLite documents."""
    rows = db.execute(
        "SELECT max(o.ordered_at || printf('%06d', l.line_no)), l.order_id, o.customer_id, "
        "l.line_no, l.product, coalesce(l.category, p.category), p.cycle_days, o.ordered_at, "
        "o.delivered_at, group_concat(DISTINCT substr(o.ordered_at, 1, 10)) "
        "FROM customers c JOIN orders o ON o.customer_id = c.customer_id "
        "JOIN order_lines l ON l.order_id = o.order_id LEFT JOIN products p ON p.sku = l.sku "
        "WHERE c.order_count >= ? AND o.ordered_at < ? "
        "AND coalesce(l.sku, l.category, p.category) IS NOT NULL "
        "GROUP BY o.customer_id, CASE WHEN l.sku IS NOT NULL THEN 'sku:' || l.sku "
        "ELSE 'cat:' || lower(trim(coalesce(l.category, p.category))) END "
        "HAVING count(DISTINCT substr(o.ordered_at, 1, 10)) >= ?",
        [
            rule.own_cycle_min_orders,
            day_start(today + timedelta(days=1)),
            rule.own_cycle_min_orders,
        ],
    ).fetchall()
    out = []
    for _mx, oid, cid, line_no, product, category, cycle, ordered, delivered, days_text in rows:
        days = sorted(date.fromisoformat(d) for d in days_text.split(","))
        gaps = tuple((b - a).days for a, b in itertools.pairwise(days))
        out.append(
            LineFact(
                oid,
                cid,
                line_no,
                product,
                category,
                cycle,
                _dt(ordered),
                from_db_datetime(delivered),
                gaps,
            )
        )
    return out


def birthday_facts(db: sqlite_utils.Database, rules: RuleSet, rule: Rule, today: date) -> Facts:
    days = sorted(birthday.month_days(rules, rule, today))
    lunar = sorted(birthday.lunar_keys(rules, rule, today))
    marks, lmarks = ",".join("?" * len(days)), ",".join("?" * len(lunar))
    return Facts(
        customers=_customers_where(
            db,
            f"birth_md IN ({marks}) UNION ALL {CUSTOMER_SQL} WHERE lunar_birthday IN ({lmarks})",
            [*days, *lunar],
        )
    )


def avg_gap_days(db: sqlite_utils.Database) -> float | None:
    """The shop's average days between a customer's orders, as kept by the importer."""
    value = get_meta(db, "avg_gap_days")
    try:
        return float(value) if value else None
    except ValueError:
        return None


def winback_facts(db: sqlite_utils.Database, rules: RuleSet, rule: Rule, today: date) -> Facts:
    gap = avg_gap_days(db)
    days = winback_days(rule, gap)
    first = today - timedelta(days=days + rules.catch_up_days)
    last = today - timedelta(days=days)
    rows = db.execute(
        "SELECT c.customer_id, c.opt_out, c.last_order_at, c.birthday, "
        "(SELECT order_id FROM orders o WHERE o.customer_id = c.customer_id "
        " ORDER BY o.ordered_at DESC LIMIT 1), c.lunar_birthday, c.tier, c.tags, c.first_order_at "
        "FROM customers c WHERE c.last_order_at >= ? AND c.last_order_at < ?",
        [day_start(first), day_start(last + timedelta(days=1))],
    ).fetchall()
    customers = [customer_fact(r) for r in rows]
    low: frozenset[str] = frozenset()
    if rule.p_alive_below > 0:  # the BTYD trigger (rules.toml p_alive_below)
        low = frozenset(low_p_alive_customers(db, rule.p_alive_below))
        seen = {c.customer_id for c in customers}
        extra = sorted(low - seen)
        for i in range(0, len(extra), 500):
            part = extra[i : i + 500]
            marks = ",".join("?" * len(part))
            customers += [
                customer_fact(r)
                for r in db.execute(
                    "SELECT c.customer_id, c.opt_out, c.last_order_at, c.birthday, "
                    "(SELECT order_id FROM orders o WHERE o.customer_id = c.customer_id "
                    " ORDER BY o.ordered_at DESC LIMIT 1), c.lunar_birthday, c.tier, c.tags, "
                    f"c.first_order_at FROM customers c WHERE c.customer_id IN ({marks})",
                    part,
                )
            ]
    return Facts(customers=customers, avg_gap_days=gap, low_p_alive=low)


def holiday_facts(db: sqlite_utils.Database, rules: RuleSet, rule: Rule, today: date) -> Facts:
    if not holiday.due_greetings(rules, rule, today):
        return Facts()
    return Facts(customers=_eligible_customers(db, rule, today))


def member_day_facts(db: sqlite_utils.Database, rules: RuleSet, rule: Rule, today: date) -> Facts:
    if not member_day.due_days(rules, rule, today):
        return Facts()
    return Facts(customers=_eligible_customers(db, rule, today))


def periodic_facts(db: sqlite_utils.Database, rules: RuleSet, rule: Rule, today: date) -> Facts:
    first, last = periodic.first_order_window(rules, rule, today)
    return Facts(
        customers=_customers_where(
            db,
            "first_order_at >= ? AND first_order_at < ?",
            [day_start(first), day_start(last + timedelta(days=1))],
        )
    )


FACTS: dict[str, FactsQuery] = {
    "after_delivery": orders_facts,
    "vip": orders_facts,
    "replenish": replenish_facts,
    "birthday": birthday_facts,
    "winback": winback_facts,
    "holiday": holiday_facts,
    "member_day": member_day_facts,
    "periodic": periodic_facts,
}
