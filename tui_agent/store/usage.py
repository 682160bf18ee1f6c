"""How often and how recently each agent used each phrase, from the touch log."""

from __future__ import annotations

import sqlite_utils

from tui_agent.core.dates import parse_datetime
from tui_agent.core.search import PhraseUsage
from tui_agent.store.outcomes import live_touch


def phrase_usage(db: sqlite_utils.Database, agent: str) -> dict[str, PhraseUsage]:
    """Phrase id -> (number of touches, latest touch) for one agent.

    Retracted touches (undone) are not uses. Served by the
    ``idx_touches_agent_phrase (agent, phrase_id, at)`` index (the retraction check is one
    ``idx_touch_events_touch`` lookup per touch).
    """
    rows = db.execute(
        "SELECT phrase_id, COUNT(*), MAX(at) FROM touches t "
        f"WHERE agent = ? AND phrase_id IS NOT NULL AND {live_touch('t')} GROUP BY phrase_id",
        [agent],
    ).fetchall()
    return {
        str(phrase_id): PhraseUsage(count=int(count), last_at=parse_datetime(str(last_at)))
        for phrase_id, count, last_at in rows
    }
