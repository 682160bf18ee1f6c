"""The heavy rule kinds' occurrences in SQL: one ``INSERT ... SELECT`` into ``_occ`` per rule.

Each writes exactly what its pure function in ``core.kinds`` returns for the facts its query
in ``store.facts`` reads with ``live`` (the same windows, the same conditions): key, due day,
text, order, anchor, product. The pure functions are the reference: the tests compare both
(tests/store/test_generate_identical.py: the whole generation with the slow planner).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import partial
from typing import Any

import sqlite_utils

from tui_agent.core.kinds import after_delivery, replenish
from tui_agent.core.kinds.base import Facts
from tui_agent.core.kinds.winback import winback_days
from tui_agent.core.rules import Rule, RuleSet
from tui_agent.store.facts import _delivered_between, avg_gap_days, day_start
from tui_agent.store.generation import SqlKind, stopped_sql

_INTO = (
    "INSERT INTO _occ (key, customer_id, ri, due, text, order_id, anchor, product, category, "
    "assumed, checked) "
)


def kept_sql(rule: Rule, today: date, key: str, alias: str = "o") -> tuple[str, dict[str, Any]]:
    """SQL conditions (and their named parameters) on ``alias`` leaving out what planning drops,
    as ``core.lifecycle.plan_day`` drops it: an occurrence whose key (``rule.id:`` + the SQL
    expression ``key``) exists, a customer who opted out, and for a rule that stops on
    repurchase a chain stopped by a newer order (``generation.stopped_sql``)."""
    stopped = ""
    if rule.stop_on_repurchase:
        stopped = f" AND NOT {stopped_sql(day_start(today + timedelta(days=1)), alias)}"
    sql = (
        f" AND NOT EXISTS (SELECT 1 FROM follow_up_reasons r WHERE r.key = :prefix || {key}) "
        f"AND EXISTS (SELECT 1 FROM customers c WHERE c.customer_id = {alias}.customer_id "
        f"AND NOT c.opt_out{stopped})"
    )
    return sql, {"prefix": f"{rule.id}:"}


def after_delivery_sql(
    db: sqlite_utils.Database, rules: RuleSet, rule: Rule, ri: int, today: date
) -> None:
    """``kinds.after_delivery`` (and ``vip``) over ``facts.orders_facts``'s window."""
    first, last = after_delivery.window(rules, rule, today)
    kept, kept_params = kept_sql(rule, today, "o.order_id")
    d0, d1, o0, o1 = _delivered_between(first, last, rules.assumed_delivery_days)
    # a VIP's order count first: the checks after it are the costly part
    vip = " AND o.seq >= :min_orders" if rule.kind == "vip" else ""
    db.execute(
        _INTO + "SELECT :prefix || order_id, customer_id, :ri, date(d, :plus), "
        ":label || CASE WHEN seq THEN 'order #' || seq ELSE 'order' END || ' ' || order_id "
        "|| ' ' || CASE WHEN assumed THEN 'delivery assumed ~' ELSE 'delivered ' END || d "
        "|| :suffix, order_id, ordered_at, NULL, NULL, assumed, 1 FROM ("
        "SELECT order_id, customer_id, ordered_at, seq, substr(delivered_at, 1, 10) AS d, "
        f"0 AS assumed FROM orders o WHERE delivered_at >= :d0 AND delivered_at < :d1{vip}{kept} "
        "UNION ALL "
        "SELECT order_id, customer_id, ordered_at, seq, "
        "date(substr(ordered_at, 1, 10), :assumed), 1 FROM orders o "
        f"WHERE ordered_at >= :o0 AND ordered_at < :o1 AND +delivered_at IS NULL{vip}{kept})",
        {
            "ri": ri,
            "plus": f"+{rule.days} days",
            "label": f"{rule.label}: ",
            "suffix": f" (+{rule.days} d)",
            "d0": d0,
            "d1": d1,
            "o0": o0,
            "o1": o1,
            "assumed": f"+{rules.assumed_delivery_days} days",
            "min_orders": rule.min_orders,
            **kept_params,
        },
    )


def _category_key(category: str) -> str:
    return category.strip().lower()


def _category_cycles(db: sqlite_utils.Database, rules: RuleSet) -> None:
    """``_cat``: the rules' category cycles by key, and ``tui_category_key``, the key of a
    category as ``RuleSet.cycle_for`` makes it, for the categories SQLite's ``lower(trim())``
    does not fold the same (any but printable ASCII)."""
    db.conn.create_function("tui_category_key", 1, _category_key, deterministic=True)
    db.execute("DROP TABLE IF EXISTS temp._cat")
    db.execute("CREATE TEMP TABLE _cat (key TEXT PRIMARY KEY, days INTEGER NOT NULL)")
    db.conn.executemany("INSERT INTO _cat VALUES (?, ?)", rules.category_cycle_days.items())


