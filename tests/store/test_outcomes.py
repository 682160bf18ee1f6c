"""Outcomes, undo (retraction), opt-out/opt-in, reply touches and the frequency cap."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta

import pytest
import sqlite_utils

from tests.helpers import add_customer, add_order
from tui_agent.core.customer_page import EventKind, Outcome
from tui_agent.core.rules import Cap
from tui_agent.store import analytics, worklog
from tui_agent.store import followups as fu
from tui_agent.store import outcomes as oc
from tui_agent.store.db import write_tx

NOW = datetime(2026, 11, 29, 10, 0, 0)
TODAY = NOW.date()
CAP = Cap(per_24h=1, per_7d=2)


@pytest.fixture
def shop(db: sqlite_utils.Database) -> sqlite_utils.Database:
    with write_tx(db):
        add_customer(db, "C1", name="王芳")
        add_customer(db, "C2", name="李强")
    return db


def follow_up(db: sqlite_utils.Database, cid: str = "C1", due: str = "2026-11-29") -> int:
    fid = db.execute(
        "INSERT INTO follow_ups (customer_id, stage, rule, due_date, created_at, updated_at) "
        "VALUES (?, 'satisfaction', 'check+3', ?, 'x', 'x')",
        [cid, due],
    ).lastrowid
    assert fid is not None
    return fid


def touch(
    db: sqlite_utils.Database,
    agent: str = "lily",
    cid: str = "C1",
    at: datetime = NOW,
    *,
    follow_up_id: int | None = None,
    reply: bool = False,
) -> int:
    return fu.log_touch(
        db, agent=agent, customer_id=cid, text="hi", follow_up_id=follow_up_id, now=at, reply=reply
    )


def status(db: sqlite_utils.Database, fid: int) -> tuple[str, str | None, str | None]:
    row = db.execute(
        "SELECT status, claimed_by, status_reason FROM follow_ups WHERE id = ?", [fid]
    ).fetchone()
    return row[0], row[1], row[2]


# ---------------------------------------------------------------------------------------------
# Outcomes


def test_outcome_is_a_new_row_and_the_latest_wins(shop: sqlite_utils.Database) -> None:
    tid = touch(shop)
    oc.record_outcome(shop, tid, "no_reply", agent="lily", now=NOW)
    later = NOW + timedelta(hours=3)
    event = oc.record_outcome(shop, tid, Outcome.REPLIED, agent="mike", note=" 问价 ", now=later)
    assert (event.kind, event.value, event.note, event.agent) == (
        "outcome",
        "replied",
        "问价",
        "mike",
    )
    (record,) = oc.touch_records(shop, "C1")
    assert record.outcome is Outcome.REPLIED and record.outcome_note == "问价"
    assert record.outcome_by == "mike" and record.outcome_at == later
    assert [e.value for e in record.events] == ["no_reply", "replied"]
    # the touch row itself is untouched
    assert shop.execute("SELECT outcome FROM touches WHERE id = ?", [tid]).fetchone() == (None,)


def test_outcome_refused_for_unknown_retracted_or_bad_name(shop: sqlite_utils.Database) -> None:
    with pytest.raises(oc.DeskError, match="does not exist"):
        oc.record_outcome(shop, 99, "replied", agent="lily", now=NOW)
    tid = touch(shop)
    with pytest.raises(ValueError):
        oc.record_outcome(shop, tid, "happy", agent="lily", now=NOW)
    oc.undo_last_touch(shop, "lily", now=NOW)
    with pytest.raises(oc.DeskError, match="retracted"):
        oc.record_outcome(shop, tid, "replied", agent="lily", now=NOW)
    assert shop.execute("SELECT count(*) FROM touch_events WHERE kind='outcome'").fetchone() == (0,)


def test_touch_events_are_append_only(shop: sqlite_utils.Database) -> None:
    oc.record_outcome(shop, touch(shop), "replied", agent="lily", now=NOW)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        shop.execute("UPDATE touch_events SET value = 'ordered'")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        shop.execute("DELETE FROM touch_events")


# ---------------------------------------------------------------------------------------------
# Undo


def test_undo_inside_the_window_retracts_and_reopens_the_follow_up(
    shop: sqlite_utils.Database,
) -> None:
    fid = follow_up(shop)
    assert fu.claim(shop, fid, "lily", now=NOW)
    tid = touch(shop, follow_up_id=fid)
    assert status(shop, fid)[0] == "done"
    undone = oc.undo_last_touch(
        shop, "lily", now=NOW + timedelta(minutes=9, seconds=59), reason="wrong phrase"
    )
    assert (undone.touch_id, undone.follow_up_id, undone.reopened) == (tid, fid, True)
    assert undone.event.kind is EventKind.RETRACT and undone.event.note == "wrong phrase"
    st, holder, reason = status(shop, fid)
    assert st == "pending" and holder is None  # back in the queue, claim released
    assert reason == f"touch #{tid} retracted by lily: wrong phrase"
    assert [f.id for f in fu.due_queue(shop, TODAY)] == [fid]
    # the touch row stays
    assert shop.execute("SELECT count(*) FROM touches").fetchone() == (1,)
    (record,) = oc.touch_records(shop, "C1")
    assert record.retracted and record.retraction is not None
    assert record.retraction.agent == "lily"


def test_undo_outside_the_window_is_refused(shop: sqlite_utils.Database) -> None:
    fid = follow_up(shop)
    touch(shop, follow_up_id=fid)
    with pytest.raises(oc.UndoRefused, match="11 min ago; only touches of the last 10 min"):
        oc.undo_last_touch(shop, "lily", now=NOW + timedelta(minutes=11))
    assert status(shop, fid)[0] == "done"
    assert shop.execute("SELECT count(*) FROM touch_events").fetchone() == (0,)
    # a wider window (the config's [work] undo_minutes) allows it
    oc.undo_last_touch(shop, "lily", now=NOW + timedelta(minutes=11), within_minutes=15)
    assert status(shop, fid)[0] == "pending"


def test_undo_refuses_another_agents_touch(shop: sqlite_utils.Database) -> None:
    tid = touch(shop, agent="mike")
    with pytest.raises(oc.UndoRefused, match="lily has no touch"):
        oc.undo_last_touch(shop, "lily", now=NOW)
    with pytest.raises(oc.UndoRefused, match="logged by mike, not lily"):
        oc.undo_last_touch(shop, "lily", now=NOW, touch_id=tid)
    assert oc.touch_records(shop, "C1")[0].retracted is False


def test_undo_takes_the_agents_own_last_live_touch_and_not_twice(
    shop: sqlite_utils.Database,
) -> None:
    first = touch(shop, at=NOW - timedelta(minutes=5))
    second = touch(shop, cid="C2", at=NOW - timedelta(minutes=1))
    touch(shop, agent="mike", at=NOW)
    assert oc.undo_last_touch(shop, "lily", now=NOW).touch_id == second
    with pytest.raises(oc.UndoRefused, match="already retracted"):
        oc.undo_last_touch(shop, "lily", now=NOW, touch_id=second)
    assert oc.undo_last_touch(shop, "lily", now=NOW).touch_id == first
    with pytest.raises(oc.UndoRefused, match="no touch"):
        oc.undo_last_touch(shop, "lily", now=NOW)
    with pytest.raises(oc.UndoRefused, match="does not exist"):
        oc.undo_last_touch(shop, "lily", now=NOW, touch_id=999)


def test_undo_leaves_a_follow_up_of_an_opted_out_customer_closed(
    shop: sqlite_utils.Database,
) -> None:
    fid = follow_up(shop)
    touch(shop, follow_up_id=fid)
    oc.opt_out(shop, "C1", "mike", reason="asked to stop", now=NOW)
    undone = oc.undo_last_touch(shop, "lily", now=NOW)
    assert not undone.reopened and status(shop, fid)[0] == "done"


def test_retracted_touch_counts_in_no_cap_progress_or_attribution(
    shop: sqlite_utils.Database,
) -> None:
    add_order(shop, "O1", "C1", "2026-11-30 10:00:00", None)  # bought the day after the touch
    fid = follow_up(shop)
    touch(shop, follow_up_id=fid)
    assert fu.touch_counts(shop, ["C1"], NOW + timedelta(hours=1)) == ({"C1": 1}, {"C1": 1})
    assert worklog.day_work(shop, TODAY).total == 1
    later = TODAY + timedelta(days=30)  # the attribution window has closed
    assert analytics.attribution(shop, TODAY, TODAY, today=later).total.touches == 1
    assert fu.day_progress(shop, TODAY).done == 1
    oc.undo_last_touch(shop, "lily", now=NOW + timedelta(minutes=1))
    assert fu.touch_counts(shop, ["C1"], NOW + timedelta(hours=1)) == ({}, {})
    assert worklog.day_work(shop, TODAY).total == 0
    assert analytics.attribution(shop, TODAY, TODAY, today=later).total.touches == 0
    assert analytics.attribution(shop, TODAY, TODAY).maturing.touches == 0
    assert sum(analytics.daily_series(shop, TODAY, TODAY).touches) == 0
    progress = fu.day_progress(shop, TODAY)
    assert (progress.done, progress.remaining) == (0, 1)
    status_now = oc.cap_status(shop, "C1", CAP, now=NOW + timedelta(hours=1))
    assert status_now.level == "ok" and status_now.touches_24h == 0


# ---------------------------------------------------------------------------------------------
# Replies and the cap


def test_reply_touches_are_outside_the_cap(shop: sqlite_utils.Database) -> None:
    touch(shop, reply=True)
    touch(shop, reply=True, at=NOW + timedelta(minutes=1))
    later = NOW + timedelta(minutes=2)
    assert fu.touch_counts(shop, ["C1"], later) == ({}, {})
    assert oc.cap_status(shop, "C1", CAP, now=later).level == "ok"
    assert worklog.day_work(shop, TODAY).total == 2  # replies are still work done
    records = oc.touch_records(shop, "C1")
    assert all(r.reply for r in records)


def test_cap_status_blocks_proactive_and_warns_a_reply(shop: sqlite_utils.Database) -> None:
    touch(shop)
    later = NOW + timedelta(hours=2)
    proactive = oc.cap_status(shop, "C1", CAP, now=later)
    assert proactive.blocked and proactive.touches_24h == 1
    assert "1 touch(es) in the last 24 h (limit 1)" in proactive.message
    reply = oc.cap_status(shop, "C1", CAP, now=later, reply=True)
    assert reply.level == "warn" and not reply.blocked
    assert "not proactive" in reply.message
    # a day later the 24 h limit is free, the 7-day one not yet reached
    assert oc.cap_status(shop, "C1", CAP, now=NOW + timedelta(hours=25)).level == "ok"
    touch(shop, at=NOW + timedelta(hours=25))
    week = oc.cap_status(shop, "C1", CAP, now=NOW + timedelta(hours=50))
    assert week.blocked and "7 days" in week.message
    with pytest.raises(oc.DeskError):
        oc.cap_status(shop, "nobody", CAP, now=NOW)


def test_cap_status_for_an_opted_out_customer(shop: sqlite_utils.Database) -> None:
    oc.opt_out(shop, "C2", "lily", now=NOW)
    assert oc.cap_status(shop, "C2", CAP, now=NOW).blocked
    reply = oc.cap_status(shop, "C2", CAP, now=NOW, reply=True)
    assert reply.level == "warn" and reply.opted_out and "opted out" in reply.message


# ---------------------------------------------------------------------------------------------
# Opt-out and opt-in


def test_opt_out_and_opt_in_are_logged_rows(shop: sqlite_utils.Database) -> None:
    fid = follow_up(shop)
    event, cancelled = oc.opt_out(shop, "C1", "lily", reason="电话里说别再发", now=NOW)
    assert cancelled == 1 and status(shop, fid)[0] == "cancelled"
    assert event.kind is EventKind.OPT_OUT and event.note == "电话里说别再发"
    back = oc.opt_in(shop, "C1", "mike", reason="客户主动要求恢复", now=NOW + timedelta(days=1))
    assert back.kind is EventKind.OPT_IN and back.agent == "mike"
    row = shop.execute("SELECT opt_out FROM customers WHERE customer_id='C1'").fetchone()
    assert row == (0,)
    assert status(shop, fid)[0] == "cancelled"  # its moment has passed: not revived
    kinds = [e.kind for e in oc.events_for_customer(shop, "C1")]
    assert kinds == [EventKind.OPT_OUT, EventKind.OPT_IN]


def test_opt_in_refused_when_not_opted_out_or_without_reason(shop: sqlite_utils.Database) -> None:
    with pytest.raises(oc.DeskError, match="not opted out"):
        oc.opt_in(shop, "C1", "lily", reason="why not", now=NOW)
    oc.opt_out(shop, "C1", "lily", now=NOW)
    with pytest.raises(oc.DeskError, match="needs a reason"):
        oc.opt_in(shop, "C1", "lily", reason="  ", now=NOW)
    with pytest.raises(oc.DeskError, match="does not exist"):
        oc.opt_in(shop, "nobody", "lily", reason="x", now=NOW)
    assert [e.kind for e in oc.events_for_customer(shop, "C1")] == [EventKind.OPT_OUT]


def test_followups_opt_out_is_logged_too(shop: sqlite_utils.Database) -> None:
    follow_up(shop)
    assert fu.opt_out(shop, "C1", "lily", now=NOW) == 1
    (event,) = oc.events_for_customer(shop, "C1")
    assert event.kind is EventKind.OPT_OUT and event.agent == "lily"


def test_migration_adds_the_desk_schema(shop: sqlite_utils.Database) -> None:
    cols = {r[1] for r in shop.execute("PRAGMA table_info(customers)")}
    assert {"notes", "search_pinyin", "search_initials"} <= cols
    assert "reply" in {r[1] for r in shop.execute("PRAGMA table_info(touches)")}
    assert shop.execute("SELECT count(*) FROM touch_events").fetchone() == (0,)


def test_card_touches_show_the_latest_outcome_and_leave_out_retracted(
    shop: sqlite_utils.Database,
) -> None:
    kept = touch(shop, at=NOW - timedelta(hours=1))
    oc.record_outcome(shop, kept, "no_reply", agent="lily", now=NOW)
    oc.record_outcome(shop, kept, "ordered", agent="lily", now=NOW + timedelta(minutes=1))
    touch(shop, at=NOW)
    oc.undo_last_touch(shop, "lily", now=NOW)
    (card,) = fu.touches_for_customer(shop, "C1")
    assert card.id == kept and card.outcome == "ordered"


def test_outcome_counts_latest_per_live_touch(shop: sqlite_utils.Database) -> None:
    a = touch(shop, at=NOW - timedelta(hours=2))
    b = touch(shop, cid="C2", at=NOW - timedelta(hours=1))
    touch(shop, agent="mike", at=NOW - timedelta(minutes=30))
    oc.record_outcome(shop, a, "no_reply", agent="lily", now=NOW)
    oc.record_outcome(shop, a, "ordered", agent="lily", now=NOW + timedelta(minutes=1))
    oc.record_outcome(shop, b, "problem", agent="lily", now=NOW)
    day = datetime(2026, 11, 29)
    assert oc.outcome_counts(shop, day, day + timedelta(days=1)) == {
        "ordered": 1, "problem": 1, None: 1,
    }  # fmt: skip
    oc.undo_last_touch(shop, "lily", now=NOW, within_minutes=90)  # takes back b
    assert oc.outcome_counts(shop, day, day + timedelta(days=1)) == {"ordered": 1, None: 1}


def test_a_reply_closing_a_follow_up_passes_the_cap_check_at_work(
    shop: sqlite_utils.Database,
) -> None:
    from tui_agent.core.rules import load_rules
    from tui_agent.paths import rules_path

    rules = load_rules(rules_path())
    touch(shop)  # a proactive touch: the 24 h cap is reached
    fid = follow_up(shop)
    later = NOW + timedelta(hours=1)
    with pytest.raises(fu.CapBlocked):
        fu.log_touch(shop, agent="lily", customer_id="C1", text="t", follow_up_id=fid,
                     now=later, rules=rules)  # fmt: skip
    tid = fu.log_touch(shop, agent="lily", customer_id="C1", text="t", follow_up_id=fid,
                       now=later, rules=rules, reply=True)  # fmt: skip
    assert oc.touch_records(shop, "C1")[0].touch.id == tid
