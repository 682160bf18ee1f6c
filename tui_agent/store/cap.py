"""The frequency cap at the moment of work: may this customer be touched proactively now?

Generation already records a capped follow-up as skipped; but a follow-up queued in the
morning can meet a touch logged since (a manual touch at 09:00, another agent's reply), so
the touch write checks again (``followups.log_touch(..., rules=...)``).
"""

from __future__ import annotations

from datetime import datetime

import sqlite_utils

from tui_agent.core.lifecycle import cap_reason
from tui_agent.core.rules import RuleSet


def _is_service(db: sqlite_utils.Database, follow_up_id: int, rules: RuleSet) -> bool:
    service = [r.id for r in rules.rules if r.service]
    if not service:
        return False
    marks = ",".join("?" * len(service))
    row = db.execute(
        f"SELECT 1 FROM follow_up_reasons WHERE follow_up_id = ? AND rule IN ({marks}) LIMIT 1",
        [follow_up_id, *service],
    ).fetchone()
    return row is not None


def cap_block(
    db: sqlite_utils.Database,
    customer_id: str,
    now: datetime,
    rules: RuleSet,
    follow_up_id: int | None = None,
) -> str | None:
    """Why a proactive touch of ``customer_id`` at ``now`` would break the frequency cap
    (``"cap: 1 touch(es) in the last 24 h (limit 1)"``), or None when it may go ahead.
    A follow-up carrying a service occurrence (``service = true``) is never blocked."""
    from tui_agent.store.followups import touch_counts

    if follow_up_id is not None and _is_service(db, follow_up_id, rules):
        return None
    c24, c7 = touch_counts(db, [customer_id], now)
    return cap_reason(rules.cap, c24.get(customer_id, 0), c7.get(customer_id, 0))
