from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import pytest

from tui_agent.store.db import SCHEMA_VERSION, DatabaseError, connect, write_tx


def test_new_database_is_private_and_migrated(db_path: Path) -> None:
    db = connect(db_path)
    assert stat.S_IMODE(os.stat(db_path).st_mode) == 0o600
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert {"customers", "orders", "order_lines", "follow_ups", "touches"} <= set(db.table_names())


def test_reopen_is_idempotent(db_path: Path) -> None:
    connect(db_path).execute("INSERT INTO customers(customer_id) VALUES ('c1')")
    db = connect(db_path)
    assert db.execute("SELECT count(*) FROM customers").fetchone()[0] == 1


def test_not_sqlite_is_a_clear_error(tmp_path: Path) -> None:
    p = tmp_path / "x.db"
    p.write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(DatabaseError, match="not a tui-agent database"):
        connect(p)


def test_newer_schema_is_refused(db_path: Path) -> None:
    conn = sqlite3.connect(db_path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    conn.close()
    with pytest.raises(DatabaseError, match="newer"):
        connect(db_path)


def test_write_tx_rolls_back_everything(db_path: Path) -> None:
    db = connect(db_path)
    with pytest.raises(RuntimeError), write_tx(db):
        db.execute("INSERT INTO customers(customer_id) VALUES ('a')")
        raise RuntimeError("boom")
    assert db.execute("SELECT count(*) FROM customers").fetchone()[0] == 0


def test_touches_are_append_only(db_path: Path) -> None:
    db = connect(db_path)
    db.execute("INSERT INTO customers(customer_id) VALUES ('a')")
    db.execute(
        "INSERT INTO touches(agent, customer_id, text, at) VALUES ('x', 'a', 'hi', '2026-01-01')"
    )
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("UPDATE touches SET text = 'changed'")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("DELETE FROM touches")
