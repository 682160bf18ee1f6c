"""What came of touches, and corrections: outcomes, retraction (undo), opt-out and opt-in.

Nothing here updates or deletes a touch (the table's triggers forbid it): every outcome,
retraction, opt-out, opt-in and note is a new row in ``touch_events``. Reading, the latest
outcome of a touch wins, and a touch with a ``retract`` event is left out of the frequency cap,
the day's work and the attribution (:func:`live_touch`). Each write is one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlite_utils

from tui_agent.core.customer_page import (
    CapStatus,
    EventKind,
    Outcome,
    TouchEvent,
    TouchRecord,
    cap_check,
)
from tui_agent.core.dates import to_db
from tui_agent.core.models import Touch
from tui_agent.core.rules import Cap
from tui_agent.store.db import retry_busy, write_tx

DEFAULT_UNDO_MINUTES = 10


class DeskError(Exception):
    """A request the data refuses: no such touch or customer, already retracted, ..."""


class UndoRefused(DeskError):
    """The touch cannot be taken back (not the agent's own, too old, already retracted)."""


def live_touch(alias: str = "t") -> str:
    """SQL condition: the touch ``alias`` has not been retracted (uses idx_touch_events_touch)."""
    return (
        f"NOT EXISTS (SELECT 1 FROM touch_events e_ WHERE e_.touch_id = {alias}.id "
        "AND e_.kind = 'retract')"
    )


def insert_event(
    db: sqlite_utils.Database,
    *,
    customer_id: str,
    kind: EventKind,
    agent: str,
    at: datetime,
    touch_id: int | None = None,
    value: str | None = None,
    note: str | None = None,
) -> TouchEvent:
    """Append one event row; call inside :func:`write_tx`."""
    event_id = db.execute(
        "INSERT INTO touch_events (customer_id, touch_id, kind, value, note, agent, at) "
        "VALUES (?,?,?,?,?,?,?)",
        [customer_id, touch_id, kind.value, value, note, agent, to_db(at)],
    ).lastrowid
    assert event_id is not None
    at = at.replace(microsecond=0)
    return TouchEvent(event_id, customer_id, touch_id, kind, value, note, agent, at)


def _event(row: Sequence[Any]) -> TouchEvent:
    eid, cid, tid, kind, value, note, agent, at = row
    return TouchEvent(
        eid, cid, tid, EventKind(kind), value, note, agent, datetime.fromisoformat(at)
    )


_EVENT_COLS = "id, customer_id, touch_id, kind, value, note, agent, at"


def _clean_note(note: str | None) -> str | None:
    return note.strip() or None if note is not None else None


# ---------------------------------------------------------------------------------------------
# Outcomes


def record_outcome(
    db: sqlite_utils.Database,
    touch_id: int,
    outcome: Outcome | str,
    *,
    agent: str,
    note: str | None = None,
    now: datetime | None = None,
) -> TouchEvent:
    """Record what came of a touch (a new row; the latest outcome wins when reading).

    Raises ValueError for an unknown outcome name, DeskError for a touch that does not exist
    or was retracted.
    """
    value = Outcome(outcome)
    now = now or datetime.now()
    with write_tx(db):
        row = db.execute("SELECT customer_id FROM touches WHERE id = ?", [touch_id]).fetchone()
        if row is None:
            raise DeskError(f"touch #{touch_id} does not exist")
        if _retraction(db, touch_id) is not None:
            raise DeskError(f"touch #{touch_id} was retracted; its outcome cannot be recorded")
        return insert_event(
            db,
            customer_id=row[0],
            touch_id=touch_id,
            kind=EventKind.OUTCOME,
            value=value.value,
            note=_clean_note(note),
            agent=agent,
            at=now,
        )


def _retraction(db: sqlite_utils.Database, touch_id: int) -> TouchEvent | None:
    row = db.execute(
        f"SELECT {_EVENT_COLS} FROM touch_events WHERE touch_id = ? AND kind = 'retract' "
        "ORDER BY id LIMIT 1",
        [touch_id],
    ).fetchone()
    return None if row is None else _event(row)


# ---------------------------------------------------------------------------------------------
# Undo


@dataclass(frozen=True, slots=True)
class Undone:
    """A retracted touch; ``follow_up_id`` is back in the queue when ``reopened``."""

    touch_id: int
    customer_id: str
    follow_up_id: int | None
    reopened: bool
    event: TouchEvent


def undo_last_touch(
    db: sqlite_utils.Database,
    agent: str,
    *,
    now: datetime | None = None,
    within_minutes: int = DEFAULT_UNDO_MINUTES,
    touch_id: int | None = None,
    reason: str | None = None,
) -> Undone:
    """Take back ``agent``'s own last live touch (or ``touch_id``) logged within the window.

    Writes a ``retract`` event (who, when, why); the touch row stays, marked retracted. Its
    follow-up, if the touch closed one that is still ``done`` (and the customer has not opted
    out since), returns to the queue as pending with the claim released: the agent opens it
    again to redo it, and no hidden claim blocks other agents meanwhile.

    Raises UndoRefused with a one-line reason.
    """
    now = now or datetime.now()
    cutoff = now - timedelta(minutes=within_minutes)
    why = _clean_note(reason) or "taken back by the agent"
    with write_tx(db):
        if touch_id is None:
            row = db.execute(
                "SELECT id, agent, customer_id, follow_up_id, at FROM touches t "
                f"WHERE agent = ? AND {live_touch('t')} ORDER BY at DESC, id DESC LIMIT 1",
                [agent],
            ).fetchone()
            if row is None:
                raise UndoRefused(f"{agent} has no touch to take back")
        else:
            row = db.execute(
                "SELECT id, agent, customer_id, follow_up_id, at FROM touches WHERE id = ?",
                [touch_id],
            ).fetchone()
            if row is None:
                raise UndoRefused(f"touch #{touch_id} does not exist")
        tid, owner, customer_id, follow_up_id, at = row
        if owner != agent:
            raise UndoRefused(f"touch #{tid} was logged by {owner}, not {agent}: not yours to undo")
        if touch_id is not None and (done := _retraction(db, tid)) is not None:
            raise UndoRefused(f"touch #{tid} was already retracted by {done.agent}")
        logged = datetime.fromisoformat(at)
        if logged < cutoff:
            age = int((now - logged).total_seconds() // 60)
            raise UndoRefused(
                f"touch #{tid} was logged {age} min ago; only touches of the last "
                f"{within_minutes} min can be taken back"
            )
        event = insert_event(
            db,
            customer_id=customer_id,
            touch_id=tid,
            kind=EventKind.RETRACT,
            note=why,
            agent=agent,
            at=now,
        )
        reopened = False
        if follow_up_id is not None:
            reopened = (
                db.execute(
                    "UPDATE follow_ups SET status = 'pending', status_reason = ?, "
                    "claimed_by = NULL, claimed_at = NULL, updated_at = ? "
                    "WHERE id = ? AND status = 'done' AND NOT EXISTS (SELECT 1 FROM customers c "
                    "WHERE c.customer_id = follow_ups.customer_id AND c.opt_out = 1)",
                    [f"touch #{tid} retracted by {agent}: {why}", to_db(now), follow_up_id],
                ).rowcount
                == 1
            )
    return Undone(tid, customer_id, follow_up_id, reopened, event)


# ---------------------------------------------------------------------------------------------
# Opt-out and opt-in


def _opt_state(db: sqlite_utils.Database, customer_id: str) -> bool:
    row = db.execute(
        "SELECT opt_out FROM customers WHERE customer_id = ?", [customer_id]
    ).fetchone()
    if row is None:
        raise DeskError(f"customer {customer_id} does not exist")
    return bool(row[0])


def opt_out(
    db: sqlite_utils.Database,
    customer_id: str,
    agent: str,
    *,
    reason: str | None = None,
    now: datetime | None = None,
) -> tuple[TouchEvent, int]:
    """Mark the customer "do not contact", cancel their open follow-ups and log who and why.

    Returns the event and how many follow-ups were cancelled. Opting out an opted-out customer
    logs the event again (the latest word stands) and cancels nothing new.
    """
    now = now or datetime.now()
    stamp = to_db(now)
    with write_tx(db):
        _opt_state(db, customer_id)
        db.execute("UPDATE customers SET opt_out = 1 WHERE customer_id = ?", [customer_id])
        n: int = db.execute(
            "UPDATE follow_ups SET status = 'cancelled', status_reason = ?, claimed_by = NULL, "
            "updated_at = ? WHERE customer_id = ? AND status IN ('pending', 'snoozed')",
            [f"customer opted out (recorded by {agent})", stamp, customer_id],
        ).rowcount
        event = insert_event(
            db,
            customer_id=customer_id,
            kind=EventKind.OPT_OUT,
            note=_clean_note(reason),
            agent=agent,
            at=now,
        )
    return event, n


def opt_in(
    db: sqlite_utils.Database,
    customer_id: str,
    agent: str,
    *,
    reason: str,
    now: datetime | None = None,
) -> TouchEvent:
    """Reverse an opt-out (the customer asked to hear from the shop again), logged as a row.

    The follow-ups the opt-out cancelled stay cancelled (their moment has passed); the next
    ``generate`` plans new ones. Raises DeskError when the customer does not exist, is not
    opted out, or no reason is given.
    """
    why = _clean_note(reason)
    if not why:
        raise DeskError("an opt-in needs a reason (what the customer said, and where)")
    now = now or datetime.now()
    with write_tx(db):
        if not _opt_state(db, customer_id):
            raise DeskError(f"customer {customer_id} is not opted out; nothing to reverse")
        db.execute("UPDATE customers SET opt_out = 0 WHERE customer_id = ?", [customer_id])
        return insert_event(
            db, customer_id=customer_id, kind=EventKind.OPT_IN, note=why, agent=agent, at=now
        )


def set_notes(
    db: sqlite_utils.Database,
    customer_id: str,
    notes: str,
    agent: str,
    *,
    now: datetime | None = None,
) -> TouchEvent:
    """Replace the customer's notes; the new text is also logged as a ``note`` event."""
    now = now or datetime.now()
    text = notes.strip() or None
    with write_tx(db):
        _opt_state(db, customer_id)
        db.execute("UPDATE customers SET notes = ? WHERE customer_id = ?", [text, customer_id])
        return insert_event(
            db, customer_id=customer_id, kind=EventKind.NOTE, note=text, agent=agent, at=now
        )


# ---------------------------------------------------------------------------------------------
# Reading


def events_for_customer(db: sqlite_utils.Database, customer_id: str) -> list[TouchEvent]:
    """Every event of the customer (touch and customer events), oldest first."""
    rows = retry_busy(
        lambda: db.execute(
            f"SELECT {_EVENT_COLS} FROM touch_events WHERE customer_id = ? ORDER BY at, id",
            [customer_id],
        ).fetchall()
    )
    return [_event(r) for r in rows]


def touch_records(
    db: sqlite_utils.Database, customer_id: str, *, limit: int | None = None
) -> list[TouchRecord]:
    """The customer's touches, latest first, each with its latest outcome and any retraction."""
    sql = (
        "SELECT id, agent, customer_id, follow_up_id, phrase_id, text, channel, at, outcome, "
        "stage, reply FROM touches WHERE customer_id = ? ORDER BY at DESC, id DESC"
    )
    params: list[Any] = [customer_id]
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    rows = retry_busy(lambda: db.execute(sql, params).fetchall())
    by_touch: dict[int, list[TouchEvent]] = {}
    for e in events_for_customer(db, customer_id):
        if e.touch_id is not None:
            by_touch.setdefault(e.touch_id, []).append(e)
    out = []
    for r in rows:
        touch = Touch(
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
        out.append(_record(touch, bool(r[10]), tuple(by_touch.get(touch.id, ()))))
    return out


def _record(touch: Touch, reply: bool, events: tuple[TouchEvent, ...]) -> TouchRecord:
    outcomes = [e for e in events if e.kind == EventKind.OUTCOME]
    retraction = next((e for e in events if e.kind == EventKind.RETRACT), None)
    if outcomes:
        last = max(outcomes, key=lambda e: (e.at, e.id))
        return TouchRecord(
            touch,
            reply,
            _outcome(last.value),
            last.note,
            last.agent,
            last.at,
            retraction,
            events,
        )
    return TouchRecord(touch, reply, _outcome(touch.outcome), retraction=retraction, events=events)


def _outcome(value: str | None) -> Outcome | None:
    try:
        return Outcome(value) if value else None
    except ValueError:  # an outcome text from an older version: not one of ours
        return None


def live_touch_counts(
    db: sqlite_utils.Database, customer_id: str, now: datetime
) -> tuple[int, int]:
    """The customer's live proactive touches in the 24 h and 7 days before ``now``.

    Replies and retracted touches do not count (the same rule as
    ``store.followups.touch_counts``, which the scheduler uses).
    """
    row = retry_busy(
        lambda: db.execute(
            "SELECT total(t.at >= ?), count(*) FROM touches t WHERE t.customer_id = ? "
            f"AND t.at >= ? AND t.reply = 0 AND {live_touch('t')}",
            [to_db(now - timedelta(hours=24)), customer_id, to_db(now - timedelta(days=7))],
        ).fetchone()
    )
    return int(row[0]), int(row[1])


def cap_status(
    db: sqlite_utils.Database,
    customer_id: str,
    cap: Cap,
    *,
    now: datetime,
    reply: bool = False,
) -> CapStatus:
    """Whether one more touch now breaks the frequency cap or the opt-out, and why.

    Raises DeskError for an unknown customer.
    """
    opted = retry_busy(lambda: _opt_state(db, customer_id))
    n24, n7 = live_touch_counts(db, customer_id, now)
    return cap_check(cap, n24, n7, opted_out=opted, reply=reply)


def latest_outcome_sql(alias: str = "t") -> str:
    """SQL expression: the touch ``alias``'s latest outcome (event, else its own column)."""
    return (
        f"coalesce((SELECT e_.value FROM touch_events e_ WHERE e_.touch_id = {alias}.id "
        f"AND e_.kind = 'outcome' ORDER BY e_.at DESC, e_.id DESC LIMIT 1), {alias}.outcome)"
    )


def outcome_counts(
    db: sqlite_utils.Database, start: datetime, end: datetime
) -> dict[str | None, int]:
    """Live touches logged in ``[start, end)`` by their latest outcome (None: not recorded).

    The one definition of "what came of the touches" for stats: retracted touches left out,
    the latest outcome of each touch counted once.
    """
    rows = retry_busy(
        lambda: db.execute(
            f"SELECT {latest_outcome_sql('t')} AS o, count(*) FROM touches t "
            f"WHERE t.at >= ? AND t.at < ? AND {live_touch('t')} GROUP BY o",
            [to_db(start), to_db(end)],
        ).fetchall()
    )
    return {o: int(n) for o, n in rows}
