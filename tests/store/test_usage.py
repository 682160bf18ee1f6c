from __future__ import annotations

from datetime import datetime

import sqlite_utils

from tui_agent.store.db import write_tx
from tui_agent.store.usage import phrase_usage


def test_phrase_usage_counts_per_agent(db: sqlite_utils.Database) -> None:
    with write_tx(db):
        db.execute("INSERT INTO customers(customer_id) VALUES ('C1')")
        for agent, phrase, at in [
            ("amy", "replenish", "2026-03-01 10:00:00"),
            ("amy", "replenish", "2026-03-05 09:00:00"),
            ("amy", "birthday", "2026-02-01 09:00:00"),
            ("amy", None, "2026-03-06 09:00:00"),
            ("bob", "replenish", "2026-03-10 09:00:00"),
        ]:
            db.execute(
                "INSERT INTO touches(agent, customer_id, phrase_id, text, at) "
                "VALUES (?, 'C1', ?, 't', ?)",
                [agent, phrase, at],
            )
    usage = phrase_usage(db, "amy")
    assert set(usage) == {"replenish", "birthday"}
    assert usage["replenish"].count == 2
    assert usage["replenish"].last_at == datetime(2026, 3, 5, 9, 0)
    assert phrase_usage(db, "carol") == {}


def test_phrase_usage_uses_the_index(db: sqlite_utils.Database) -> None:
    plan = db.execute(
        "EXPLAIN QUERY PLAN SELECT phrase_id, COUNT(*), MAX(at) FROM touches "
        "WHERE agent = ? AND phrase_id IS NOT NULL GROUP BY phrase_id",
        ["amy"],
    ).fetchall()
    assert any("idx_touches_agent_phrase" in str(row) for row in plan)


def test_phrase_usage_ignores_retracted_touches(db: sqlite_utils.Database) -> None:
    """An undone touch is not a use of the phrase: it must not push it up the ranking."""
    from tui_agent.store.outcomes import undo_last_touch

    with write_tx(db):
        db.execute("INSERT INTO customers(customer_id) VALUES ('C1')")
        for phrase, at in [("care", "2026-03-01 10:00:00"), ("oops", "2026-03-05 09:00:00")]:
            db.execute(
                "INSERT INTO touches(agent, customer_id, phrase_id, text, at) "
                "VALUES ('amy', 'C1', ?, 't', ?)",
                [phrase, at],
            )
    undo_last_touch(db, "amy", now=datetime(2026, 3, 5, 9, 1))
    usage = phrase_usage(db, "amy")
    assert set(usage) == {"care"}
