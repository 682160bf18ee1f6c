"""Follow-ups and touches: the day's queue, claims, logging touches (generating the queue is
``store.generation``; ``generate`` is re-exported here).

Every write is one transaction (``write_tx``); claims are single atomic UPDATEs, so two agents
on one database file never hold the same follow-up.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

import sqlite_utils

from tui_agent.core.dates import from_db_date, from_db_datetime, to_db
from tui_agent.core.models import FollowUp, FollowUpStatus, Reason, Stage, Touch
from tui_agent.core.queue_filter import QueueFilter
from tui_agent.core.rules import RuleSet
from tui_agent.store import outcomes
from tui_agent.store.db import retry_busy, write_tx
from tui_agent.store.facts import avg_gap_days as avg_gap_days  # re-exported
from tui_agent.store.facts import day_start
from tui_agent.store.generation import DEFERRED as DEFERRED  # re-exported
from tui_agent.store.generation import GenerateResult as GenerateResult
from tui_agent.store.generation import data_mark as data_mark
from tui_agent.store.generation import generate as generate
from tui_agent.store.generation import occurrences_for_day as occurrences_for_day
from tui_agent.store.outcomes import live_touch

T = TypeVar("T")
_CHUNK = 500


class ClaimLost(Exception):
    """The follow-up is held by another agent or no longer pending."""


class CapBlocked(ClaimLost):
    """The touch would break the frequency cap (the message is the reason). Nothing was
    written; the follow-up stays pending, so the agent can skip or snooze it, or log it with
    ``force=True``. A ClaimLost, so callers that refuse to copy on ClaimLost do so here too."""


def _chunks(items: Sequence[T], size: int = _CHUNK) -> Iterator[Sequence[T]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


# ---------------------------------------------------------------------------------------------
# The frequency cap's touch counts


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
