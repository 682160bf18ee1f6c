"""Functions run in spawned child processes by the reliability tests (importable by name)."""

from __future__ import annotations

import os
import sqlite3
import time
import traceback
from datetime import date
from typing import Any

TODAY = date(2026, 3, 10)


def agent_loop(path: str, agent: str, barrier: Any, out: Any) -> None:
    """Work the queue like the console does: take the next due follow-up, claim it, log a
    touch; ClaimLost means another agent got there first. Stops when nothing is left.

    Reports (agent, follow-up ids this agent logged, touch ids, errors as text)."""
    from tui_agent.store.db import connect
    from tui_agent.store.followups import ClaimLost, claim, due_queue, log_touch

    logged: list[int] = []
    touches: list[int] = []
    errors: list[str] = []
    try:
        db = connect(path)
        barrier.wait()
        while True:
            queue = due_queue(db, TODAY, limit=20)
            free = [f for f in queue if f.claimed_by in (None, agent)]
            if not free:
                if not queue:
                    break
                time.sleep(0.001)  # all visible ones are held by others: look again
                continue
            for fu in free:
                if not claim(db, fu.id, agent):
                    continue
                try:
                    tid = log_touch(
                        db,
                        agent=agent,
                        customer_id=fu.customer_id,
                        follow_up_id=fu.id,
                        text=f"您好 {fu.customer_name}",
                        phrase_id="care",
                        stage=fu.stage.value,
                    )
                except ClaimLost:
                    continue
                logged.append(fu.id)
                touches.append(tid)
                break
        db.conn.close()
    except sqlite3.OperationalError as exc:  # "database is locked" must never get here
        errors.append(f"OperationalError: {exc}")
    except Exception:
        errors.append(traceback.format_exc())
    out.put((agent, logged, touches, errors))


def crash_logger(path: str, committed: str, ready: Any) -> None:
    """Log touches forever; after each ``log_touch`` returns, append its id to ``committed``.

    The parent kills this process with SIGKILL at a moment of its choosing. Each id is written
    with a plain ``write`` (no buffering in this process), so it reaches the kernel before the
    next touch starts; a SIGKILL cannot lose it.
    """
    from tui_agent.store.db import connect
    from tui_agent.store.followups import log_touch

    db = connect(path)
    ids = [r[0] for r in db.execute("SELECT id FROM follow_ups WHERE status = 'pending'")]
    customers = dict(db.execute("SELECT id, customer_id FROM follow_ups").fetchall())
    fd = os.open(committed, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    ready.set()
    n = 0
    while True:
        fid = ids[n] if n < len(ids) else None
        cid = customers[fid] if fid is not None else "c0"
        tid = log_touch(
            db, agent="crasher", customer_id=cid, follow_up_id=fid, text=f"touch {n} " + "x" * 200
        )
        os.write(fd, f"{tid} {fid or ''}\n".encode())
        n += 1


def cli_due(path: str, barrier: Any, out: Any) -> None:
    """``tui-agent due`` the way an agent's morning starts: generate (idempotent) and list."""
    from click.testing import CliRunner

    from tui_agent.cli import main

    barrier.wait()
    result = CliRunner().invoke(main, ["--db", path, "due", "--date", TODAY.isoformat(), "--json"])
    out.put((result.exit_code, result.output, repr(result.exception)))
