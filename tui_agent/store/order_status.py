"""Order status at import: purchases stay in ``orders``, the rest are kept apart.

Cancelled, unpaid and fully refunded orders are never purchases. Rather than teach every
reader of ``orders`` (the lifecycle planner, stats, RFM, LTV, attribution) to filter them,
they are stored apart in ``orders_excluded`` / ``order_lines_excluded``: everything that reads
``orders`` stays right as it is. A re-import moves an order between the two when its status
changes; an order leaving ``orders`` takes its open follow-ups with it (cancelled with a
reason) and its customer's derived columns and order sequence are recomputed. A partial refund
stays a purchase, its amount reduced by the refund (``orders.refunded``).

Both functions run inside the orders import's write transaction, on its staging tables
(``_stage``: one row per line; ``_orders``: one row per order of the file).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import sqlite_utils

from tui_agent.core.csvrows import ImportResult, Plan

_EXCLUDED = "('cancelled', 'unpaid', 'refunded')"
_LINE_COLS = ("sku", "product", "category", "quantity", "amount")


def set_aside(db: sqlite_utils.Database, plan: Plan, result: ImportResult) -> None:
    """Decide each file order's status; move the excluded ones out of the staging tables."""
    for t in ("_ostatus", "_moved"):
        db.execute(f"DROP TABLE IF EXISTS temp.{t}")
    db.execute(
        """
        CREATE TEMP TABLE _ostatus (order_id TEXT PRIMARY KEY, status TEXT, refunded REAL,
                                    excluded INTEGER)
        """
    )
    if "status" in plan.present or "refunded" in plan.present:
        _status_from_file(db)
    else:
        # A file without the columns says nothing about status: an order keeps the one it
        # has (only those not plainly paid are looked up, so a big canonical file costs one
        # pass over `orders` here).
        db.execute(
            """
            INSERT INTO _ostatus
            SELECT order_id, status, refunded, 0 FROM orders
            WHERE (refunded > 0 OR status != 'paid')
              AND order_id IN (SELECT order_id FROM _orders)
            """
        )
        db.execute(
            """
            INSERT INTO _ostatus
            SELECT order_id, status, 0, 1 FROM orders_excluded
            WHERE order_id IN (SELECT order_id FROM _orders)
            """
        )
    excluded = "SELECT order_id FROM _ostatus WHERE excluded"
    if db.execute("SELECT EXISTS (SELECT 1 FROM orders_excluded)").fetchone()[0]:
        # Orders of the file that are purchases now leave the excluded tables.
        for table in ("orders_excluded", "order_lines_excluded"):
            db.execute(
                f"DELETE FROM {table} WHERE order_id IN (SELECT order_id FROM _orders) "
                f"AND order_id NOT IN ({excluded})"
            )
    result.excluded = db.execute("SELECT count(*) FROM _ostatus WHERE excluded").fetchone()[0]
    if not result.excluded:
        _apply_refunds(db)
        return
    db.execute(
        f"""
        INSERT INTO orders_excluded (order_id, customer_id, ordered_at, status, amount)
        SELECT o.order_id, o.customer_id, o.ordered_at, s.status, o.amount
        FROM _orders o JOIN _ostatus s ON s.order_id = o.order_id WHERE s.excluded
        ON CONFLICT(order_id) DO UPDATE SET
            customer_id = excluded.customer_id, ordered_at = excluded.ordered_at,
            status = excluded.status, amount = excluded.amount
        WHERE {_changed(("customer_id", "ordered_at", "status", "amount"), "orders_excluded")}
        """
    )
    cols = ", ".join(_LINE_COLS)
    db.execute(
        f"""
        INSERT INTO order_lines_excluded (order_id, line_no, {cols})
        SELECT order_id, row_number() OVER (PARTITION BY order_id ORDER BY line), {cols}
        FROM _stage WHERE order_id IN ({excluded}) AND 1
        ON CONFLICT(order_id, line_no) DO UPDATE SET
            {", ".join(f"{c} = excluded.{c}" for c in _LINE_COLS)}
        WHERE {_changed(_LINE_COLS, "order_lines_excluded")}
        """
    )
    db.execute(
        f"""
        DELETE FROM order_lines_excluded WHERE rowid IN (
            SELECT l.rowid FROM _orders o JOIN order_lines_excluded l ON l.order_id = o.order_id
            WHERE o.order_id IN ({excluded}) AND l.line_no > o.n)
        """
    )
    # Purchases that are no longer: out of orders, their open follow-ups cancelled.
    db.execute(
        f"CREATE TEMP TABLE _moved AS SELECT order_id, customer_id FROM orders "
        f"WHERE order_id IN ({excluded})"
    )
    if db.execute("SELECT EXISTS (SELECT 1 FROM _moved)").fetchone()[0]:
        now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")
        db.execute(
            """
            UPDATE follow_ups SET status = 'cancelled', claimed_by = NULL, claimed_at = NULL,
                   status_reason = 'order ' || order_id || ' is ' ||
                       (SELECT s.status FROM _ostatus s WHERE s.order_id = follow_ups.order_id),
                   updated_at = ?
            WHERE order_id IN (SELECT order_id FROM _moved) AND status IN ('pending', 'snoozed')
            """,
            [now],
        )
        db.execute("DELETE FROM order_lines WHERE order_id IN (SELECT order_id FROM _moved)")
        db.execute("DELETE FROM orders WHERE order_id IN (SELECT order_id FROM _moved)")
    db.execute(f"DELETE FROM _stage WHERE order_id IN ({excluded})")
    db.execute(f"DELETE FROM _orders WHERE order_id IN ({excluded})")
    _apply_refunds(db)


