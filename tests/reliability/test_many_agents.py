"""Many agents on one database file: 8 processes claim follow-ups and log touches at once."""

from __future__ import annotations

import multiprocessing as mp
from collections import Counter
from pathlib import Path

import sqlite_utils

from tests.helpers import add_customer
from tests.reliability.workers import TODAY, agent_loop
from tui_agent.store.db import write_tx

AGENTS = 8
FOLLOW_UPS = 240


def _seed(db: sqlite_utils.Database) -> set[int]:
    with write_tx(db):
        for n in range(FOLLOW_UPS):
            add_customer(db, f"c{n:04d}", total_spent=n)
            db.execute(
                "INSERT INTO follow_ups (customer_id, stage, rule, due_date, status, created_at, "
                "updated_at) VALUES (?, 'satisfaction', 'care', ?, 'pending', '2026-03-10 08:00:00', "
                "'2026-03-10 08:00:00')",
                [f"c{n:04d}", TODAY.isoformat()],
            )
    return {r[0] for r in db.execute("SELECT id FROM follow_ups")}


def test_eight_agents_no_lost_touch_no_double_claim_no_lock_error(
    db_path: Path, db: sqlite_utils.Database
) -> None:
    ids = _seed(db)
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(AGENTS)
    out = ctx.Queue()
    procs = [
        ctx.Process(target=agent_loop, args=(str(db_path), f"agent{a}", barrier, out))
        for a in range(AGENTS)
    ]
    for p in procs:
        p.start()
    reports = [out.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=30)
        assert p.exitcode == 0

    errors = [e for r in reports for e in r[3]]
    assert errors == []  # in particular no "database is locked" escaped to an agent
    logged = Counter(fid for r in reports for fid in r[1])
    # Every follow-up worked exactly once, by exactly one agent.
    assert set(logged) == ids
    assert max(logged.values()) == 1
    # Every touch an agent was told about is in the database; nothing else is.
    told = sorted(t for r in reports for t in r[2])
    rows = db.execute("SELECT id, follow_up_id, agent FROM touches ORDER BY id").fetchall()
    assert [r[0] for r in rows] == told
    per_fu = Counter(r[1] for r in rows)
    assert set(per_fu) == ids and max(per_fu.values()) == 1
    # The touch's agent is the agent the follow-up was closed by.
    closed = dict(
        db.execute("SELECT id, claimed_by FROM follow_ups WHERE status = 'done'").fetchall()
    )
    assert len(closed) == FOLLOW_UPS
    assert all(closed[fid] == agent for _tid, fid, agent in rows)
    # More than one agent really took part (the test exercised contention).
    assert sum(1 for r in reports if r[1]) >= 2
