"""The facts query of each rule kind: what one rule needs to know on one day, read through
indexed windows. :data:`FACTS` is keyed like ``core.kinds.OCCURRENCES``; the planner calls
both for each rule (``store.followups``).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import replace
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

FactsQuery = Callable[[sqlite_utils.Database, RuleSet, Rule, date, bool], Facts]
"""``(db, rules, rule, today, live)``. With ``live`` (the planner), a query may leave out
what planning would drop anyway, exactly as ``core.lifecycle.plan_day`` drops it: occurrences
whose key exists already, and occurrences of a chain stopped by a newer order (placed by the
end of ``today``). Without it (the tests' comparison with ``store.reference``), every
occurrence in the window is found."""


def day_start(d: date) -> str:
    return f"{d.isoformat()} 00:00:00"


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
    return with_segments(db, rule, today, _customers_where(db, where, params))


def with_segments(
    db: sqlite_utils.Database, rule: Rule, today: date, customers: list[CustomerFact]
) -> list[CustomerFact]:
    """With ``eligible_segments``: the customers of those segments, each with its segment
    filled (``store.analytics.all_segments``: the stored segments when current, else the same
    scoring in memory); a customer without a segment is left out. Without it: unchanged."""
    if not rule.eligible_segments:
        return customers
    from tui_agent.store.analytics import all_segments  # scoring needs the analytics code

    seg = all_segments(db, today)
    wanted = set(rule.eligible_segments)
    return [
        replace(c, segment=seg[c.customer_id])
        for c in customers
        if seg.get(c.customer_id) in wanted
    ]


# --- each kind ----------------------------------------------------------------------------------


def _live_orders(rule: Rule, today: date, alias: str, key: str) -> tuple[str, list[Any]]:
    """SQL conditions (and parameters) leaving out what planning drops: an occurrence whose
    key (``rule.id:`` + the SQL expression ``key``) exists, and, for a rule that stops on
    repurchase, one anchored on an order placed before the customer's last order as planning
    sees it (``customers.last_order_at``, or when that is after ``today`` the last order
    placed by then: :func:`store.generation.stopped_sql`)."""
    sql = f" AND NOT EXISTS (SELECT 1 FROM follow_up_reasons r WHERE r.key = ? || {key})"
    params: list[Any] = [f"{rule.id}:"]
    if rule.stop_on_repurchase:
        end = day_start(today + timedelta(days=1))
        sql += (
            " AND NOT EXISTS (SELECT 1 FROM customers c WHERE c.customer_id = "
            f"{alias}.customer_id AND c.last_order_at > {alias}.ordered_at AND "
            "(c.last_order_at < ? OR EXISTS (SELECT 1 FROM orders n WHERE n.customer_id = "
            f"{alias}.customer_id AND n.ordered_at > {alias}.ordered_at AND n.ordered_at < ?)))"
        )
        params += [end, end]
    return sql, params


def orders_facts(
    db: sqlite_utils.Database, rules: RuleSet, rule: Rule, today: date, live: bool = False
) -> Facts:
    first, last = after_delivery.window(rules, rule, today)
    live_sql, live_params = _live_orders(rule, today, "o", "o.order_id") if live else ("", [])
    bounds = _delivered_between(first, last, rules.assumed_delivery_days)
    rows = db.execute(
        "SELECT order_id, customer_id, ordered_at, delivered_at, seq FROM orders o "
        f"WHERE delivered_at >= ? AND delivered_at < ?{live_sql} "
        "UNION ALL "
        "SELECT order_id, customer_id, ordered_at, delivered_at, seq FROM orders o "
        f"WHERE ordered_at >= ? AND ordered_at < ? AND +delivered_at IS NULL{live_sql}",
        [*bounds[:2], *live_params, *bounds[2:], *live_params],
    ).fetchall()
    return Facts(
        orders=[
            OrderFact(oid, cid, datetime.fromisoformat(o), from_db_datetime(d), seq)
            for oid, cid, o, d, seq in rows
        ]
    )


_LINE_SELECT = (
    "SELECT l.order_id, o.customer_id, l.line_no, l.product, coalesce(l.category, p.category), "
    "p.cycle_days, o.ordered_at, o.delivered_at, l.sku FROM orders o "
    "JOIN order_lines l ON l.order_id = o.order_id "
    "LEFT JOIN products p ON p.sku = l.sku "
)


def replenish_facts(
    db: sqlite_utils.Database, rules: RuleSet, rule: Rule, today: date, live: bool = False
) -> Facts:
    cycles = {
        int(r[0])
        for r in db.execute("SELECT DISTINCT cycle_days FROM products WHERE cycle_days > 0")
    }
    cycles |= set(rules.category_cycle_days.values())
    live_sql, live_params = (
        _live_orders(rule, today, "o", "o.order_id || ':' || l.line_no") if live else ("", [])
    )
    found: dict[tuple[str, int], LineFact] = {}
    # One window per distinct offset (cycles no longer than the lead share offset 1).
    for back in sorted({replenish.offset(c, rule.lead_days) for c in cycles}):
        first = today - timedelta(days=back + rules.catch_up_days)
        last = today - timedelta(days=back)
        bounds = _delivered_between(first, last, rules.assumed_delivery_days)
        # Live: a line with a product cycle of its own falls due only in its own cycle's
        # window (its other windows' lines are rejected by the kind's function anyway).
        cond = (
            f"{live_sql} AND (p.cycle_days IS NULL OR p.cycle_days <= 0 "
            "OR max(1, p.cycle_days - ?) = ?)"
            if live
            else ""
        )
        cond_params = [*live_params, rule.lead_days, back] if live else []
        rows = db.execute(
            _LINE_SELECT
            + f"WHERE o.delivered_at >= ? AND o.delivered_at < ?{cond} UNION ALL "
            + _LINE_SELECT
            + f"WHERE o.ordered_at >= ? AND o.ordered_at < ? AND +o.delivered_at IS NULL{cond}",
            [*bounds[:2], *cond_params, *bounds[2:], *cond_params],
        ).fetchall()
        for oid, cid, line_no, product, category, cycle, ordered, delivered, _sku in rows:
            found[(oid, line_no)] = LineFact(
                oid,
                cid,
                line_no,
                product,
                category,
                cycle,
                datetime.fromisoformat(ordered),
                from_db_datetime(delivered),
            )
    for ln in own_cycle_facts(db, rules, rule, today, live):
        found[(ln.order_id, ln.line_no)] = ln
    return Facts(lines=list(found.values()))


def own_cycle_facts(
    db: sqlite_utils.Database, rules: RuleSet, rule: Rule, today: date, live: bool = False
) -> list[LineFact]:
    """The lines that carry the customer's own cycle (``own_cycle_min_orders``; none when
    off): they replace the same lines of the windows. Also the set-based generation's source
    (``store.occurrences.replenish_sql``)."""
    if rule.own_cycle_min_orders <= 0:
        return []
    if live and rule.stop_on_repurchase:
        return _own_cycle_current(db, rules, rule, today)
    return _own_cycle_latest(db, rule, today)


def _line_fact(row: Sequence[Any]) -> LineFact:
    oid, cid, line_no, product, category, cycle, ordered, delivered, days_text = row
    days = sorted(date.fromisoformat(d) for d in days_text.split(","))
    gaps = tuple((b - a).days for a, b in itertools.pairwise(days))
    return LineFact(
        oid,
        cid,
        line_no,
        product,
        category,
        cycle,
        datetime.fromisoformat(ordered),
        from_db_datetime(delivered),
        gaps,
    )


def _own_cycle_latest(db: sqlite_utils.Database, rule: Rule, today: date) -> list[LineFact]:
    """:func:`_own_cycle_lines`, from the stored purchase days (``store.purchase_days``) for
    the customers whose every order was placed by the end of ``today``: the products bought
    on at least ``own_cycle_min_orders`` days, each one's line of its last day; the customers
    with an order after ``today`` through :func:`_own_cycle_lines` itself."""
    end = day_start(today + timedelta(days=1))
    rows = db.execute(
        # the customer's column through a scalar look-up (a join builds a bloom filter over
        # every customer first)
        "WITH often AS MATERIALIZED (SELECT d.customer_id AS cid, d.product_key AS k, d.days, "
        "substr(d.days, -10) AS day, (SELECT c.last_order_at FROM customers c "
        "WHERE c.customer_id = d.customer_id) AS last FROM purchase_days d WHERE d.n_days >= ?) "
        "SELECT max(o.ordered_at || printf('%06d', l.line_no)), l.order_id, o.customer_id, "
        "l.line_no, l.product, coalesce(l.category, p.category), p.cycle_days, o.ordered_at, "
        "o.delivered_at, x.days FROM often x CROSS JOIN orders o ON o.customer_id = x.cid "
        "AND o.ordered_at >= x.day AND o.ordered_at < date(x.day, '+1 day') "
        "CROSS JOIN order_lines l ON l.order_id = o.order_id "
        f"LEFT JOIN products p ON p.sku = l.sku WHERE x.last < ? AND {_OWN_KEY} = x.k "
        "GROUP BY x.cid, x.k",
        [rule.own_cycle_min_orders, end],
    ).fetchall()
    found = [_line_fact(r[1:]) for r in rows]
    if db.execute(
        "SELECT EXISTS (SELECT 1 FROM customers WHERE last_order_at >= ?)", [end]
    ).fetchone()[0]:
        found += _own_cycle_lines(db, rule, today, late_only=True)
    return found


def _own_cycle_lines(
    db: sqlite_utils.Database, rule: Rule, today: date, *, late_only: bool = False
) -> list[LineFact]:
    """The latest line of each product a customer bought on at least ``own_cycle_min_orders``
    days, with the gaps between those days (the customer's own cycle). "The same product" is
    the sku, else the category. Grouped in SQL (only the qualifying pairs reach Python); the
    bare columns come from the row of ``max()``, as SQLite documents.

    The reference for :func:`_own_cycle_latest`; with ``late_only``, only the customers with
    an order after ``today``."""
    late = " AND c.last_order_at >= ?" if late_only else ""
    end = day_start(today + timedelta(days=1))
    rows = db.execute(
        "SELECT max(o.ordered_at || printf('%06d', l.line_no)), l.order_id, o.customer_id, "
        "l.line_no, l.product, coalesce(l.category, p.category), p.cycle_days, o.ordered_at, "
        "o.delivered_at, group_concat(DISTINCT substr(o.ordered_at, 1, 10)) "
        "FROM customers c JOIN orders o ON o.customer_id = c.customer_id "
        "JOIN order_lines l ON l.order_id = o.order_id LEFT JOIN products p ON p.sku = l.sku "
        f"WHERE c.order_count >= ?{late} AND o.ordered_at < ? "
        "AND coalesce(l.sku, l.category, p.category) IS NOT NULL "
        "GROUP BY o.customer_id, CASE WHEN l.sku IS NOT NULL THEN 'sku:' || l.sku "
        "ELSE 'cat:' || lower(trim(coalesce(l.category, p.category))) END "
        "HAVING count(DISTINCT substr(o.ordered_at, 1, 10)) >= ?",
        [
            rule.own_cycle_min_orders,
            *([end] if late_only else []),
            end,
            rule.own_cycle_min_orders,
        ],
    ).fetchall()
    return [_line_fact(r[1:]) for r in rows]


def _own_cycle_current(
    db: sqlite_utils.Database, rules: RuleSet, rule: Rule, today: date
) -> list[LineFact]:
    """:func:`_own_cycle_live`'s lines, read from the stored purchase days for the customers
    whose every order was placed by the end of ``today`` (the stored days are then exactly
    the days planning counts); the customers with an order after it (``--today`` in the
    past) go through :func:`_own_cycle_live` itself."""
    found = _own_cycle_stored(db, rules, rule, today)
    end = day_start(today + timedelta(days=1))
    if db.execute(
        "SELECT EXISTS (SELECT 1 FROM customers WHERE last_order_at >= ?)", [end]
    ).fetchone()[0]:
        found += _own_cycle_live(db, rules, rule, today, late_only=True)
    return found


def _own_cycle_params(rules: RuleSet, rule: Rule, today: date) -> dict[str, Any]:
    n = rule.own_cycle_min_orders
    return {
        "end": day_start(today + timedelta(days=1)),
        "n": n,
        "rule": f"{rule.id}:",
        "assumed": rules.assumed_delivery_days,
        "today": today.isoformat(),
        "first": (today - timedelta(days=rules.catch_up_days)).isoformat(),
        "halves": max(1, (n - 1) // 2 + 1),
        "longest": max(rules.category_cycle_days.values(), default=0),
        "lead": rule.lead_days,
    }


# The delivery day (or the assumed one) of candidate ``x``, as a julian day number.
_OWN_DDAY = (
    "julianday(coalesce(substr(o.delivered_at, 1, 10), "
    "date(o.ordered_at, '+' || :assumed || ' days'))) AS dday"
)

# What planning would drop of candidate ``x`` (its line ``l``, product ``p``): a key
# already written, and a reminder outside the window (see :func:`_own_cycle_live`).
_OWN_REACH = (
    "WHERE NOT EXISTS (SELECT 1 FROM follow_up_reasons f "
    "WHERE f.key = :rule || x.order_id || ':' || x.line_no) "
    # the reminder's reach: at least a day after delivery, at most the bound
    "AND x.dday <= julianday(:today) - 1 AND (x.first_at IS NULL "
    "OR x.dday + max(1, max((julianday(substr(x.ordered_at, 1, 10)) "
    "- julianday(substr(x.first_at, 1, 10))) / :halves, "
    "CASE WHEN p.cycle_days IS NOT NULL AND p.cycle_days != 0 THEN p.cycle_days "
    "ELSE :longest END) + 0.5 - :lead) >= julianday(:first))"
)

_OWN_KEY = (
    "CASE WHEN l.sku IS NOT NULL THEN 'sku:' || l.sku "
    "ELSE 'cat:' || lower(trim(coalesce(l.category, p.category))) END"
)


def _own_cycle_stored(
    db: sqlite_utils.Database, rules: RuleSet, rule: Rule, today: date
) -> list[LineFact]:
    """:func:`_own_cycle_live` for the customers whose last order was placed by the end of
    ``today``, from ``purchase_days`` (``store.purchase_days``): the products bought on at
    least ``own_cycle_min_orders`` days whose last day is the customer's last order's, then
    that order's line of the product (the latest of them: planning counts from the last
    order on), a few indexed reads each."""
    rows = db.execute(
        # the customer's columns through scalar look-ups: a join makes SQLite build a bloom
        # filter over every customer first (15 ms at 200k customers)
        "WITH often AS MATERIALIZED (SELECT d.customer_id AS cid, d.product_key AS k, d.days, "
        "(SELECT c.last_order_at FROM customers c WHERE c.customer_id = d.customer_id) AS last "
        "FROM purchase_days d WHERE d.n_days >= :n), "
        # only a product of the last order's day can be in the last order
        "pair AS MATERIALIZED (SELECT * FROM often "
        "WHERE last < :end AND substr(days, -10) = substr(last, 1, 10)), "
        "cand AS MATERIALIZED (SELECT max(o.ordered_at || printf('%06d', l.line_no)), "
        "l.order_id, o.customer_id, l.line_no, o.ordered_at, o.delivered_at, x.days, "
        f"{_OWN_DDAY} FROM pair x "
        "CROSS JOIN orders o ON o.customer_id = x.cid AND o.ordered_at = x.last "
        "CROSS JOIN order_lines l ON l.order_id = o.order_id "
        f"LEFT JOIN products p ON p.sku = l.sku WHERE {_OWN_KEY} = x.k GROUP BY x.cid, x.k) "
        "SELECT x.order_id, x.customer_id, x.line_no, l.product, "
        "coalesce(l.category, p.category), p.cycle_days, x.ordered_at, x.delivered_at, x.days "
        "FROM (SELECT *, (SELECT c.first_order_at FROM customers c "
        "WHERE c.customer_id = cand.customer_id) AS first_at FROM cand) x "
        "JOIN order_lines l ON l.order_id = x.order_id AND l.line_no = x.line_no "
        f"LEFT JOIN products p ON p.sku = l.sku {_OWN_REACH}",
        _own_cycle_params(rules, rule, today),
    ).fetchall()
    return [_line_fact(r) for r in rows]


def _own_cycle_live(
    db: sqlite_utils.Database,
    rules: RuleSet,
    rule: Rule,
    today: date,
    *,
    late_only: bool = False,
) -> list[LineFact]:
    """What :func:`_own_cycle_lines` finds that planning keeps, for a rule that stops on
    repurchase, without grouping every repeat customer's whole history.

    Planning drops a chain anchored on an order placed before the customer's last order (as
    :func:`store.followups._facts_for` sees it: ``last_order_at``, or when that is after
    ``today`` the last order placed by then). So only the products of the orders from that
    moment on can count, and the latest line of such a product is among them: those lines
    are found first, then each one's days in the customer's history (an indexed look-up
    per line), and the keys already written are left out.

    Before that look-up, a line whose reminder cannot fall in today's window is left out by
    a bound on its cycle: the median of ``k`` gaps is at most their sum over ``k // 2 + 1``
    (that many gaps are at least the median), the sum at most the days from the customer's
    first order to this one, ``k >= own_cycle_min_orders - 1``; the own cycle, a weighted
    mean of the median and the base cycle rounded, is at most the larger of the two plus
    a half; the base at most the product's cycle, else the longest category default.

    The reference for :func:`_own_cycle_stored`, which generation uses instead; it still
    reads, with ``late_only``, the customers with an order after ``today``.
    """
    same = (
        "CASE WHEN l.sku IS NOT NULL THEN l2.sku = l.sku ELSE l2.sku IS NULL AND "
        "lower(trim(l2.category)) = lower(trim(coalesce(l.category, p.category))) END"
    )
    late = " AND c.last_order_at >= :end" if late_only else ""
    rows = db.execute(
        # the moment planning counts from ('' when the customer has no last order: nothing
        # is stopped, every order counts)
        "WITH last AS MATERIALIZED (SELECT c.customer_id AS cid, CASE "
        "WHEN c.last_order_at IS NULL THEN '' WHEN c.last_order_at < :end THEN c.last_order_at "
        "ELSE (SELECT max(m.ordered_at) FROM orders m WHERE m.customer_id = c.customer_id "
        "AND m.ordered_at < :end) END AS at, c.first_order_at AS first_at "
        f"FROM customers c WHERE c.order_count >= :n{late}), "
        # each product's latest line from then on (the bare columns come from max()'s row)
        "cand AS MATERIALIZED (SELECT max(o.ordered_at || printf('%06d', l.line_no)), "
        "l.order_id, o.customer_id, l.line_no, o.ordered_at, o.delivered_at, last.first_at, "
        f"{_OWN_DDAY} "
        "FROM last JOIN orders o ON o.customer_id = last.cid AND o.ordered_at >= last.at "
        "AND o.ordered_at < :end JOIN order_lines l ON l.order_id = o.order_id "
        "LEFT JOIN products p ON p.sku = l.sku "
        "WHERE coalesce(l.sku, l.category, p.category) IS NOT NULL "
        "GROUP BY o.customer_id, CASE WHEN l.sku IS NOT NULL THEN 'sku:' || l.sku "
        "ELSE 'cat:' || lower(trim(coalesce(l.category, p.category))) END), "
        "found AS MATERIALIZED (SELECT x.order_id, x.customer_id, x.line_no, l.product, "
        "coalesce(l.category, p.category), p.cycle_days, x.ordered_at, x.delivered_at, "
        "(SELECT group_concat(DISTINCT substr(o2.ordered_at, 1, 10)) FROM orders o2 "
        "JOIN order_lines l2 ON l2.order_id = o2.order_id "
        f"WHERE o2.customer_id = x.customer_id AND o2.ordered_at < :end AND {same}) AS days "
        "FROM cand x JOIN order_lines l ON l.order_id = x.order_id AND l.line_no = x.line_no "
        f"LEFT JOIN products p ON p.sku = l.sku {_OWN_REACH}) "
        # at least n distinct days: n dates of 10 characters and n - 1 commas
        "SELECT * FROM found WHERE length(days) >= 11 * :n - 1",
        _own_cycle_params(rules, rule, today),
    ).fetchall()
    return [_line_fact(r) for r in rows]


def birthday_facts(
    db: sqlite_utils.Database, rules: RuleSet, rule: Rule, today: date, live: bool = False
) -> Facts:
    days = sorted(birthday.month_days(rules, rule, today))
    # converting days to the lunar calendar takes a while: only when a customer has one
    has_lunar = db.execute(
        "SELECT EXISTS (SELECT 1 FROM customers WHERE lunar_birthday > '')"
    ).fetchone()[0]
    lunar = sorted(birthday.lunar_keys(rules, rule, today)) if has_lunar else []
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


def winback_facts(
    db: sqlite_utils.Database, rules: RuleSet, rule: Rule, today: date, live: bool = False
) -> Facts:
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


def holiday_facts(
    db: sqlite_utils.Database, rules: RuleSet, rule: Rule, today: date, live: bool = False
) -> Facts:
    if not holiday.due_greetings(rules, rule, today):
        return Facts()
    return Facts(customers=_eligible_customers(db, rule, today))


def member_day_facts(
    db: sqlite_utils.Database, rules: RuleSet, rule: Rule, today: date, live: bool = False
) -> Facts:
    if not member_day.due_days(rules, rule, today):
        return Facts()
    return Facts(customers=_eligible_customers(db, rule, today))


def periodic_facts(
    db: sqlite_utils.Database, rules: RuleSet, rule: Rule, today: date, live: bool = False
) -> Facts:
    first, last = periodic.first_order_window(rules, rule, today)
    customers = _customers_where(
        db,
        "first_order_at >= ? AND first_order_at < ?",
        [day_start(first), day_start(last + timedelta(days=1))],
    )
    return Facts(customers=with_segments(db, rule, today, customers))


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
