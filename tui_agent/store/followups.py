"""Follow-ups and touches: generating the day's queue, claims, logging touches.

Every write is one transaction (``write_tx``); claims are single atomic UPDATEs, so two agents
on one database file never hold the same follow-up.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

import sqlite_utils

from tui_agent.core import lifecycle as lc
from tui_agent.core.dates import from_db_date, from_db_datetime, to_db
from tui_agent.core.kinds import OCCURRENCES
from tui_agent.core.models import FollowUp, FollowUpStatus, Reason, Stage, Touch
from tui_agent.core.queue_filter import QueueFilter
from tui_agent.core.rules import RuleSet
from tui_agent.store import outcomes
from tui_agent.store.db import get_meta, retry_busy, set_meta, write_tx
from tui_agent.store.facts import FACTS, day_start
from tui_agent.store.facts import avg_gap_days as avg_gap_days  # re-exported
from tui_agent.store.outcomes import live_touch

T = TypeVar("T")
_CHUNK = 500


class ClaimLost(Exception):
    """The follow-up is held by another agent or no longer pending."""


class CapBlocked(ClaimLost):
    """The touch would break the frequency cap (the message is the reason). Nothing was
    written; the follow-up stays pending, so the agent can skip or snooze it, or log it with
    ``force=True``. A ClaimLost, so callers that refuse to copy on ClaimLost do so here too."""


@dataclass(frozen=True, slots=True)
class GenerateResult:
    created: int
    merged: int
    capped: int
    cancelled: int
    unsnoozed: int
    deferred: int = 0  # put off to tomorrow by the daily capacity


def _chunks(items: Sequence[T], size: int = _CHUNK) -> Iterator[Sequence[T]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


# ---------------------------------------------------------------------------------------------
# Generation


def _facts_for(
    db: sqlite_utils.Database, ids: Sequence[str], today: date
) -> dict[str, lc.CustomerFact]:
    """What planning needs of each customer (``opt_out`` and ``last_order_at``; the other
    fields stay empty) as of the end of ``today``: when planning a past day, an order placed
    after it must not stop a chain (it had not happened yet)."""
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
    end = to_db(tomorrow)
    later = [
        c.customer_id for c in facts.values() if c.last_order_at and c.last_order_at >= tomorrow
    ]
    for chunk in _chunks(later):
        marks = ",".join("?" * len(chunk))
        found = dict(
            db.execute(
                f"SELECT customer_id, max(ordered_at) FROM orders WHERE customer_id IN ({marks}) "
                "AND ordered_at < ? GROUP BY customer_id",
                [*chunk, end],
            ).fetchall()
        )
        for cid in chunk:
            facts[cid] = replace(facts[cid], last_order_at=from_db_datetime(found.get(cid)))
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
            # A campaign's follow-up is its own touch: lifecycle reasons never merge into it.
            f"SELECT customer_id, min(id) FROM follow_ups WHERE status IN ('pending', 'snoozed') "
            f"AND stage != 'campaign' AND customer_id IN ({marks}) GROUP BY customer_id",
            list(chunk),
        ):
            out[cid] = fid
    return out


def touch_counts(
    db: sqlite_utils.Database, ids: Sequence[str], now: datetime
) -> tuple[dict[str, int], dict[str, int]]:
    """Proactive touches per customer in the 24 hours and the 7 days before ``now`` (and
    after it). Replies to the customer's own message and retracted touches do not count."""
    t24 = to_db(now - timedelta(hours=24))
    t7 = to_db(now - timedelta(days=7))
    c24: dict[str, int] = {}
    c7: dict[str, int] = {}
    for chunk in _chunks(ids):
        marks = ",".join("?" * len(chunk))
        for cid, n24, n7 in db.execute(
            f"SELECT customer_id, sum(at >= ?), count(*) FROM touches t "
            f"WHERE customer_id IN ({marks}) AND at >= ? AND reply = 0 AND {live_touch('t')} "
            "GROUP BY customer_id",
            [t24, *chunk, t7],
        ):
            c24[cid] = n24
            c7[cid] = n7
    return c24, c7


