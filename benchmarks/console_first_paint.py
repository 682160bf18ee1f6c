"""How long until the console shows today's queue and the first customer, on a given database.

    python -m benchmarks.console_first_paint --db BIG.db --today 2026-11-20 [--runs 5]
    python -m benchmarks.console_first_paint --quick   # a small demo shop, one run (CI)

Build a large shop first, e.g. ``tui-agent demo --db /tmp/big.db --customers 200000``.
Measured headless (Textual's test driver) at 120x40, each run in a fresh app, after the Python
imports (textual and friends take 0.3-0.5 s to import on a quiet machine, whatever the data):

- ``first_frame``: from building the session (database open, rules, phrase library) until the
  main screen is mounted and painted (the list may still be loading);
- ``queue``: until the due list shows its rows and the progress header is set;
- ``card``: until the first follow-up is claimed and its customer card is shown.

Claims made by a run are released at its end (the app quits normally).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path

from tui_agent.app import ConsoleApp
from tui_agent.config import Config
from tui_agent.core.dates import parse_date
from tui_agent.core.rules import load_rules
from tui_agent.paths import rules_path
from tui_agent.phrasing import load_phrasebook
from tui_agent.session import Session
from tui_agent.widgets.due_list import DueList


async def one_run(db: Path, today: date) -> dict[str, float]:
    t0 = time.perf_counter()
    session = Session(
        db,
        agent="bench",
        today=today,
        rules=load_rules(rules_path()),
        config=Config(),
        phrases=load_phrasebook(),
        rules_file=rules_path(),  # as the real console: generation in a process of its own
    )
    app = ConsoleApp(session, system_copy=None)
    marks: dict[str, float] = {}
    async with app.run_test(size=(120, 40)) as pilot:
        marks["first_frame"] = time.perf_counter() - t0
        screen = app.work_screen
        while "card" not in marks:
            if "queue" not in marks and screen.query_one(DueList).row_count:
                marks["queue"] = time.perf_counter() - t0
            if screen.opened is not None:
                marks["card"] = time.perf_counter() - t0
            await asyncio.sleep(0.002)
            if time.perf_counter() - t0 > 30:
                raise RuntimeError("nothing due on this database and day?")
        await pilot.press("q")
    session.close()
    return marks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, help="the shop database to open")
    parser.add_argument("--today", type=parse_date, default=date.today())
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="a small demo shop, one run")
    args = parser.parse_args()
    if args.quick or args.db is None:
        from tui_agent.store.demo import build_demo

        tmp = tempfile.TemporaryDirectory(prefix="tui-agent-bench-")
        args.db = Path(tmp.name) / "demo.db"
        build_demo(args.db, today=args.today, rules=load_rules(rules_path()), customers=300)
        args.runs = 1 if args.quick else args.runs
    results = [asyncio.run(one_run(args.db, args.today)) for _ in range(args.runs)]
    for key in ("first_frame", "queue", "card"):
        values = [r[key] for r in results]
        print(
            f"{key:12} median {statistics.median(values) * 1000:7.1f} ms   "
            f"min {min(values) * 1000:7.1f}   max {max(values) * 1000:7.1f}   (n={len(values)})"
        )


if __name__ == "__main__":
    main()
