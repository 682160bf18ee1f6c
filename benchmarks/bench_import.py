"""CSV import of the shop's order lines, through the real command, in a fresh process.

Each run copies ``base.db`` (customers and products already in) and times
``python -m tui_agent --db COPY import orders orders.csv`` from process start to exit, with
the child's own peak RSS from ``wait4`` (the largest of the import and its reading worker;
started from a small process, see ``common.run_child``). Goal:
1M lines in <= 10 s, peak RSS <= 200 MB. Each run is paired with the floor, ``csv.reader``
-> ``executemany`` of the same file into an indexed table in a fresh process
(``benchmarks.import_floor``), and the ratio of the medians is reported.
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
    floor: list[float] = []
    for i in range(ctx.sizes.import_repeats):
        base = run_child(
            [
                python(),
                "-m",
                "benchmarks.import_floor",
                str(shop.csv_dir / "orders.csv"),
                str(ctx.work / f"floor-{i}.db"),
            ],
            own_rss=True,
        )
        if base.returncode != 0:
            raise RuntimeError(f"floor failed: {base.stderr.strip()[-500:]}")
        floor.append(base.seconds)
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
            ],
            own_rss=True,
        )
        if child.returncode != 0:
            raise RuntimeError(f"import failed: {child.stderr.strip()[-500:]}")
        times.append(child.seconds)
        rss.append(child.max_rss_kib)
        cpu.append(child.cpu_seconds)
        target.unlink()
    p50, p99, peak = statistics.median(times), percentile(times, 99), max(rss)
    floor50 = statistics.median(floor)
    return [
        Result(
            name=f"CSV import, {shop.lines:,} order lines",
            goal="<= 10 s, RSS <= 200 MB",
            p50=secs(p50),
            p99=secs(p99),
            rss=mb(peak),
            extra=(
                f"{len(times)} runs; {shop.lines / p50:,.0f} lines/s; "
                f"CPU p50 {statistics.median(cpu):.1f} s; {p50 / floor50:.1f}x the floor "
                f"(csv -> executemany, indexed: p50 {floor50:.2f} s, same runs)"
            ),
            passed=p99 <= 10.0 and peak <= 200 * 1024,
        )
    ]
