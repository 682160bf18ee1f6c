"""Today's work, counted: touches per stage and per agent (the stats screen's fallback)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import sqlite_utils

from tui_agent.store.outcomes import live_touch


@dataclass(frozen=True, slots=True)
class DayWork:
    """Touches logged on one day, grouped two ways (largest first)."""

    by_stage: tuple[tuple[str, int], ...]
    by_agent: tuple[tuple[str, int], ...]
    total: int


def day_work(db: sqlite_utils.Database, day: date) -> DayWork:
    """Count the touches logged on ``day`` by stage (``?`` when none) and by agent.

    Retracted touches (taken back with undo) do not count; replies do (they are work done).
    """
    start = f"{day.isoformat()} 00:00:00"
    end = f"{(day + timedelta(days=1)).isoformat()} 00:00:00"
    by_stage = db.execute(
        "SELECT coalesce(stage, '?'), count(*) AS n FROM touches t WHERE at >= ? AND at < ? "
        f"AND {live_touch('t')} GROUP BY 1 ORDER BY n DESC, 1",
        [start, end],
    ).fetchall()
    by_agent = db.execute(
        "SELECT agent, count(*) AS n FROM touches t WHERE at >= ? AND at < ? "
        f"AND {live_touch('t')} GROUP BY 1 ORDER BY n DESC, 1",
        [start, end],
    ).fetchall()
    return DayWork(
        by_stage=tuple((str(s), int(n)) for s, n in by_stage),
        by_agent=tuple((str(a), int(n)) for a, n in by_agent),
        total=sum(int(n) for _s, n in by_stage),
    )
