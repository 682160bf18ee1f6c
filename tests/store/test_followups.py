"""Generating, ordering, claiming and closing follow-ups on a real SQLite file."""

from __future__ import annotations

import multiprocessing as mp
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
import sqlite_utils

from tests.helpers import add_customer, add_order
from tui_agent.core.rules import RuleSet, load_rules
from tui_agent.paths import rules_path
from tui_agent.store import followups as fu
from tui_agent.store import generation as gen
from tui_agent.store.db import connect, write_tx

RULES: RuleSet = load_rules(rules_path())
D = date(2026, 3, 10)


def statuses(db: sqlite_utils.Database) -> dict[str, str]:
    return dict(db.execute("SELECT customer_id, status FROM follow_ups").fetchall())


def test_generate_is_idempotent_and_merges(db: sqlite_utils.Database) -> None:
    add_customer(db, "c1", birthday="1990-03-10")
    add_order(db, "o1", "c1", "2026-03-01 10:00:00", "2026-03-03 10:00:00")  # +7 = review today
    first = fu.generate(db, D, RULES)
    assert first.created == 1
    queue = fu.due_queue(db, D)
    assert len(queue) == 1
    assert {r.rule for r in queue[0].reasons} == {"review", "birthday"}
    assert queue[0].rule == "birthday"
    counts = (
        db.execute("SELECT count(*) FROM follow_ups").fetchone(),
        db.execute("SELECT count(*) FROM follow_up_reasons").fetchone(),
    )
    again = fu.generate(db, D, RULES)
    assert (again.created, again.merged) == (0, 0)
    assert counts == (
        db.execute("SELECT count(*) FROM follow_ups").fetchone(),
        db.execute("SELECT count(*) FROM follow_up_reasons").fetchone(),
    )


def test_overdue_is_carried_forward_and_first(db: sqlite_utils.Database) -> None:
    add_customer(db, "rich", total_spent=0)
    add_customer(db, "old")
    add_order(db, "o1", "old", "2026-03-01 10:00:00", "2026-03-08 10:00:00", 10)  # care due 03-09
    add_order(
        db, "o2", "rich", "2026-03-01 10:00:00", "2026-03-09 10:00:00", 9999
    )  # care due 03-10
    fu.generate(db, D - timedelta(days=1), RULES)
    fu.generate(db, D, RULES)
    queue = fu.due_queue(db, D)
    assert [f.customer_id for f in queue] == ["old", "rich"]
    assert queue[0].overdue_days(D) == 1 and queue[1].overdue_days(D) == 0


def test_queue_orders_by_customer_value_among_equals(db: sqlite_utils.Database) -> None:
    for cid, amount in [("a", 50), ("b", 500), ("c", 5)]:
        add_customer(db, cid)
        add_order(db, f"o{cid}", cid, "2026-03-01 10:00:00", "2026-03-09 12:00:00", amount)
    fu.generate(db, D, RULES)
    assert [f.customer_id for f in fu.due_queue(db, D)] == ["b", "a", "c"]


def test_opt_out_customer_gets_nothing_and_opt_out_cancels(db: sqlite_utils.Database) -> None:
    add_customer(db, "no", opt_out=1)
    add_customer(db, "yes")
    add_order(db, "o1", "no", "2026-03-01", "2026-03-09 10:00:00")
    add_order(db, "o2", "yes", "2026-03-01", "2026-03-09 10:00:00")
    fu.generate(db, D, RULES)
    assert statuses(db) == {"yes": "pending"}
    assert fu.opt_out(db, "yes", "lily") == 1
    assert statuses(db) == {"yes": "cancelled"}
    assert db.execute("SELECT opt_out FROM customers WHERE customer_id='yes'").fetchone()[0] == 1


def test_repurchase_cancels_pending_winback(db: sqlite_utils.Database) -> None:
    add_customer(db, "c1")
    add_order(db, "o1", "c1", "2025-12-10 10:00:00", "2025-12-12 10:00:00")
    rule = RULES.by_id("winback")
    assert rule is not None
    day = date(2025, 12, 10) + timedelta(days=rule.default_days)
    fu.generate(db, day, RULES)
    assert fu.due_queue(db, day)[0].rule == "winback"
    add_order(db, "o2", "c1", f"{day.isoformat()} 15:00:00", None, seq=2)
    result = fu.generate(db, day + timedelta(days=1), RULES)
    assert result.cancelled == 1
    row = db.execute("SELECT status, status_reason FROM follow_ups WHERE rule='winback'").fetchone()
    assert row[0] == "cancelled" and "ordered again" in row[1]


def test_frequency_cap_records_skipped(db: sqlite_utils.Database) -> None:
    add_customer(db, "c1")
    # delivered 8 February: the +30 repurchase coupon (marketing, capped) is due 10 March
    add_order(db, "o1", "c1", "2026-02-01", "2026-02-08 10:00:00")
    fu.log_touch(db, agent="lily", customer_id="c1", text="hi", now=datetime(2026, 3, 9, 16, 0))
    fu.generate(db, D, RULES)
    row = db.execute("SELECT status, status_reason FROM follow_ups").fetchone()
    assert row[0] == "skipped" and row[1].startswith("cap:")
    assert fu.due_queue(db, D) == []