# A line's cycle (RuleSet.cycle_for): the product's, else its category's by key (see
# _category_cycles); coalesce() looks the category up only for a product without a cycle.
_CYCLE = (
    "coalesce(nullif(p.cycle_days, 0), (SELECT k.days FROM _cat k WHERE k.key = "
    "CASE WHEN coalesce(l.category, p.category) GLOB '*[^ -~]*' "
    "THEN tui_category_key(coalesce(l.category, p.category)) "
    "ELSE lower(trim(coalesce(l.category, p.category))) END))"
)
# A window's lines whose cycle puts the reminder ``back`` days after delivery.
_LINES = (
    "SELECT l.order_id, o.customer_id, l.line_no, l.product, o.ordered_at, {day} AS d, "
    "{assumed} AS assumed, coalesce(l.category, p.category) AS cat, "
    f"{_CYCLE} AS cycle "
    "FROM orders o JOIN order_lines l ON l.order_id = o.order_id "
    "LEFT JOIN _products p ON p.sku = l.sku "
    f"WHERE {{where}} AND max(1, {_CYCLE} - :lead) = :back"
)


def replenish_sql(
    db: sqlite_utils.Database, rules: RuleSet, rule: Rule, ri: int, today: date
) -> None:
    """``kinds.replenish`` over ``facts.replenish_facts``'s windows: the lines whose cycle
    (the product's, else its category's; both at least a day, as the imports and the rules
    ensure) falls due today, one window per distinct offset. Lines with the customer's own
    cycle (``own_cycle_min_orders``) come from the facts query and the pure function, and
    replace the same lines here."""
    replenish_own_sql(db, rules, rule, ri, today)
    replenish_windows_sql(db, rules, rule, ri, today)


def replenish_own_sql(
    db: sqlite_utils.Database, rules: RuleSet, rule: Rule, ri: int, today: date
) -> None:
    """The lines with the customer's own cycle (in ``_own``) and their occurrences."""
    from tui_agent.store.facts import own_cycle_facts
    from tui_agent.store.generation import OCC_INSERT, occurrence_rows

    if rule.own_cycle_min_orders > 0:
        own = own_cycle_facts(db, rules, rule, today, live=True)
        db.conn.executemany(
            "INSERT OR IGNORE INTO _own VALUES (?, ?, ?)",
            [(ri, ln.order_id, ln.line_no) for ln in own],
        )
        found = replenish.occurrences(rules, rule, Facts(lines=own), today)
        db.conn.executemany(OCC_INSERT, occurrence_rows(found, {rule.id: ri}))


def drop_own_lines(db: sqlite_utils.Database, rule: Rule, ri: int) -> None:
    """Leave out of ``_occ`` the window rows (``checked``) of lines in ``_own``: for windows
    collected without ``_own`` (on another connection, see ``store.occurrence_thread``)."""
    db.execute(
        "DELETE FROM _occ WHERE ri = ? AND checked AND key IN "
        "(SELECT ? || order_id || ':' || line_no FROM _own WHERE ri = ?)",
        [ri, f"{rule.id}:", ri],
    )


def replenish_windows_sql(
    db: sqlite_utils.Database,
    rules: RuleSet,
    rule: Rule,
    ri: int,
    today: date,
    own: bool = True,
) -> None:
    """The windows by the product's or category's cycle; with ``own``, leaving out the lines
    in ``_own`` (:func:`replenish_own_sql`); else see :func:`drop_own_lines`."""
    _category_cycles(db, rules)
    # the products' cycles and categories, in a small table without rowids (one look-up)
    db.execute("DROP TABLE IF EXISTS temp._products")
    db.execute(
        "CREATE TEMP TABLE _products (sku TEXT PRIMARY KEY, category TEXT, cycle_days INTEGER) "
        "WITHOUT ROWID"
    )
    db.execute("INSERT INTO _products SELECT sku, category, cycle_days FROM products")
    cycles = {
        int(r[0])
        for r in db.execute("SELECT DISTINCT cycle_days FROM products WHERE cycle_days > 0")
    }
    cycles |= set(rules.category_cycle_days.values())
    kept, kept_params = kept_sql(rule, today, "x.order_id || ':' || x.line_no", "x")
    if own and rule.own_cycle_min_orders > 0:
        kept += (
            " AND NOT EXISTS (SELECT 1 FROM _own w WHERE w.ri = :ri AND w.order_id = x.order_id "
            "AND w.line_no = x.line_no)"
        )
    lead = rule.lead_days
    delivered = _LINES.format(
        day="substr(o.delivered_at, 1, 10)",
        assumed=0,
        where="o.delivered_at >= :d0 AND o.delivered_at < :d1",
    )
    assumed = _LINES.format(
        day="date(substr(o.ordered_at, 1, 10), :assumed)",
        assumed=1,
        where="o.ordered_at >= :o0 AND o.ordered_at < :o1 AND +o.delivered_at IS NULL",
    )
    for back in sorted({replenish.offset(c, lead) for c in cycles}):
        first = today - timedelta(days=back + rules.catch_up_days)
        last = today - timedelta(days=back)
        d0, d1, o0, o1 = _delivered_between(first, last, rules.assumed_delivery_days)
        # the window's lines first (few have its cycle), then the checks on those
        db.execute(
            f"WITH x AS MATERIALIZED ({delivered} UNION ALL {assumed}) "
            + _INTO
            + "SELECT :prefix || order_id || ':' || line_no, customer_id, :ri, date(d, :plus), "
            ":label || coalesce(nullif(product, ''), nullif(cat, ''), 'product') || ' (' || cycle "
            "|| '-day cycle) ' || CASE WHEN assumed THEN 'delivery assumed ~' ELSE 'delivered ' "
            "END || d || CASE WHEN cycle <= :lead THEN :short ELSE '' END, "
            f"order_id, ordered_at, product, cat, assumed, 1 FROM x WHERE 1{kept}",
            {
                "prefix": f"{rule.id}:",
                "ri": ri,
                "plus": f"+{back} days",
                "label": f"{rule.label}: ",
                "lead": lead,
                "short": f"; cycle not longer than the {lead}-day lead: reminder +1 d",
                "back": back,
                "d0": d0,
                "d1": d1,
                "o0": o0,
                "o1": o1,
                "assumed": f"+{rules.assumed_delivery_days} days",
                **kept_params,
            },
        )


