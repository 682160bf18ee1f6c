"""A process killed with SIGKILL in the middle of logging touches loses nothing it committed."""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import time
from pathlib import Path

import pytest
import sqlite_utils

from tests.helpers import add_customer
from tests.reliability.workers import crash_logger
from tui_agent.store.db import connect, write_tx


def _seed(db: sqlite_utils.Database, n: int) -> None:
    with write_tx(db):
        for i in range(n):
            add_customer(db, f"c{i}")
            db.execute(
                "INSERT INTO follow_ups (customer_id, stage, rule, due_date, status, created_at, "
                "updated_at) VALUES (?, 'satisfaction', 'care', '2026-03-10', 'pending', "
                "'2026-03-10 08:00:00', '2026-03-10 08:00:00')",
                [f"c{i}"],
            )


def _committed(path: Path) -> list[tuple[int, int | None]]:
    out = []
    for line in path.read_text().splitlines():
        tid, _, fid = line.partition(" ")
        out.append((int(tid), int(fid) if fid else None))
    return out


@pytest.mark.parametrize("after", [5, 60, 300])
def test_sigkill_mid_logging(tmp_path: Path, after: int) -> None:
    db_path = tmp_path / "shop.db"
    db = connect(db_path)
    _seed(db, 200)
    db.conn.close()
    committed = tmp_path / "committed.txt"
    ctx = mp.get_context("spawn")
    ready = ctx.Event()
    proc = ctx.Process(target=crash_logger, args=(str(db_path), str(committed), ready))
    proc.start()
    assert ready.wait(60)
    # Kill once the child has committed at least `after` touches: it is then mid-way through
    # another one (the loop never pauses), at a moment we do not choose precisely.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if committed.exists() and committed.read_bytes().count(b"\n") >= after:
            break
        time.sleep(0.0005)
    assert proc.pid is not None
    os.kill(proc.pid, signal.SIGKILL)
    proc.join(10)
    assert proc.exitcode == -signal.SIGKILL

    db = connect(db_path)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    done = _committed(committed)
    assert len(done) >= after
    present = {r[0]: r[1] for r in db.execute("SELECT id, follow_up_id FROM touches")}
    # Every touch whose commit returned is there, with its follow-up.
    for tid, fid in done:
        assert present.get(tid, "missing") == fid
    # At most one touch committed after the last id written (killed between commit and write).
    assert len(present) - len(done) in (0, 1)
    # Nothing half-written: a touch and the close of its follow-up are one transaction.
    touched = {fid for fid in present.values() if fid is not None}
    closed = {r[0] for r in db.execute("SELECT id FROM follow_ups WHERE status = 'done'")}
    assert touched == closed
    # The database is still usable for writing after the crash.
    with write_tx(db):
        db.execute("INSERT INTO meta(key, value) VALUES ('after_crash', 'ok')")
