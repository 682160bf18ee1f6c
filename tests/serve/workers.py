"""Touch-writing processes for the backup test (spawned; importable by name)."""

from __future__ import annotations

import os
from typing import Any


def touch_writer(path: str, agent: str, committed: str, ready: Any, stop: Any) -> None:
    """Log touches until ``stop`` is set; after each ``log_touch`` returns, append its id to
    ``committed`` (so every id in that file was committed before it was written there)."""
    from tui_agent.store.db import connect
    from tui_agent.store.followups import log_touch

    db = connect(path)
    fd = os.open(committed, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    n = 0
    while not stop.is_set():
        tid = log_touch(
            db, agent=agent, customer_id=f"c{n % 50}", follow_up_id=None, text=f"{agent} {n} 您好"
        )
        os.write(fd, f"{tid}\n".encode())
        n += 1
        if n == 20:
            ready.set()
    os.close(fd)
    db.conn.close()
