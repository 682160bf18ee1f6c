"""Open follow-ups gone stale: cancelled when the customer opted out or ordered again.

Each generation runs the check under the write lock (``store.generation.write_day``). The
rule is ``core.lifecycle.stopped_by_repurchase``, in SQL. Looking at every open follow-up
costs a customer and an order look-up each: about 60 ms for the 16k open follow-ups of the
200k-customer shop, a quarter of the next day's generation. So the check looks only where a
follow-up can have gone stale since the last check:

- the customers in ``stale_check``. Triggers fill that table (migration 13): a customer
  opting out, an order's time, customer or status changing, a follow-up reopened or given to
  another customer. An order deleted writes NULL there: see below;
- the customers of orders added since: their rowid is above the largest at the last check;
- the customers with an order placed after the last check's day. A past day may have been
  planned: a later order counts once its day is planned;
- the follow-ups created since: their id is above the largest at the last check (campaigns;
  the day's new ones too when another connection wrote while the day was planned).

A follow-up that generation merges into takes the new occurrence's rule and order, which
planning just checked under the same lock: no trigger watches those columns.

The whole check runs instead when no check was recorded, when an order was deleted (a new one
could take its rowid) and when the stop-on-repurchase rules differ.
``tests/store/test_stale_check.py`` compares both ways after each kind of change.
"""

from __future__ import annotations

from datetime import date, timedelta

import sqlite_utils

from tui_agent.core.rules import RuleSet
from tui_agent.store.db import get_meta, set_meta
from tui_agent.store.facts import day_start

STATE = "stale_checked"  # meta: what the last check saw (see _state)

OPEN = "('pending', 'snoozed')"

# The follow-ups the check looks at, when it need not look at all of them.
_CHANGED = f"""
WITH who(customer_id) AS (
    SELECT customer_id FROM stale_check
    UNION SELECT customer_id FROM orders WHERE rowid > :rowid
    UNION SELECT customer_id FROM orders WHERE ordered_at >= :since
),
changed(id) AS (
    SELECT f.id FROM who CROSS JOIN follow_ups f  -- CROSS: the few customers lead
        ON f.customer_id = who.customer_id AND f.status IN {OPEN}
    UNION SELECT id FROM follow_ups WHERE id > :fid AND id < :below
)
"""


def _state(db: sqlite_utils.Database, end: str, stop: list[str]) -> str:
    """What the check saw: the end of its day, the largest order rowid and follow-up id, and
    the rules that stop on repurchase."""
    rowid, fid = db.execute(
        "SELECT (SELECT coalesce(max(rowid), 0) FROM orders), "
        "(SELECT coalesce(max(id), 0) FROM follow_ups)"
    ).fetchone()
    return f"{end}|{rowid}|{fid}|{','.join(stop)}"


def _since_last(db: sqlite_utils.Database, stop: list[str]) -> dict[str, object] | None:
    """The last check's day end, rowid and id, or None when the check must look at all."""
    last = get_meta(db, STATE)
    if last is None:
        return None
    deleted = "SELECT EXISTS (SELECT 1 FROM stale_check WHERE customer_id IS NULL)"
    if db.execute(deleted).fetchone()[0]:
        return None  # an order was deleted
    end, rowid, fid, stops = last.split("|", 3)
    if stops != ",".join(stop):
        return None
    return {"since": end, "rowid": int(rowid), "fid": int(fid)}


def cancel_stale(
    db: sqlite_utils.Database,
    rules: RuleSet,
    stamp: str | None,
    today: date,
    below: int | None = None,
) -> int:
    """Cancel open follow-ups of opted-out customers and of chains stopped by a new order
    (with ``below``, only those with a lower id); call under the write lock.

    Only the rows to cancel reach Python (times are ISO text, which compares in time order).
    Only an order placed by the end of ``today`` stops a chain (planning a past day). The
    follow-ups looked at are those that may have gone stale since the last check (see the
    module doc), or all of them.
    """
    stop = [r.id for r in rules.rules if r.stop_on_repurchase]
    end = day_start(today + timedelta(days=1))
    since = _since_last(db, stop)
    params: dict[str, object] = {f"s{i}": s for i, s in enumerate(stop)}
    params |= {"below": (1 << 62) if below is None else below, "end": end}
    marks = ",".join(f":s{i}" for i in range(len(stop))) or "NULL"
    head, source = "", "follow_ups f"
    if since is not None:
        head, source = _CHANGED, "changed x CROSS JOIN follow_ups f ON f.id = x.id"
        params |= since
    rows = db.execute(
        f"{head}SELECT f.id, c.opt_out, c.last_order_at FROM {source} "
        "JOIN customers c ON c.customer_id = f.customer_id "
        "LEFT JOIN orders o ON o.order_id = f.order_id "
        f"WHERE f.status IN {OPEN} AND f.id < :below AND (c.opt_out = 1 OR "
        f"(f.rule IN ({marks}) AND c.last_order_at > o.ordered_at AND (c.last_order_at < :end "
        "OR EXISTS (SELECT 1 FROM orders n WHERE n.customer_id = f.customer_id "
        "AND n.ordered_at > o.ordered_at AND n.ordered_at < :end))))",
        params,
    ).fetchall()
    cancels = [
        (
            "customer opted out" if opt_out else f"ordered again on {str(last)[:10]}",
            stamp,
            fid,
        )
        for fid, opt_out, last in rows
    ]
    db.conn.executemany(
        "UPDATE follow_ups SET status = 'cancelled', status_reason = ?, updated_at = ?, "
        "claimed_by = NULL WHERE id = ?",
        cancels,
    )
    db.execute("DELETE FROM stale_check")
    set_meta(db, STATE, _state(db, end, stop))
    return len(cancels)
