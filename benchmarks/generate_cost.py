"""CPU time of ``generate`` on a copy of a shop, for two consecutive days.

    python -m benchmarks.generate_cost SHOP.db 2026-11-02 [--runs 3] [--no-own-cycle]

Each run copies the shop (SQLite's backup API), then generates the given day and the next
one, printing the CPU and wall seconds of each and what was created. Used for the README's figure of
what the calendar costs; the full queue benchmark is ``python -m benchmarks --only queue``.
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

from tui_agent.core.rules import load_rules
from tui_agent.paths import rules_path
from tui_agent.store.db import connect
from tui_agent.store.followups import generate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("shop", type=Path)
    parser.add_argument("day", type=date.fromisoformat)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-own-cycle", action="store_true")
    args = parser.parse_args()
    rules = load_rules(rules_path())
    if args.no_own_cycle:
        rules = replace(rules, rules=tuple(replace(r, own_cycle_min_orders=0) for r in rules.rules))
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(args.runs):
            copy = Path(tmp) / f"run{run}.db"
            src, dst = sqlite3.connect(args.shop), sqlite3.connect(copy)
            src.backup(dst)
            src.close()
            dst.close()
            db = connect(copy)
            cells = []
            for day in (args.day, args.day + timedelta(days=1)):
                cpu, wall = time.process_time(), time.perf_counter()
                result = generate(db, day, rules)
                cells.append(
                    f"{day}: {time.process_time() - cpu:.3f} s CPU, "
                    f"{time.perf_counter() - wall:.3f} s wall "
                    f"({result.created + result.capped} new, {result.merged} merged)"
                )
            db.conn.close()
            print(f"run {run + 1}: " + "; ".join(cells))


if __name__ == "__main__":
    main()