def test_claims_are_exclusive_and_expire(db: sqlite_utils.Database) -> None:
    add_customer(db, "c1")
    add_order(db, "o1", "c1", "2026-03-01", "2026-03-09 10:00:00")
    fu.generate(db, D, RULES)
    fid = fu.due_queue(db, D)[0].id
    t0 = datetime(2026, 3, 10, 9, 0)
    assert fu.claim(db, fid, "a", now=t0)
    assert not fu.claim(db, fid, "b", now=t0 + timedelta(minutes=5))
    with pytest.raises(fu.ClaimLost, match="being worked by a"):
        fu.log_touch(
            db,
            agent="b",
            customer_id="c1",
            text="x",
            follow_up_id=fid,
            now=t0 + timedelta(minutes=6),
        )
    assert db.execute("SELECT count(*) FROM touches").fetchone()[0] == 0
    assert fu.claim(db, fid, "b", expire_minutes=30, now=t0 + timedelta(minutes=31))
    tid = fu.log_touch(
        db,
        agent="b",
        customer_id="c1",
        text="您好",
        follow_up_id=fid,
        phrase_id="p1",
        stage="first_purchase",
        now=t0 + timedelta(minutes=32),
    )
    assert db.execute(
        "SELECT agent, text, follow_up_id FROM touches WHERE id=?", [tid]
    ).fetchone() == ("b", "您好", fid)
    assert db.execute("SELECT status, claimed_by FROM follow_ups WHERE id=?", [fid]).fetchone() == (
        "done",
        "b",
    )
    with pytest.raises(fu.ClaimLost, match="already done"):
        fu.log_touch(db, agent="a", customer_id="c1", text="again", follow_up_id=fid)


def test_snooze_brings_it_back_on_the_day(db: sqlite_utils.Database) -> None:
    add_customer(db, "c1")
    add_order(db, "o1", "c1", "2026-03-01", "2026-03-09 10:00:00")
    fu.generate(db, D, RULES)
    fid = fu.due_queue(db, D)[0].id
    fu.snooze(db, fid, "a", D + timedelta(days=3))
    assert fu.due_queue(db, D) == []
    fu.generate(db, D + timedelta(days=2), RULES)
    assert fu.due_queue(db, D + timedelta(days=2)) == []
    fu.generate(db, D + timedelta(days=3), RULES)
    assert [f.id for f in fu.due_queue(db, D + timedelta(days=3))] == [fid]


def test_skip_records_reason_and_progress_counts_it(db: sqlite_utils.Database) -> None:
    add_customer(db, "c1")
    add_customer(db, "c2")
    add_order(db, "o1", "c1", "2026-03-01", "2026-03-09 10:00:00")
    add_order(db, "o2", "c2", "2026-03-01", "2026-03-09 10:00:00")
    fu.generate(db, D, RULES)
    fid = fu.due_queue(db, D)[0].id
    fu.skip(db, fid, "a", "wrong number", now=datetime(2026, 3, 10, 11, 0))
    reason = db.execute("SELECT status_reason FROM follow_ups WHERE id=?", [fid]).fetchone()[0]
    assert reason == "skipped by a: wrong number"
    p = fu.day_progress(db, D)
    assert (p.done, p.remaining, p.total) == (1, 1, 2)


def _claim_all(path: str, agent: str, ids: list[int], out: mp.Queue) -> None:  # type: ignore[type-arg]
    db = connect(path)
    won = [i for i in ids if fu.claim(db, i, agent)]
    out.put((agent, won))


