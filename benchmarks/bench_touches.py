"""Touch logging with many agent processes on one database file.

A copy of ``shop.db`` gets one pending follow-up per touch to log; 8 processes (spawned, each
with its own connection, as 8 agents running the console would) wait on a barrier, then log
touches with ``store.followups.log_touch`` as fast as they can, each on its own slice of the
follow-ups. Reported: touches per second over the whole run (first start to last finish) and
the latency of each ``log_touch`` call (one write transaction: check the claim, insert the
touch, close the follow-up), p50 and p99 over every call of every agent.
"""

from __future__ import annotations

import multiprocessing as mp
import random
import statistics
import time
from datetime import datetime
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any

from benchmarks.common import Context, Result, ms, percentile
from benchmarks.shop import copy_db
from tui_agent.store.db import connect, write_tx

NAME = "touches"


def _agent(path: str, agent: str, work: list[tuple[int, str]], barrier: Barrier, out: Any) -> None:
    """One agent process: log a touch for each (follow-up, customer) it was given."""
    from tui_agent.store.followups import log_touch

    db = connect(path)
    latencies: list[float] = []
    errors: list[str] = []
    barrier.wait()
    start = time.monotonic()
    for fid, cid in work:
        t0 = time.monotonic()
        try:
            log_touch(
                db,
                agent=agent,
                customer_id=cid,
                follow_up_id=fid,
                text=f"您好，{cid}，这是一条回访消息",
                phrase_id="bench-touch",
                stage="satisfaction",
            )
        except Exception as exc:  # every error is reported, none may escape unnoticed
            errors.append(f"{type(exc).__name__}: {exc}")
            continue
        latencies.append(time.monotonic() - t0)
    out.put((agent, start, time.monotonic(), latencies, errors))
    db.conn.close()


def prepare(path: Path, agents: int, per_agent: int, seed: int = 7) -> list[list[tuple[int, str]]]:
    """Pending follow-ups for random customers, split into one slice per agent."""
    db = connect(path)
    rng = random.Random(seed)
    ids = [r[0] for r in db.execute("SELECT customer_id FROM customers")]
    stamp = datetime(2026, 1, 2, 8, 0).strftime("%Y-%m-%d %H:%M:%S")
    rows = [(rng.choice(ids), stamp, stamp) for _ in range(agents * per_agent)]
    with write_tx(db):
        first = db.execute("SELECT coalesce(max(id), 0) + 1 FROM follow_ups").fetchone()[0]
        db.conn.executemany(
            "INSERT INTO follow_ups (customer_id, stage, rule, due_date, status, created_at, "
            "updated_at) VALUES (?, 'satisfaction', 'bench', '2026-01-02', 'pending', ?, ?)",
            rows,
        )
    db.conn.close()
    work = [(first + i, cid) for i, (cid, _s, _u) in enumerate(rows)]
    return [work[a * per_agent : (a + 1) * per_agent] for a in range(agents)]


def measure(path: Path, agents: int, per_agent: int) -> dict[str, Any]:
    """Run the agents; returns throughput, latencies and any error they hit."""
    slices = prepare(path, agents, per_agent)
    spawn = mp.get_context("spawn")
    barrier = spawn.Barrier(agents)
    out = spawn.Queue()
    procs = [
        spawn.Process(target=_agent, args=(str(path), f"agent{a:02d}", slices[a], barrier, out))
        for a in range(agents)
    ]
    for p in procs:
        p.start()
    reports = [out.get(timeout=600) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    starts = [r[1] for r in reports]
    ends = [r[2] for r in reports]
    latencies = [x for r in reports for x in r[3]]
    errors = [e for r in reports for e in r[4]]
    db = connect(path)
    logged = db.execute("SELECT count(*) FROM touches WHERE phrase_id = 'bench-touch'").fetchone()[
        0
    ]
    db.conn.close()
    return {
        "wall": max(ends) - min(starts),
        "latencies": latencies,
        "errors": errors,
        "logged": logged,
    }


def run(ctx: Context) -> list[Result]:
    shop = ctx.shop
    assert shop is not None
    sizes = ctx.sizes
    path = copy_db(shop.shop_db, ctx.work / "touches.db")
    m = measure(path, sizes.agents, sizes.touches_per_agent)
    lat = m["latencies"]
    total = len(lat)
    rate = total / m["wall"]
    p99 = percentile(lat, 99)
    lost = sizes.agents * sizes.touches_per_agent - m["logged"]
    extra = f"{rate:,.0f} touches/s; {total:,} touches by {sizes.agents} processes"
    if lost:
        extra += f"; {lost} touches LOST"
    if m["errors"]:
        extra += f"; {len(m['errors'])} ERRORS, first: {m['errors'][0]}"
    return [
        Result(
            name=f"Touch logging, {sizes.agents} agent processes",
            goal=">= 5000/s, p99 <= 50 ms",
            p50=ms(statistics.median(lat)),
            p99=ms(p99),
            extra=extra,
            passed=rate >= 5000 and p99 <= 0.050 and lost == 0 and not m["errors"],
        )
    ]