def _status_from_file(db: sqlite_utils.Database) -> None:
    # An order's status: its lines' (an empty cell: paid). Every line excluded: the first
    # line's status. Some lines excluded (a refunded sub-order): the order is partly refunded
    # by those lines' amounts, plus any refund the export states.
    db.execute(
        f"""
        INSERT INTO _ostatus
        SELECT order_id,
               CASE WHEN min(x) = 1 THEN (SELECT coalesce(f.status, 'paid') FROM _stage f
                                          WHERE f.order_id = g.order_id ORDER BY f.line LIMIT 1)
                    WHEN max(x) = 1 OR max(coalesce(refunded, 0)) > 0
                         OR max(s = 'partially_refunded') THEN 'partially_refunded'
                    ELSE 'paid' END,
               CASE WHEN min(x) = 1 THEN 0 ELSE
                    round(coalesce(max(refunded), 0)
                          + coalesce(sum(CASE WHEN x = 1 THEN amount END), 0), 2) END,
               min(x)
        FROM (SELECT order_id, line, amount, refunded, coalesce(status, 'paid') AS s,
                     coalesce(status, 'paid') IN {_EXCLUDED} AS x FROM _stage) AS g
        GROUP BY order_id
        """
    )


def _apply_refunds(db: sqlite_utils.Database) -> None:
    # _orders.amount feeds the orders' amount and the customers' totals in the merge.
    db.execute(
        """
        UPDATE _orders SET amount = max(0, round(amount - s.refunded, 2))
        FROM _ostatus s WHERE s.order_id = _orders.order_id AND s.refunded > 0
        """
    )


def after_merge(db: sqlite_utils.Database, plan: Plan) -> None:
    """Store each imported order's status and refund, the buyers' details from the export,
    and recompute the customers whose orders were moved out."""
    db.execute(
        """
        UPDATE orders SET status = s.status, refunded = s.refunded
        FROM _ostatus s
        WHERE orders.order_id = s.order_id AND NOT s.excluded
          AND (orders.status IS NOT s.status OR orders.refunded IS NOT s.refunded)
        """
    )
    details = [c for c in ("customer_name", "phone", "email") if c in plan.present]
    if details:
        # Per customer, the file's last non-empty value of each detail wins (an unmasked phone
        # before a masked one); an empty cell never erases a known value, and a masked phone
        # (138****1234) never replaces a full one.
        db.execute(
            """
            UPDATE customers SET
                name = coalesce(d.customer_name, customers.name),
                phone = CASE WHEN d.phone IS NULL THEN customers.phone
                             WHEN instr(d.phone, '*') > 0 AND customers.phone IS NOT NULL
                                  AND instr(customers.phone, '*') = 0 THEN customers.phone
                             ELSE d.phone END,
                email = coalesce(d.email, customers.email)
            FROM (SELECT m.customer_id, n.customer_name, p.phone, e.email
                  FROM (SELECT customer_id,
                               max(CASE WHEN customer_name IS NOT NULL THEN line END) AS ln,
                               coalesce(max(CASE WHEN instr(phone, '*') = 0 THEN line END),
                                        max(CASE WHEN phone IS NOT NULL THEN line END)) AS lp,
                               max(CASE WHEN email IS NOT NULL THEN line END) AS le
                        FROM _stage GROUP BY customer_id) AS m
                  LEFT JOIN _stage n ON n.line = m.ln
                  LEFT JOIN _stage p ON p.line = m.lp
                  LEFT JOIN _stage e ON e.line = m.le) AS d
            WHERE customers.customer_id = d.customer_id
              AND ((d.customer_name IS NOT NULL AND d.customer_name IS NOT customers.name)
                OR (d.email IS NOT NULL AND d.email IS NOT customers.email)
                OR (d.phone IS NOT NULL AND d.phone IS NOT customers.phone
                    AND NOT (instr(d.phone, '*') > 0 AND customers.phone IS NOT NULL
                             AND instr(customers.phone, '*') = 0)))
            """
        )
    moved = db.execute(
        "SELECT EXISTS (SELECT 1 FROM temp.sqlite_master WHERE name = '_moved')"
    ).fetchone()[0]
    if moved:
        ids = [r[0] for r in db.execute("SELECT DISTINCT customer_id FROM _moved").fetchall()]
        if ids:
            from tui_agent.store.importer import refresh_derived

            refresh_derived(db, ids)
    for t in ("_ostatus", "_moved"):
        db.execute(f"DROP TABLE IF EXISTS temp.{t}")


def _changed(cols: tuple[str, ...], table: str) -> str:
    return " OR ".join(f"{table}.{c} IS NOT excluded.{c}" for c in cols)


def excluded_counts(
    db: sqlite_utils.Database, start: date | None = None, end: date | None = None
) -> dict[str, int]:
    """Orders left out of every figure, by status, and the partly refunded purchases, among
    the orders placed from ``start`` to ``end`` (inclusive; None: unbounded)."""
    lo = start.isoformat() if start else ""
    hi = (end + timedelta(days=1)).isoformat() if end else "9999"
    where = "ordered_at >= ? AND ordered_at < ?"
    counts = {
        status: n
        for status, n in db.execute(
            f"SELECT status, count(*) FROM orders_excluded WHERE {where} GROUP BY status",
            [lo, hi],
        ).fetchall()
    }
    # One pass over the table (20 ms at 500k orders), not a row lookup per order of the
    # period through idx_orders_ordered (300 ms): few orders are partly refunded.
    partly = db.execute(
        f"SELECT count(*) FROM orders NOT INDEXED WHERE status = 'partially_refunded' AND {where}",
        [lo, hi],
    ).fetchone()[0]
    if partly:
        counts["partially_refunded"] = partly
    return counts
