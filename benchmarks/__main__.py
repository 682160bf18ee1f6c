"""``python -m benchmarks [--quick] [--check] [--only NAME ...]``: measure, print, record.

Builds (or reuses) the seeded big shop, runs every measurement, prints a table of goal,
measured p50/p99/peak RSS and pass/fail, and writes it with the machine and the command to
``benchmarks/RESULTS.md`` (a full run) or ``benchmarks/.data/RESULTS-quick.md`` (``--quick``).
Exits non-zero on a missed goal only with ``--check``; a measurement that crashes always
fails the run, so the harness cannot rot silently.
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import shlex
import shutil
import signal
import sys
import tempfile
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table

from benchmarks.common import DATA, FULL, QUICK, ROOT, Context, Result

MODULES = ["import", "queue", "search", "paint", "touches", "stats"]
NEEDS_SHOP = {"import", "queue", "paint", "touches", "stats"}
RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def _optional_packages() -> str:
    """Whether pandas (which sqlite_utils would import) is installed: the figures depend on it."""
    import importlib.util

    found = [m for m in ("pandas", "numpy") if importlib.util.find_spec(m) is not None]
    if not found:
        return "pandas and numpy not installed"
    return (
        f"{' and '.join(found)} installed (importable); tui-agent imports sqlite_utils with "
        "them hidden, so no measured command loads pandas"
    )


def _machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {kb / 1024 / 1024:.0f} GB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return (
        f"{os.cpu_count()} cores ({cpu}){mem}; {platform.system()} {platform.release()}; "
        f"Python {platform.python_version()}; SQLite {__import__('sqlite3').sqlite_version}"
    )


def _markdown(results: list[Result], header: list[str], notes: list[str]) -> str:
    out = [*header, ""]
    out.append("| measurement | goal | p50 | p99 | peak RSS | result | notes |")
    out.append("| --- | --- | --- | --- | --- | --- | --- |")
    for r in results:
        notes_cell = r.skipped if r.skipped else r.extra
        out.append(
            f"| {r.name} | {r.goal} | {r.p50} | {r.p99} | {r.rss} | {r.verdict} | {notes_cell} |"
        )
    if notes:
        out += ["", *[f"- {n}" for n in notes]]
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Measure tui-agent at the scale of a big shop; print and record the results.",
    )
    parser.add_argument("--quick", action="store_true", help="small sizes (CI: under a minute)")
    parser.add_argument("--check", action="store_true", help="exit 1 when a goal is missed")
    parser.add_argument(
        "--only",
        action="append",
        choices=MODULES,
        metavar="NAME",
        help=f"run only this measurement (repeatable): {', '.join(MODULES)}",
    )
    parser.add_argument("--out", type=Path, default=None, help="write the report here instead")
    args = parser.parse_args(argv)

    console = Console(stderr=True)
    sizes = QUICK if args.quick else FULL
    chosen = args.only or MODULES
    command = " ".join(
        ["python -m benchmarks", shlex.join(sys.argv[1:] if argv is None else argv)]
    ).strip()
    started = time.perf_counter()
    load_before = os.getloadavg()
    work = Path(tempfile.mkdtemp(prefix="tui-agent-benchmarks-run-"))
    # A stopped run still removes its scratch copies of the big database.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    ctx = Context(sizes=sizes, quick=args.quick, work=work)
    results: list[Result] = []
    crashed = False
    try:
        if NEEDS_SHOP & set(chosen):
            from benchmarks.shop import build

            ctx.shop = build(sizes, console)
        for name in chosen:
            console.print(f"[bold]measuring {name}[/bold]")
            t0 = time.perf_counter()
            try:
                module = importlib.import_module(f"benchmarks.bench_{name}")
                found: list[Result] = module.run(ctx)
            except Exception:
                crashed = True
                console.print(traceback.format_exc())
                found = [
                    Result(name=name, skipped="not measured: the measurement crashed (see log)")
                ]
            results.extend(found)
            console.print(f"  {name}: {time.perf_counter() - t0:.1f} s")
    finally:
        shutil.rmtree(work, ignore_errors=True)

    if args.quick:
        # The goals are for the full sizes; at quick sizes a verdict would mean nothing.
        for r in results:
            r.passed = None
    table = Table(title="tui-agent benchmarks" + (" (quick)" if args.quick else ""))
    for col in ("measurement", "goal", "p50", "p99", "peak RSS", "result", "notes"):
        table.add_column(col, overflow="fold")
    for r in results:
        table.add_row(r.name, r.goal, r.p50, r.p99, r.rss, r.verdict, r.skipped or r.extra)
    Console(width=200).print(table)
    for note in ctx.notes:
        Console().print(f"note: {note}")

    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    header = [
        "# Benchmark results" + (" (quick mode)" if args.quick else ""),
        "",
        f"- command: `{command}` (from the repository root)",
        f"- machine: {_machine()}",
        f"- when: {stamp}; whole run {time.perf_counter() - started:.0f} s",
        # Other processes compete for the same cores; the load average says how much.
        f"- load average (1 min) at start {load_before[0]:.1f}, at end {os.getloadavg()[0]:.1f}",
        f"- shop: {sizes.customers:,} customers, {sizes.lines:,} order lines, seed {sizes.seed}; "
        f"phrases {', '.join(f'{n:,}' for n in sizes.phrase_counts)}",
        f"- optional packages: {_optional_packages()}",
    ]
    default = DATA / "RESULTS-quick.md" if args.quick else DATA / "RESULTS-partial.md"
    out = args.out or (default if args.quick or args.only else RESULTS)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(_markdown(results, header, ctx.notes), encoding="utf-8")
    console.print(f"written to {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")
    if crashed:
        return 2
    if args.check and any(r.passed is False for r in results):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