def winback_sql(
    db: sqlite_utils.Database, rules: RuleSet, rule: Rule, ri: int, today: date
) -> None:
    """``kinds.winback`` over ``facts.winback_facts``'s window: no order for the shop's
    average gap. With ``p_alive_below`` (the BTYD trigger), the facts query and the pure
    function."""
    if rule.p_alive_below > 0:
        from tui_agent.core.kinds import winback
        from tui_agent.store.facts import winback_facts
        from tui_agent.store.generation import OCC_INSERT, occurrence_rows

        found = winback.occurrences(rules, rule, winback_facts(db, rules, rule, today), today)
        db.conn.executemany(OCC_INSERT, occurrence_rows(found, {rule.id: ri}))
        return
    gap = winback_days(rule, avg_gap_days(db))
    first = today - timedelta(days=gap + rules.catch_up_days)
    last = today - timedelta(days=gap)
    stopped = ""
    if rule.stop_on_repurchase:
        stopped = (
            f" AND NOT {stopped_sql(day_start(today + timedelta(days=1)), 'c', 'last_order_at')}"
        )
    db.execute(
        _INTO + "SELECT :prefix || customer_id || ':' || day, customer_id, :ri, date(day, :plus), "
        ":label || day || ')', (SELECT order_id FROM orders o WHERE o.customer_id = "
        "c.customer_id ORDER BY o.ordered_at DESC LIMIT 1), last_order_at, NULL, NULL, 0, 1 "
        "FROM (SELECT *, substr(last_order_at, 1, 10) AS day FROM customers "
        "WHERE last_order_at >= :first AND last_order_at < :end) c WHERE NOT c.opt_out "
        "AND NOT EXISTS (SELECT 1 FROM follow_up_reasons r WHERE r.key = :prefix || "
        f"c.customer_id || ':' || day){stopped}",
        {
            "prefix": f"{rule.id}:",
            "ri": ri,
            "plus": f"+{gap} days",
            "label": f"{rule.label}: no order for {gap} days (last ",
            "first": day_start(first),
            "end": day_start(last + timedelta(days=1)),
        },
    )


@dataclass(frozen=True, slots=True)
class Split:
    """A kind collected in two parts, one on a second connection (``store.occurrence_thread``)
    while the generation's connection does the other in the rule's turn; ``join`` fits them
    once the second's rows are in, and ``alone`` does the second part here when they do not
    come."""

    here: SqlKind
    beside: SqlKind
    join: Callable[[sqlite_utils.Database, Rule, int], None]
    alone: SqlKind


# Replenishment's cycle windows (~55 ms on the next day of a 200k-customer shop) beside; its
# customers' own cycles (~20 ms, much of it Python) here, beside the other kinds (~60 ms).
SPLIT: dict[str, Split] = {
    "replenish": Split(
        replenish_own_sql,
        partial(replenish_windows_sql, own=False),
        drop_own_lines,
        replenish_windows_sql,
    )
}

SQL_KINDS: dict[str, SqlKind] = {
    "after_delivery": after_delivery_sql,
    "vip": after_delivery_sql,
    "replenish": replenish_sql,
    "winback": winback_sql,
}
