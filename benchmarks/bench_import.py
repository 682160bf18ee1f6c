"""CSV import of the shop's order lines, through the real command, in a fresh process.

Each run copies ``base.db`` (customers and products already in) and times
``python -m tui_agent --db COPY import orders orders.csv`` from process start to exit, with
the child's peak RSS from ``wait4``. Goal: 1M lines in <= 10 s, peak RSS <= 200 MB.
"""

from __future__ import annotations

import statistics

from benchmarks.common import Context, Result, mb, percentile, python, run_child, secs
from benchmarks.shop import copy_db

NAME = "import"


def run(ctx: Context) -> list[Result]:
    shop = ctx.shop
    assert shop is not None
    times: list[float] = []
    rss: list[int] = []
    cpu: list[float] = []
    for i in range(ctx.sizes.import_repeats):
        target = copy_db(shop.base_db, ctx.work / f"import-{i}.db")
        child = run_child(
            [
                python(),
                "-m",
                "tui_agent",
                "--db",
                str(target),
                "import",
                "orders",
                str(shop.csv_dir / "orders.csv"),
            ]
        )
        if child.returncode != 0:
            raise RuntimeError(f"import failed: {child.stderr.strip()[-500:]}")
        times.append(child.seconds)
        rss.append(child.max_rss_kib)
        cpu.append(child.cpu_seconds)
        target.unlink()
    p50, p99, peak = statistics.median(times), percentile(times, 99), max(rss)
    return [
        Result(
            name=f"CSV import, {shop.lines:,} order lines",
            goal="<= 10 s, RSS <= 200 MB",
            p50=secs(p50),
            p99=secs(p99),
            rss=mb(peak),
            extra=(
                f"{len(times)} runs; {shop.lines / p50:,.0f} lines/s; "
                f"CPU p50 {statistics.median(cpu):.1f} s"
            ),
            passed=p99 <= 10.0 and peak <= 200 * 1024,
        )
    ]