def test_claims_under_contention_from_processes(db_path: Path, db: sqlite_utils.Database) -> None:
    for i in range(40):
        add_customer(db, f"c{i}")
        add_order(db, f"o{i}", f"c{i}", "2026-03-01", "2026-03-09 10:00:00")
    fu.generate(db, D, RULES)
    ids = [f.id for f in fu.due_queue(db, D)]
    assert len(ids) == 40
    ctx = mp.get_context("spawn")
    q: mp.Queue = ctx.Queue()  # type: ignore[type-arg]
    procs = [
        ctx.Process(target=_claim_all, args=(str(db_path), f"agent{n}", ids, q)) for n in range(4)
    ]
    for p in procs:
        p.start()
    results = [q.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    won = [i for _, w in results for i in w]
    assert sorted(won) == sorted(ids)  # every follow-up claimed exactly once
    holders = dict(db.execute("SELECT id, claimed_by FROM follow_ups").fetchall())
    for agent, w in results:
        assert all(holders[i] == agent for i in w)


def test_daily_queries_use_indexes(db: sqlite_utils.Database) -> None:
    plans = {
        "queue": "SELECT * FROM follow_ups WHERE status = 'pending' AND due_date <= '2026-03-10'",
        "delivered": "SELECT order_id FROM orders WHERE delivered_at >= '2026-03-01' AND delivered_at < '2026-03-02'",
        "ordered": "SELECT order_id FROM orders WHERE ordered_at >= '2026-03-01' AND ordered_at < '2026-03-02' AND delivered_at IS NULL",
        "birthday": "SELECT customer_id FROM customers WHERE birth_md IN ('03-10')",
        "winback": "SELECT customer_id FROM customers WHERE last_order_at >= '2026-01-01' AND last_order_at < '2026-01-02'",
        "touches": "SELECT customer_id FROM touches WHERE customer_id IN ('a') AND at >= '2026-03-01'",
        "open": "SELECT customer_id FROM follow_ups WHERE status IN ('pending','snoozed') AND customer_id IN ('a')",
    }
    for name, sql in plans.items():
        detail = " ".join(str(r[3]) for r in db.execute("EXPLAIN QUERY PLAN " + sql).fetchall())
        assert "USING INDEX" in detail or "USING COVERING INDEX" in detail, (name, detail)


def test_replenishment_names_its_product(db: sqlite_utils.Database) -> None:
    add_customer(db, "c1")
    # the face masks (cheap) are due for replenishment, not the expensive headphones
    add_order(
        db,
        "o1",
        "c1",
        "2026-02-01 10:00:00",
        "2026-02-03 10:00:00",
        700,
        lines=[("EL1", "降噪耳机", "electronics"), ("BT1", "补水面膜", "beauty")],
    )
    db.execute(
        "INSERT INTO products (sku, name, category, cycle_days) VALUES ('BT1', '补水面膜', 'beauty', 30)"
    )
    rule = RULES.by_id("replenish")
    assert rule is not None
    day = date(2026, 2, 3) + timedelta(days=30 - rule.lead_days)
    fu.generate(db, day, RULES)
    item = next(f for f in fu.due_queue(db, day) if any(r.rule == "replenish" for r in f.reasons))
    assert item.focus is not None
    assert (item.focus.product, item.focus.category) == ("补水面膜", "beauty")


def test_occurrences_found_before_another_generation_are_not_written_twice(
    db_path: Path, db: sqlite_utils.Database
) -> None:
    """Occurrences are found without the write lock; planning runs under it, so what
    another process wrote meanwhile is not written again (nor merged into itself)."""
    add_customer(db, "c1")
    add_order(db, "o1", "c1", "2026-03-01", "2026-03-09 10:00:00")
    gen.collect(db, D, RULES)  # this process found the care occurrence...
    assert fu.generate(connect(db_path), D, RULES).created == 1  # ...another one wrote it
    with write_tx(db):
        assert gen.plan_and_write(db, D, RULES, "2026-03-10 08:00:00") == (0, 0, 0)
    assert db.execute("SELECT count(*) FROM follow_up_reasons").fetchone()[0] == 1


def _generate(path: str, day: str, out: mp.Queue) -> None:  # type: ignore[type-arg]
    try:
        result = fu.generate(connect(path), date.fromisoformat(day), RULES)
        out.put(("ok", result.created))
    except Exception as exc:  # reported to the test, which fails on it
        out.put(("error", repr(exc)))


def test_concurrent_generation_creates_each_follow_up_once(
    db_path: Path, db: sqlite_utils.Database
) -> None:
    for i in range(60):
        add_customer(db, f"c{i}")
        add_order(db, f"o{i}", f"c{i}", "2026-03-01", "2026-03-09 10:00:00")
    ctx = mp.get_context("spawn")
    q: mp.Queue = ctx.Queue()  # type: ignore[type-arg]
    procs = [ctx.Process(target=_generate, args=(str(db_path), D.isoformat(), q)) for _ in range(3)]
    for p in procs:
        p.start()
    results = [q.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    assert all(status == "ok" for status, _ in results), results
    assert sum(created for _, created in results) == 60
    assert db.execute("SELECT count(*) FROM follow_ups").fetchone()[0] == 60


def test_an_order_imported_late_keeps_its_caught_up_occurrences(
    db: sqlite_utils.Database,
) -> None:
    """Defect 5 (issue 10): delivered 03-07, imported 03-10 after 03-09 was generated: the
    care (03-08) and experience check (03-10) are within catch_up_days and must be created;
    occurrences older than catch_up_days still are not."""
    add_customer(db, "late")
    add_customer(db, "old")
    fu.generate(db, D - timedelta(days=1), RULES)  # 9 March generated, nothing due
    add_order(db, "o1", "late", "2026-03-01", "2026-03-07 10:00:00")
    add_order(db, "o2", "old", "2026-02-20", "2026-02-25 10:00:00")  # review 03-04: stale
    fu.generate(db, D, RULES)
    queue = fu.due_queue(db, D)
    assert [f.customer_id for f in queue] == ["late"]
    assert {r.rule for r in queue[0].reasons} == {"care", "experience"}