def occurrences_for_day(
    db: sqlite_utils.Database, today: date, rules: RuleSet, *, live: bool = False
) -> list[lc.Occurrence]:
    """Every rule's occurrences due in today's catch-up window: for each rule, its kind's
    facts query (``store.facts.FACTS``) and pure occurrence function (``core.kinds``), then
    do-not-disturb days applied (``lifecycle.settle``). With ``live`` (the planner), the
    queries may leave out what planning drops anyway (see ``store.facts.FactsQuery``)."""
    wide = replace(rules, catch_up_days=lc.lookback_days(rules, today))
    found: list[lc.Occurrence] = []
    for rule in rules.rules:
        facts = FACTS[rule.kind](db, wide, rule, today, live)
        found += OCCURRENCES[rule.kind](wide, rule, facts, today)
    return lc.settle(rules, found, today)


def data_mark(db: sqlite_utils.Database) -> str:
    """Changes when orders or customers are added: their largest rowids (new rows of a rowid
    table take the largest rowid + 1; reading it is one step down the b-tree)."""
    orders = db.execute("SELECT max(rowid) FROM orders").fetchone()[0]
    customers = db.execute("SELECT max(rowid) FROM customers").fetchone()[0]
    return f"{orders}:{customers}"


def _look_back(db: sqlite_utils.Database, today: date, rules: RuleSet) -> RuleSet:
    """The rules with the catch-up shortened to the last generated day (inclusive, so orders
    imported later that day are still seen) when nothing was added since it was generated.
    Occurrence keys make a longer look-back harmless; this only saves reading."""
    last = get_meta(db, "last_generated")
    if not last or last > today.isoformat() or get_meta(db, "generated_mark") != data_mark(db):
        return rules
    back = min(rules.catch_up_days, (today - date.fromisoformat(last)).days)
    return replace(rules, catch_up_days=back)


def _plan(db: sqlite_utils.Database, today: date, rules: RuleSet) -> tuple[lc.Plan, dict[str, int]]:
    """Read the day's facts through indexed windows and plan; returns the plan and the open
    follow-ups it saw (customer -> id), so the writer can tell whether the plan went stale.

    Days already generated need not be read again, unless orders or customers were added
    since (an order imported after its day was generated still gets the occurrences within
    ``catch_up_days``): see :func:`_look_back`.
    """
    occurrences = occurrences_for_day(db, today, _look_back(db, today, rules), live=True)
    ids = sorted({o.customer_id for o in occurrences})
    c24, c7 = touch_counts(db, ids, datetime.combine(today, datetime.min.time()))
    pending = _open_follow_ups(db, ids)
    plan = lc.plan_day(
        occurrences,
        customers=_facts_for(db, ids, today),
        existing_keys=_existing_keys(db, [o.key for o in occurrences]),
        pending=pending,
        touches_24h=c24,
        touches_7d=c7,
        cap=rules.cap,
    )
    return plan, pending


def _plan_is_stale(db: sqlite_utils.Database, plan: lc.Plan, pending: dict[str, int]) -> bool:
    """True when another process generated, or an agent closed a follow-up we merge into,
    between planning and taking the write lock."""
    keys = [o.key for n in plan.new for o in n.occurrences]
    keys += [o.key for m in plan.merges for o in m.occurrences]
    if _existing_keys(db, keys):
        return True
    ids = sorted({n.customer_id for n in plan.new} | set(pending))
    return _open_follow_ups(db, ids) != {c: pending[c] for c in ids if c in pending}


