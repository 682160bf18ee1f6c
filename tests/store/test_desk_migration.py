"""The customer desk's migration on a database that already holds a day's work."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import sqlite_utils

from tui_agent.store import customers as cu
from tui_agent.store import outcomes as oc
from tui_agent.store.db import MIGRATIONS, SCHEMA_VERSION, _split, connect

DESK = next(
    i for i, m in enumerate(MIGRATIONS) if isinstance(m, str) and "CREATE TABLE touch_events" in m
)


def test_existing_customers_and_touches_survive_and_are_findable(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    for version, step in enumerate(MIGRATIONS[:DESK], start=1):
        if isinstance(step, str):
            for statement in _split(step):
                conn.execute(statement)
        else:  # a migration written in Python
            step(sqlite_utils.Database(conn))
        conn.execute(f"PRAGMA user_version = {version}")
    conn.execute(
        "INSERT INTO customers (customer_id, name, phone) VALUES ('C1', '王芳', '13812345678')"
    )
    conn.execute(
        "INSERT INTO touches (agent, customer_id, text, at, outcome) "
        "VALUES ('lily', 'C1', 'hi', '2026-11-28 10:00:00', 'replied')"
    )
    conn.commit()
    conn.close()

    db = connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    (record,) = oc.touch_records(db, "C1")
    assert record.reply is False and record.outcome is not None  # the old column still reads
    assert record.outcome.value == "replied" and not record.retracted
    assert [h.matched for h in cu.find_customers(db, "wf")] == ["initials"]
    assert [h.matched for h in cu.find_customers(db, "5678")] == ["phone_tail"]
