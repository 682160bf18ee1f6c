"""``tui-agent stats`` on the big shop, through the real command, in a fresh process.

Timed from process start to exit (Python start-up and imports included: that is what the
user waits for), with the child's own peak RSS. Goal: <= 2 s.

The first ``stats`` on a shop fits the BTYD model (then cached in the database until the
orders change): that run is reported on its own row, the steady runs after it on the goal row.
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
    cmd = [python(), "-m", "tui_agent", "--db", str(path), "--today", TODAY.isoformat(), "stats"]
    times: list[float] = []
    rss: list[int] = []
    cpu: list[float] = []
    first = None
    for i in range(ctx.sizes.repeats + 1):
        child = run_child(cmd, env={"COLUMNS": "120"}, own_rss=True)
        if child.returncode != 0:
            raise RuntimeError(f"stats failed: {child.stderr.strip()[-500:]}")
        if i == 0:
            first = child
            continue
        times.append(child.seconds)
        rss.append(child.max_rss_kib)
        cpu.append(child.cpu_seconds)
    assert first is not None
    p99 = percentile(times, 99)
    return [
        Result(
            name=f"stats on {shop.customers:,} customers, first run (fits the model)",
            goal="(no goal)",
            p50=secs(first.seconds),
            p99=secs(first.seconds),
            rss=mb(first.max_rss_kib),
            extra=f"1 run; CPU {first.cpu_seconds:.2f} s; BG/NBD + Gamma-Gamma fitted and cached",
            passed=None,
        ),
        Result(
            name=f"stats on {shop.customers:,} customers",
            goal="<= 2 s",
            p50=secs(statistics.median(times)),
            p99=secs(p99),
            rss=mb(max(rss)),
            extra=f"{len(times)} runs; CPU p50 {statistics.median(cpu):.2f} s (all threads)",
            passed=p99 <= 2.0,
        ),
    ]
