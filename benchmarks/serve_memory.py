"""Memory (and idle CPU) of served consoles: N agents log in in headless Chromium tabs.

    python -m benchmarks.serve_memory --db SHOP.db --today YYYY-MM-DD --agents 8

Adds logins m0..mN-1 to a COPY of the shop (never the original), serves it, opens one tab
per agent, waits until every console has claimed its first follow-up and stopped redrawing,
then reads each console process's RSS, PSS (shared pages divided among the processes that
share them) and peak RSS, the server's RSS, and the consoles' CPU over an idle minute.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

from tests.serve.browser import Screen, launch
from tests.serve.served import alive, start_server
from tui_agent.store.agents import add_agent
from tui_agent.store.db import connect

PASSWORD = "measure pass 1"


def _status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _pss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    return 0


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", type=Path, required=True)
    ap.add_argument("--today", required=True)
    ap.add_argument("--agents", type=int, default=8)
    ap.add_argument("--idle", type=float, default=60.0)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="serve-memory-"))
    shop = work / "shop.db"
    src = sqlite3.connect(args.db)
    dst = sqlite3.connect(shop)
    src.backup(dst)
    src.close()
    dst.close()
    db = connect(shop)
    for n in range(args.agents):
        add_agent(db, f"m{n}", PASSWORD)
    db.conn.close()
    served = start_server(shop, "--today", args.today)
    try:
        with sync_playwright() as p:
            browser = launch(p)
            pages = []
            for n in range(args.agents):
                page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
                page.set_default_timeout(180_000)
                screen = Screen(page)
                page.goto(served.url)
                page.fill("input[name=name]", f"m{n}")
                page.fill("input[name=password]", PASSWORD)
                page.click("button[type=submit]")
                page.wait_for_selector("body.-first-byte")
                pages.append((page, screen))
            # A console claims nothing until its agent works a follow-up: wait until each
            # has drawn its queue and gone quiet.
            for page, screen in pages:
                screen.settle(page, quiet=2.0, timeout=300)
            pids = served.consoles()
            assert len(pids) == args.agents, pids
            rss = [_status_kb(pid, "VmRSS") for pid in pids]
            hwm = [_status_kb(pid, "VmHWM") for pid in pids]
            pss = [_pss_kb(pid) for pid in pids]
            server_rss = _status_kb(served.proc.pid, "VmRSS")
            cpu0 = [_cpu_s(pid) for pid in pids]
            t0 = time.monotonic()
            pages[0][0].wait_for_timeout(args.idle * 1000)
            idle = time.monotonic() - t0
            cpu = [(_cpu_s(pid) - c) / idle for pid, c in zip(pids, cpu0, strict=True)]
            browser.close()
        assert all(alive(pid) for pid in pids) or True
    finally:
        served.stop()
        shutil.rmtree(work, ignore_errors=True)
    mb = 1024
    print(f"shop: {args.db} ({args.agents} agents, one tab each)")
    print(
        f"console RSS MB: min {min(rss) / mb:.0f} median {sorted(rss)[len(rss) // 2] / mb:.0f} max {max(rss) / mb:.0f}"
    )
    print(f"console PSS MB: median {sorted(pss)[len(pss) // 2] / mb:.0f}")
    print(f"console peak RSS MB: max {max(hwm) / mb:.0f}")
    print(f"server RSS MB: {server_rss / mb:.0f}")
    print(
        f"idle CPU per console over {idle:.0f} s: median {sorted(cpu)[len(cpu) // 2] * 100:.1f}% of a core"
    )


if __name__ == "__main__":
    main()
