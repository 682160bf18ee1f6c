"""How long agents' writes wait while a big import merges (issue 15 item 5).

    python -m benchmarks.import_stall --lines 300000 --out /tmp/stall

Generates the shop files (benchmarks.gen_csv), imports them once (the live shop), then
re-imports the next night's orders file (the same orders and 10% more) while an agent
process logs a touch every 50 ms with ``store.followups.log_touch``. Prints the import's
time and the longest and p99 wait of a touch; every touch must commit (none lost).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import subprocess
import sys
import time
from pathlib import Path
from typing import Any


def _agent(path: str, customer: str, stop: Any, out: Any) -> None:
    from tui_agent.store.db import connect
    from tui_agent.store.followups import log_touch

    db = connect(path)
    waits: list[float] = []
    errors: list[str] = []
    n = 0
    while not stop.is_set():
        t0 = time.monotonic()
        try:
            log_touch(db, agent="bench", customer_id=customer, text=f"touch {n}")
        except Exception as exc:
            errors.append(f"{type(exc).__name__}: {exc}")
        waits.append(time.monotonic() - t0)
        n += 1
        time.sleep(0.05)
    out.put((waits, errors))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--lines", type=int, default=300_000)
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args()
    out: Path = args.out
    # b is the next night's export: the same shop, 10% more lines.
    customers = str(max(args.lines // 5, 1))
    for lines, sub in ((args.lines, "a"), (args.lines * 11 // 10, "b")):
        if not (out / sub / "orders.csv").exists():
            subprocess.run(
                [sys.executable, "-m", "benchmarks.gen_csv", "--lines", str(lines),
                 "--customers", customers, "--out", str(out / sub)],
                check=True,
            )  # fmt: skip
    db = out / "shop.db"
    db.unlink(missing_ok=True)
    for kind in ("customers", "orders"):
        subprocess.run(
            [sys.executable, "-m", "tui_agent", "import", kind, str(out / "a" / f"{kind}.csv"),
             "--db", str(db)],
            check=True,
        )  # fmt: skip
    ctx = mp.get_context("spawn")
    stop, queue = ctx.Event(), ctx.Queue()
    with (out / "a" / "customers.csv").open(encoding="utf-8-sig") as f:
        f.readline()
        customer = f.readline().split(",")[0]
    agent = ctx.Process(target=_agent, args=(str(db), customer, stop, queue))
    agent.start()
    time.sleep(2)
    t0 = time.monotonic()
    subprocess.run(
        [sys.executable, "-m", "tui_agent", "import", "orders", str(out / "b" / "orders.csv"),
         "--db", str(db), "--skip-bad", "--rejects", str(out / "rejects.csv")],
        check=True,
    )  # fmt: skip
    took = time.monotonic() - t0
    time.sleep(1)
    stop.set()
    waits, errors = queue.get()
    agent.join()
    waits.sort()
    p99 = waits[int(len(waits) * 0.99) - 1] if waits else 0.0
    print(
        f"import of {args.lines} lines: {took:.1f} s; {len(waits)} touches, "
        f"longest wait {waits[-1]:.2f} s, p99 {p99:.2f} s, errors {len(errors)}"
    )
    for e in errors[:5]:
        print("  ", e)


if __name__ == "__main__":
    main()
