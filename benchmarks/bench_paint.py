"""First paint of the console on the big shop: process start to the first full frame.

Measured in a real terminal: tmux (a 160x45 window of a tmux server started beforehand, so
its own start-up is not counted) runs ``exec python -m tui_agent --db COPY --today DAY
console``; the clock starts just before the window is created and stops at the first
``tmux capture-pane`` (polled every few ms) showing the full work-queue screen: the header's
day progress, the due list, the customer card of the first follow-up (with its orders) and
the status line naming that follow-up's stage, which the screen writes when the card and the
filled phrase are shown. Why tmux rather than Textual's headless ``run_test``: it needs no
hook in the app, and it counts what the agent waits for, including Textual writing to a real
terminal. Peak RSS is the console process's ``VmHWM`` read from /proc just after that frame.

Two cases: the queue for today already generated (by another agent or ``tui-agent due``),
and the first agent of the day, whose console also generates the queue before it is full.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import time
from pathlib import Path

from benchmarks.common import TODAY, Context, Result, mb, percentile, python, secs
from benchmarks.shop import copy_db
from tui_agent.core.models import Stage
from tui_agent.core.rules import load_rules
from tui_agent.paths import rules_path
from tui_agent.store.db import connect
from tui_agent.store.followups import generate

NAME = "paint"
SESSION = "tui-agent-bench"
TIMEOUT = 60.0
STAGE_LABELS = tuple(s.label_zh for s in Stage)


def _tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], capture_output=True, text=True, check=False).stdout


def full_frame(screen: str) -> bool:
    """The work-queue screen with the first follow-up opened."""
    lines = screen.rstrip("\n").splitlines()
    if len(lines) < 10:
        return False
    status = "\n".join(lines[-3:])
    return (
        "今日进度" in lines[0]
        and any("客户 " in ln for ln in lines)
        and any(" 单 · " in ln for ln in lines)
        and any(label in status for label in STAGE_LABELS)
    )


def _vm_hwm_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far (from /proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def paint_once(db: Path, n: int) -> tuple[float, int, float]:
    window = f"{SESSION}:run{n}"
    command = (
        f"cd {Path(__file__).resolve().parent.parent} && "
        f"TUI_AGENT_CONFIG_DIR=/nonexistent exec {python()} -m tui_agent --db {db} "
        f"--agent bench --today {TODAY.isoformat()} console"
    )
    t0 = time.perf_counter()
    _tmux("new-window", "-d", "-t", f"{SESSION}:", "-n", f"run{n}", command)
    elapsed = None
    while time.perf_counter() - t0 < TIMEOUT:
        if full_frame(_tmux("capture-pane", "-p", "-t", window)):
            elapsed = time.perf_counter() - t0
            break
        time.sleep(0.003)
    pid_text = _tmux("list-panes", "-t", window, "-F", "#{pane_pid}").strip()
    rss = 0
    cpu = 0.0
    if elapsed is not None and pid_text:
        cpu = _cpu_seconds(int(pid_text))
        time.sleep(0.3)  # let the workers started with the frame finish allocating
        rss = _vm_hwm_kib(int(pid_text))
    screen = _tmux("capture-pane", "-p", "-t", window)
    _tmux("kill-window", "-t", window)
    if elapsed is None:
        raise RuntimeError(f"no full frame within {TIMEOUT:.0f} s; last screen:\n{screen}")
    return elapsed, rss, cpu


def run(ctx: Context) -> list[Result]:
    shop = ctx.shop
    assert shop is not None
    if shutil.which("tmux") is None:
        return [Result(name="Console first paint", skipped="not measured: tmux is not installed")]
    rules = load_rules(rules_path())
    _tmux("kill-session", "-t", SESSION)
    _tmux("new-session", "-d", "-s", SESSION, "-x", "160", "-y", "45")
    _tmux("set-option", "-t", SESSION, "remain-on-exit", "off")
    results = []
    try:
        for case, pregenerate in (
            ("queue already generated", True),
            ("first agent of the day", False),
        ):
            times: list[float] = []
            rss: list[int] = []
            cpu: list[float] = []
            for i in range(ctx.sizes.repeats):
                path = copy_db(shop.shop_db, ctx.work / f"paint-{i}.db")
                if pregenerate:
                    db = connect(path)
                    generate(db, TODAY, rules)
                    db.conn.close()
                t, r, c = paint_once(path, i)
                times.append(t)
                rss.append(r)
                cpu.append(c)
                path.unlink()
            p99 = percentile(times, 99)
            results.append(
                Result(
                    name=f"Console first paint ({case})",
                    goal="<= 0.6 s, RSS <= 150 MB",
                    p50=secs(statistics.median(times)),
                    p99=secs(p99),
                    rss=mb(max(rss)),
                    extra=(
                        f"{len(times)} runs in tmux 160x45; CPU time of the console up to "
                        f"that frame p50 {statistics.median(cpu):.2f} s"
                    ),
                    passed=p99 <= 0.6 and max(rss) <= 150 * 1024,
                )
            )
    finally:
        _tmux("kill-session", "-t", SESSION)
    return results
