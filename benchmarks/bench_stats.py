"""``tui-agent stats`` on the big shop, through the real command, in a fresh process.

Timed from process start to exit (Python start-up and imports included: that is what the
user waits for), with the child's peak RSS. Goal: <= 2 s.
"""

from __future__ import annotations

import statistics

from benchmarks.common import TODAY, Context, Result, mb, percentile, python, run_child, secs
from benchmarks.shop import copy_db

NAME = "stats"


def run(ctx: Context) -> list[Result]:
    shop = ctx.shop
    assert shop is not None
    path = copy_db(shop.shop_db, ctx.work / "stats.db")
    times: list[float] = []
    rss: list[int] = []
    cpu: list[float] = []
    for _ in range(ctx.sizes.repeats):
        child = run_child(
            [python(), "-m", "tui_agent", "--db", str(path), "--today", TODAY.isoformat(), "stats"],
            env={"COLUMNS": "120"},
        )
        if child.returncode != 0:
            raise RuntimeError(f"stats failed: {child.stderr.strip()[-500:]}")
        times.append(child.seconds)
        rss.append(child.max_rss_kib)
        cpu.append(child.cpu_seconds)
    p99 = percentile(times, 99)
    return [
        Result(
            name=f"stats on {shop.customers:,} customers",
            goal="<= 2 s",
            p50=secs(statistics.median(times)),
            p99=secs(p99),
            rss=mb(max(rss)),
            extra=f"{len(times)} runs; CPU p50 {statistics.median(cpu):.2f} s (all threads)",
            passed=p99 <= 2.0,
        )
    ]