def generate(
    db: sqlite_utils.Database, today: date, rules: RuleSet, *, now: datetime | None = None
) -> GenerateResult:
    """Create the follow-ups due on ``today``. Idempotent: a second run creates nothing new.

    The reading and planning run on a snapshot without the write lock, so agents keep logging
    touches meanwhile; the writes then take the lock, check that the plan still holds (plan
    again under the lock if another process got there first) and commit as one transaction.
    """
    stamp = to_db(now or datetime.now())
    db.execute("BEGIN")
    try:
        plan, pending = _plan(db, today, rules)
    finally:
        db.execute("COMMIT")
    with write_tx(db):
        unsnoozed = db.execute(
            "UPDATE follow_ups SET status = 'pending', snoozed_until = NULL, updated_at = ? "
            "WHERE status = 'snoozed' AND snoozed_until <= ?",
            [stamp, today.isoformat()],
        ).rowcount
        if _plan_is_stale(db, plan, pending):
            plan, pending = _plan(db, today, rules)
        # Ids are assigned here, under the write lock, so the rows go in with two executemany
        # calls instead of one INSERT per follow-up (tens of thousands on a big shop's day).
        first = db.execute("SELECT coalesce(max(id), 0) + 1 FROM follow_ups").fetchone()[0]
        ids = range(first, first + len(plan.new))
        capped = sum(bool(n.capped) for n in plan.new)
        db.conn.executemany(
            "INSERT INTO follow_ups (id, customer_id, stage, rule, suggested_tags, due_date, status, "
            "status_reason, order_id, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            [
                (
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
                )
                for fid, n in zip(ids, plan.new, strict=True)
            ],
        )
        _insert_reasons(
            db, [(fid, o) for fid, n in zip(ids, plan.new, strict=True) for o in n.occurrences]
        )
        for merge in plan.merges:
            _merge_into(db, merge, rules, stamp)
        cancelled = _cancel_stale(db, rules, stamp, today)
        deferred = _defer_over_capacity(db, today, rules, stamp)
        set_meta(db, "last_generated", today.isoformat())
        set_meta(db, "generated_mark", data_mark(db))
    from tui_agent.store.campaigns import schedule_campaigns  # campaigns import this module

    schedule_campaigns(db, today, rules, now=now)
    return GenerateResult(
        len(plan.new) - capped, len(plan.merges), capped, cancelled, unsnoozed, deferred
    )


def _insert_reasons(db: sqlite_utils.Database, rows: Iterable[tuple[int, lc.Occurrence]]) -> None:
    db.conn.executemany(
        "INSERT INTO follow_up_reasons (key, follow_up_id, rule, text, order_id, product, category, "
        "delivery_assumed) VALUES (?,?,?,?,?,?,?,?)",
        [
            (o.key, fid, o.rule.id, o.text, o.order_id, o.product, o.category, o.delivery_assumed)
            for fid, o in rows
        ],
    )


