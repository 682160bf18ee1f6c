"""Benchmark: ``tui-agent stats`` on a synthetic shop (default 200k customers, 1M orders).

    python -m benchmarks.stats_bench                 # build (cached in /tmp) and time
    python -m benchmarks.stats_bench --quick         # 20k customers / 100k orders
    python -m benchmarks.stats_bench --customers 200000 --orders 1000000 --db /tmp/big.db

The data is made with plain SQL (a recursive CTE and integer hashing, so every run builds the
same shop): about 60% of customers buy once, the rest share the other orders; one line per
order in 8 categories; 5% of customers touched, 5% skipped by the cap. The customers' derived
columns are then filled by the importer's ``refresh_derived``, as after a real import (the
statistics use them when they are current; ``--stale`` leaves them empty to time the path that
reads every order instead).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

from tui_agent.store import analytics
from tui_agent.store.db import connect, write_tx
from tui_agent.store.importer import refresh_derived

TODAY = date(2024, 12, 31)


def build(path: Path, customers: int, orders: int, derived: bool = True) -> None:
    """Create the synthetic shop at ``path`` (which must not exist)."""
    db = connect(path)
    h = "((n * 2654435761) % 4294967296)"  # a cheap deterministic hash of n
    one_timers = int(customers * 0.6)
    with write_tx(db):
        db.execute(
            "WITH RECURSIVE s(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM s WHERE n + 1 < ?) "
            "INSERT INTO customers(customer_id, name) SELECT printf('C%07d', n), 'c' || n FROM s",
            [customers],
        )
        # The first `customers` orders give every customer one; the rest go to the 40% who
        # come back.
        db.execute(
            f"""
            WITH RECURSIVE s(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM s WHERE n + 1 < :orders)
            INSERT INTO orders(order_id, customer_id, ordered_at, amount)
            SELECT printf('O%08d', n),
                   printf('C%07d', CASE WHEN n < :customers THEN n
                                   ELSE :one + {h} % (:customers - :one) END),
                   datetime('2023-01-01', '+' || ({h} % 63072000) || ' seconds'),
                   10 + {h} % 490
            FROM s
            """,
            {"orders": orders, "customers": customers, "one": one_timers},
        )
        db.execute(
            """
            INSERT INTO order_lines(order_id, line_no, sku, product, category, amount)
            SELECT order_id, 1, 'S' || (rowid % 500), 'product', 'cat' || (rowid % 8), amount
            FROM orders
            """
        )
        db.execute(
            """
            INSERT INTO follow_ups(customer_id, stage, rule, due_date, status, status_reason,
                                   created_at, updated_at)
            SELECT customer_id, 'repurchase', 'cycle', date(min(ordered_at), '+30 days'),
                   CASE WHEN rowid % 2 THEN 'done' ELSE 'skipped' END,
                   CASE WHEN rowid % 2 THEN NULL ELSE 'cap: 2 in 7 days' END, '', ''
            FROM orders GROUP BY customer_id HAVING rowid % 10 = 0
            """
        )
        db.execute(
            """
            INSERT INTO touches(agent, customer_id, follow_up_id, phrase_id, stage, text, at)
            SELECT 'agent' || (id % 7), customer_id, id, 'p' || (id % 40), stage, 'hi',
                   due_date || ' 11:00:00'
            FROM follow_ups WHERE status = 'done'
            """
        )
        if derived:
            refresh_derived(db)
    db.execute("ANALYZE")
    db.conn.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--customers", type=int, default=200_000)
    ap.add_argument("--orders", type=int, default=1_000_000)
    ap.add_argument("--quick", action="store_true", help="20k customers, 100k orders")
    ap.add_argument("--db", type=Path, default=None)
    ap.add_argument(
        "--stale", action="store_true", help="leave the customers' derived columns empty"
    )
    ap.add_argument("--repeat", type=int, default=3, help="runs per figure; the best is shown")
    args = ap.parse_args()
    if args.quick:
        args.customers, args.orders = 20_000, 100_000
    kind = "stale" if args.stale else "derived"
    path = args.db or Path(f"/tmp/tui-agent-bench-{args.customers}-{args.orders}-{kind}.db")
    if not path.exists():
        t0 = time.perf_counter()
        build(path, args.customers, args.orders, derived=not args.stale)
        print(f"built {path} in {time.perf_counter() - t0:.1f} s")
    db = connect(path)
    current = analytics._derived_current(db, (TODAY + timedelta(days=1)).isoformat())
    print(
        f"best of {args.repeat} runs (wall, CPU); load average now {os.getloadavg()[0]:.1f}; "
        f"derived columns {'current' if current else 'not current: every order is read'}"
    )
    timed: list[tuple[str, Callable[[], object]]] = [
        ("shop_stats", lambda: analytics.shop_stats(db, None, TODAY, TODAY)),
        ("shop_stats (one year)", lambda: analytics.shop_stats(db, date(2024, 1, 1), TODAY, TODAY)),
        ("daily_series (30 days)", lambda: analytics.daily_series(db, None, TODAY)),
        ("segments_for", lambda: analytics.segments_for(db, ["C0000001"], TODAY)),
        ("avg_gap_days", lambda: analytics.avg_gap_days(db)),
    ]
    for name, fn in timed:
        best = cpu = float("inf")
        for _ in range(args.repeat):
            analytics._SEGMENT_CACHE.clear()  # time the work, not the cache
            t0, c0 = time.perf_counter(), time.process_time()  # process_time counts all threads
            fn()
            best = min(best, time.perf_counter() - t0)
            cpu = min(cpu, time.process_time() - c0)
        print(f"{name:24} {best:6.2f} s wall {cpu:6.2f} s CPU")
    # The whole command as a user runs it: interpreter start, imports, the figures, the JSON.
    for extra in ([], ["--from", "2024-01-01"]):
        wall = cpu = float("inf")
        for _ in range(args.repeat):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            t0 = time.perf_counter()
            out = subprocess.run(
                [sys.executable, "-m", "tui_agent", "--db", str(path), "--today", str(TODAY),
                 "stats", "--json", *extra],
                check=True, capture_output=True, text=True,
            ).stdout  # fmt: skip
            wall = min(wall, time.perf_counter() - t0)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            used = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
            cpu = min(cpu, used)
        data = json.loads(out)
        name = " ".join(["tui-agent stats --json", *extra])
        print(
            f"{name:24} {wall:6.2f} s wall {cpu:6.2f} s CPU (whole process) "
            f"customers={data['customers']} orders={data['orders']}"
        )


if __name__ == "__main__":
    main()