def _merge_into(
    db: sqlite_utils.Database, merge: lc.Merge, rules: RuleSet, stamp: str | None
) -> None:
    row = db.execute(
        "SELECT rule, suggested_tags, due_date FROM follow_ups WHERE id = ?", [merge.follow_up_id]
    ).fetchone()
    current = rules.by_id(row[0])
    tags = [t for t in row[1].split(",") if t]
    lead = merge.occurrences[0]
    for o in merge.occurrences:
        tags.extend(t for t in o.rule.tags if t not in tags)
    if current is None or lead.rule.priority > current.priority:
        db.execute(
            "UPDATE follow_ups SET rule = ?, stage = ?, order_id = ?, suggested_tags = ?, updated_at = ? WHERE id = ?",
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
    _insert_reasons(db, [(merge.follow_up_id, o) for o in merge.occurrences])


def _cancel_stale(db: sqlite_utils.Database, rules: RuleSet, stamp: str | None, today: date) -> int:
    """Cancel open follow-ups of opted-out customers and of chains stopped by a new order.

    The same rule as :func:`core.lifecycle.stopped_by_repurchase`, in SQL so that only the
    rows to cancel reach Python (times are ISO text, which compares in time order). Only an
    order placed by the end of ``today`` stops a chain (planning a past day).
    """
    stop = [r.id for r in rules.rules if r.stop_on_repurchase]
    marks = ",".join("?" * len(stop)) or "NULL"
    end = day_start(today + timedelta(days=1))
    rows = db.execute(
        "SELECT f.id, c.opt_out, c.last_order_at FROM follow_ups f "
        "JOIN customers c ON c.customer_id = f.customer_id "
        "LEFT JOIN orders o ON o.order_id = f.order_id "
        "WHERE f.status IN ('pending', 'snoozed') AND (c.opt_out = 1 OR "
        f"(f.rule IN ({marks}) AND c.last_order_at > o.ordered_at AND (c.last_order_at < ? OR "
        "EXISTS (SELECT 1 FROM orders n WHERE n.customer_id = f.customer_id "
        "AND n.ordered_at > o.ordered_at AND n.ordered_at < ?))))",
        [*stop, end, end],
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
    return len(cancels)


DEFERRED = "deferred:"


def _defer_over_capacity(
    db: sqlite_utils.Database, today: date, rules: RuleSet, stamp: str | None
) -> int:
    """Defer the follow-ups beyond ``[work] daily_capacity`` to tomorrow (snoozed, with the
    reason); the choice is :func:`core.lifecycle.capacity_cut`."""
    if rules.daily_capacity <= 0:
        return 0
    start, end = day_start(today), day_start(today + timedelta(days=1))
    done = db.execute(
        "SELECT count(*) FROM follow_ups WHERE status IN ('done', 'skipped') "
        "AND updated_at >= ? AND updated_at < ? AND coalesce(status_reason, '') NOT LIKE 'cap:%'",
        [start, end],
    ).fetchone()[0]
    priority = {r.id: r.priority for r in rules.rules}
    items = [
        lc.QueueItem(
            fid, date.fromisoformat(due), priority.get(rule, 0), value or 0.0, n, bool(who)
        )
        for fid, due, rule, value, n, who in db.execute(
            "SELECT f.id, f.due_date, f.rule, c.total_spent, f.deferrals, f.claimed_by "
            "FROM follow_ups f JOIN customers c ON c.customer_id = f.customer_id "
            "WHERE f.status = 'pending' AND f.due_date <= ?",
            [today.isoformat()],
        )
    ]
    cut = lc.capacity_cut(items, rules.daily_capacity, done, rules.max_deferrals)
    until = (today + timedelta(days=1)).isoformat()
    reason = f"{DEFERRED} daily capacity {rules.daily_capacity} reached on {today.isoformat()}"
    db.conn.executemany(
        "UPDATE follow_ups SET status = 'snoozed', snoozed_until = ?, status_reason = ?, "
        "deferrals = deferrals + 1, updated_at = ? WHERE id = ?",
        [(until, reason, stamp, fid) for fid in cut],
    )
    return len(cut)


def deferred_count(db: sqlite_utils.Database, today: date) -> int:
    """Follow-ups the daily capacity put off from ``today`` to tomorrow (for the header)."""
    row = db.execute(
        "SELECT count(*) FROM follow_ups WHERE status = 'snoozed' AND snoozed_until > ? "
        "AND status_reason LIKE ?",
        [today.isoformat(), DEFERRED + "%"],
    ).fetchone()
    return int(row[0])


# ---------------------------------------------------------------------------------------------
# The day's queue


_QUEUE_SQL = (
    "SELECT f.*, c.name AS customer_name, c.total_spent AS value FROM follow_ups f "
    "JOIN customers c ON c.customer_id = f.customer_id "
)


def follow_ups_where(db: sqlite_utils.Database, tail: str, params: Sequence[Any]) -> list[FollowUp]:
    """The follow-ups (with customer name and value, and their reasons) of the queue query
    ``follow_ups f JOIN customers c`` followed by ``tail`` (more joins, WHERE, ORDER BY...)."""
    rows = retry_busy(lambda: list(db.query(_QUEUE_SQL + tail, list(params))))
    return _follow_ups_from_rows(db, rows)


def _follow_ups_from_rows(db: sqlite_utils.Database, rows: list[dict[str, Any]]) -> list[FollowUp]:
    reasons: dict[int, list[Reason]] = {r["id"]: [] for r in rows}
    ids = list(reasons)
    for chunk in _chunks(ids):
        marks = ",".join("?" * len(chunk))
        for key, fid, rule, text, oid, product, category, assumed in db.execute(
            f"SELECT key, follow_up_id, rule, text, order_id, product, category, delivery_assumed "
            f"FROM follow_up_reasons WHERE follow_up_id IN ({marks}) ORDER BY rowid",
            list(chunk),
        ):
            reasons[fid].append(
                Reason(
                    rule=rule,
                    key=key,
                    text=text,
                    order_id=oid,
                    product=product,
                    category=category,
                    delivery_assumed=bool(assumed),
                )
            )
    out = []
    for r in rows:
        due = from_db_date(r["due_date"])
        assert due is not None
        out.append(
            FollowUp(
                id=r["id"],
                customer_id=r["customer_id"],
                customer_name=r["customer_name"],
                stage=Stage(r["stage"]),
                rule=r["rule"],
                reasons=tuple(reasons[r["id"]]),
                suggested_tags=tuple(t for t in r["suggested_tags"].split(",") if t),
                due_date=due,
                status=FollowUpStatus(r["status"]),
                status_reason=r["status_reason"],
                snoozed_until=from_db_date(r["snoozed_until"]),
                claimed_by=r["claimed_by"],
                claimed_at=from_db_datetime(r["claimed_at"]),
                order_id=r["order_id"],
                priority=r["value"] or 0.0,
            )
        )
    return out


def _filter_sql(flt: QueueFilter, today: date) -> tuple[str, list[Any]]:
    """The SQL conditions of a queue filter (all but the segment, which is not a column)."""
    where: list[str] = []
    params: list[Any] = []
    if flt.stage is not None:
        where.append("f.stage = ?")
        params.append(flt.stage.value)
    if flt.rule:
        where.append(
            "(f.rule = ? OR EXISTS (SELECT 1 FROM follow_up_reasons r "
            "WHERE r.follow_up_id = f.id AND r.rule = ?))"
        )
        params += [flt.rule, flt.rule]
    if flt.tag:
        # Tags are stored comma separated: match whole tags only.
        where.append(
            "(instr(',' || coalesce(c.tags, '') || ',', ',' || ? || ',') > 0 "
            "OR instr(',' || f.suggested_tags || ',', ',' || ? || ',') > 0)"
        )
        params += [flt.tag, flt.tag]
    if flt.overdue:
        where.append("f.due_date < ?")
        params.append(today.isoformat())
    if flt.mine:
        where.append(
            "(f.claimed_by = ? OR EXISTS (SELECT 1 FROM touches t WHERE "
            f"t.customer_id = f.customer_id AND t.agent = ? AND {live_touch('t')}))"
        )
        params += [flt.mine, flt.mine]
    return "".join(f" AND {w}" for w in where), params


def due_queue(
    db: sqlite_utils.Database,
    today: date,
    *,
    limit: int | None = None,
    where: QueueFilter | None = None,
    by_value: bool = False,
) -> list[FollowUp]:
    """Pending follow-ups due on or before ``today``: overdue first, then by customer value
    (spent so far; with ``by_value``, the BTYD expected value of the next 365 days first,
    rules.toml ``[work] queue_order = "expected_value"``).

    ``where`` keeps only the follow-ups that pass a :class:`QueueFilter` (default: all). A
    segment filter scores the customers' RFM segments (cached per day, see
    ``store.analytics.segments_for``: the first call on a big shop takes a second).
    """
    flt = where or QueueFilter()
    extra, extra_params = _filter_sql(flt, today)
    value = (
        "(SELECT p.clv_365d FROM customer_predictions p WHERE p.customer_id = f.customer_id) "
        "DESC NULLS LAST, "
        if by_value
        else ""
    )
    sql = (
        _QUEUE_SQL + f"WHERE f.status = 'pending' AND f.due_date <= ?{extra} "
        f"ORDER BY f.due_date < ? DESC, {value}c.total_spent DESC, f.due_date, f.id"
    )
    params: list[Any] = [today.isoformat(), *extra_params, today.isoformat()]
    if limit is not None and flt.segment is None:
        sql += " LIMIT ?"
        params.append(limit)
    rows = retry_busy(lambda: list(db.query(sql, params)))
    if flt.segment is not None:
        from tui_agent.store.analytics import segments_for  # scoring needs the analytics code

        seg = segments_for(db, {r["customer_id"] for r in rows}, today)
        rows = [r for r in rows if seg.get(r["customer_id"]) == flt.segment.value]
        rows = rows[:limit] if limit is not None else rows
    return _follow_ups_from_rows(db, rows)


def open_follow_ups_for(db: sqlite_utils.Database, customer_id: str) -> list[FollowUp]:
    """The customer's open follow-ups (pending or snoozed, any due date), earliest due first."""
    return follow_ups_where(
        db,
        "WHERE f.customer_id = ? AND f.status IN ('pending', 'snoozed') ORDER BY f.due_date, f.id",
        [customer_id],
    )


def get_follow_up(db: sqlite_utils.Database, follow_up_id: int) -> FollowUp | None:
    rows = list(db.query(_QUEUE_SQL + "WHERE f.id = ?", [follow_up_id]))
    found = _follow_ups_from_rows(db, rows)
    return found[0] if found else None


@dataclass(frozen=True, slots=True)
class DayProgress:
    done: int  # worked today: touched, skipped, snoozed or opted out by an agent
    remaining: int  # still pending and due

    @property
    def total(self) -> int:
        return self.done + self.remaining


def day_progress(db: sqlite_utils.Database, today: date) -> DayProgress:
    start = day_start(today)
    end = day_start(today + timedelta(days=1))
    done = db.execute(
        "SELECT count(*) FROM follow_ups WHERE updated_at >= ? AND updated_at < ? AND ("
        "(status IN ('done', 'skipped', 'snoozed') "
        "AND coalesce(status_reason, '') NOT LIKE 'cap:%' "
        "AND coalesce(status_reason, '') NOT LIKE ?) "
        # An opt-out worked a follow-up due today too: it is dealt with, not gone.
        "OR (status = 'cancelled' AND status_reason LIKE 'customer opted out%' "
        "AND due_date <= ?))",
        [start, end, DEFERRED + "%", today.isoformat()],
    ).fetchone()[0]
    remaining = db.execute(
        "SELECT count(*) FROM follow_ups WHERE status = 'pending' AND due_date <= ?",
        [today.isoformat()],
    ).fetchone()[0]
    return DayProgress(done, remaining)


# ---------------------------------------------------------------------------------------------
# Claims and actions


def claim(
    db: sqlite_utils.Database,
    follow_up_id: int,
    agent: str,
    *,
    expire_minutes: int = 30,
    now: datetime | None = None,
) -> bool:
    """Claim a pending follow-up for ``agent`` with one atomic UPDATE.

    Succeeds when it is unclaimed, already ours, or the other claim has expired.
    """
    now = now or datetime.now()
    expiry = to_db(now - timedelta(minutes=expire_minutes))
    stamp = to_db(now)
    cur = retry_busy(
        lambda: db.execute(
            "UPDATE follow_ups SET claimed_by = ?, claimed_at = ?, updated_at = ? "
            "WHERE id = ? AND status = 'pending' "
            "AND (claimed_by IS NULL OR claimed_by = ? OR claimed_at < ?)",
            [agent, stamp, stamp, follow_up_id, agent, expiry],
        )
    )
    return cur.rowcount == 1


def release(db: sqlite_utils.Database, follow_up_id: int, agent: str) -> None:
    retry_busy(
        lambda: db.execute(
            "UPDATE follow_ups SET claimed_by = NULL, claimed_at = NULL WHERE id = ? AND claimed_by = ?",
            [follow_up_id, agent],
        )
    )


def _check_held(
    db: sqlite_utils.Database, follow_up_id: int, agent: str, expire_minutes: int, now: datetime
) -> None:
    row = db.execute(
        "SELECT status, claimed_by, claimed_at FROM follow_ups WHERE id = ?", [follow_up_id]
    ).fetchone()
    if row is None:
        raise ClaimLost(f"follow-up {follow_up_id} does not exist")
    status, holder, claimed_at = row
    if status != "pending":
        raise ClaimLost(f"follow-up {follow_up_id} is already {status}")
    expired = claimed_at is not None and datetime.fromisoformat(claimed_at) < now - timedelta(
        minutes=expire_minutes
    )
    if holder not in (None, agent) and not expired:
        raise ClaimLost(f"follow-up {follow_up_id} is being worked by {holder}")


def log_touch(
    db: sqlite_utils.Database,
    *,
    agent: str,
    customer_id: str,
    text: str,
    follow_up_id: int | None = None,
    phrase_id: str | None = None,
    stage: str | None = None,
    channel: str = "clipboard",
    outcome: str | None = None,
    expire_minutes: int = 30,
    now: datetime | None = None,
    reply: bool = False,
    rules: RuleSet | None = None,
    force: bool = False,
) -> int:
    """Log one touch and close its follow-up, in one transaction. Returns the touch id.

    Raises ClaimLost (and writes nothing) when the follow-up is held by another agent or no
    longer pending, so a customer is never contacted twice for one follow-up. ``reply`` marks
    a touch answering the customer's own message: not proactive, outside the frequency cap.
    With ``rules``, a proactive touch (one for a follow-up, not a reply) that would break the
    frequency cap raises CapBlocked with the reason, unless ``force``.
    """
    now = now or datetime.now()
    stamp = to_db(now)
    with write_tx(db):
        if follow_up_id is not None:
            _check_held(db, follow_up_id, agent, expire_minutes, now)
            if rules is not None and not force and not reply:  # a reply is not proactive
                from tui_agent.store.cap import cap_block

                blocked = cap_block(db, customer_id, now, rules, follow_up_id)
                if blocked:
                    raise CapBlocked(f"{blocked}; skip or snooze it, or log it anyway")
        touch_id = db.execute(
            "INSERT INTO touches (agent, customer_id, follow_up_id, phrase_id, stage, text, "
            "channel, at, outcome, reply) VALUES (?,?,?,?,?,?,?,?,?,?)",
            [
                agent,
                customer_id,
                follow_up_id,
                phrase_id,
                stage,
                text,
                channel,
                stamp,
                outcome,
                int(reply),
            ],
        ).lastrowid
        if follow_up_id is not None:
            db.execute(
                "UPDATE follow_ups SET status = 'done', status_reason = NULL, claimed_by = ?, "
                "claimed_at = ?, updated_at = ? WHERE id = ?",
                [agent, stamp, stamp, follow_up_id],
            )
    assert touch_id is not None
    return touch_id


def _close(
    db: sqlite_utils.Database,
    follow_up_id: int,
    agent: str,
    status: str,
    reason: str | None,
    snoozed_until: date | None,
    expire_minutes: int,
    now: datetime | None,
) -> None:
    now = now or datetime.now()
    with write_tx(db):
        _check_held(db, follow_up_id, agent, expire_minutes, now)
        db.execute(
            "UPDATE follow_ups SET status = ?, status_reason = ?, snoozed_until = ?, claimed_by = NULL, "
            "claimed_at = NULL, updated_at = ? WHERE id = ?",
            [status, reason, to_db(snoozed_until), to_db(now), follow_up_id],
        )


def snooze(
    db: sqlite_utils.Database,
    follow_up_id: int,
    agent: str,
    until: date,
    *,
    expire_minutes: int = 30,
    now: datetime | None = None,
) -> None:
    """Put a follow-up away until ``until``; it comes back as pending on that day."""
    _close(db, follow_up_id, agent, "snoozed", f"snoozed by {agent}", until, expire_minutes, now)


def skip(
    db: sqlite_utils.Database,
    follow_up_id: int,
    agent: str,
    reason: str,
    *,
    expire_minutes: int = 30,
    now: datetime | None = None,
) -> None:
    _close(
        db,
        follow_up_id,
        agent,
        "skipped",
        f"skipped by {agent}: {reason}",
        None,
        expire_minutes,
        now,
    )


def opt_out(
    db: sqlite_utils.Database,
    customer_id: str,
    agent: str,
    *,
    now: datetime | None = None,
    reason: str | None = None,
) -> int:
    """Mark the customer "do not contact" and cancel their open follow-ups. Returns how many.

    The opt-out is logged as an event row (who, when, why): see ``store.outcomes.opt_out``.
    """
    _event, n = outcomes.opt_out(db, customer_id, agent, reason=reason, now=now)
    return n


def touches_for_customer(
    db: sqlite_utils.Database, customer_id: str, limit: int = 5
) -> list[Touch]:
    """The customer's latest live touches (the card): retracted ones left out, each with its
    latest outcome (``store.outcomes.touch_records`` gives the full history, retractions
    included)."""
    rows = db.execute(
        "SELECT id, agent, customer_id, follow_up_id, phrase_id, text, channel, at, "
        f"{outcomes.latest_outcome_sql('t')}, stage "
        f"FROM touches t WHERE customer_id = ? AND {live_touch('t')} "
        "ORDER BY at DESC, id DESC LIMIT ?",
        [customer_id, limit],
    ).fetchall()
    return [
        Touch(
            id=r[0],
            agent=r[1],
            customer_id=r[2],
            follow_up_id=r[3],
            phrase_id=r[4],
            text=r[5],
            channel=r[6],
            at=datetime.fromisoformat(r[7]),
            outcome=r[8],
            stage=r[9],
        )
        for r in rows
    ]
