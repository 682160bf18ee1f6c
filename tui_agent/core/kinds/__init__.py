"""The rule kinds: one module per kind, each with its pure occurrence function.

:data:`OCCURRENCES` is the one table the planner loops over (with the facts queries of
``tui_agent.store.facts``, keyed the same way). These functions are the tested reference for
any faster, set-based version of a kind.
"""

from __future__ import annotations

from tui_agent.core.kinds import (
    after_delivery,
    birthday,
    holiday,
    member_day,
    periodic,
    replenish,
    winback,
)
from tui_agent.core.kinds.base import OccurrenceFn
from tui_agent.core.rules import KIND_KEYS

OCCURRENCES: dict[str, OccurrenceFn] = {
    "after_delivery": after_delivery.occurrences,
    "vip": after_delivery.occurrences,
    "replenish": replenish.occurrences,
    "birthday": birthday.occurrences,
    "winback": winback.occurrences,
    "holiday": holiday.occurrences,
    "member_day": member_day.occurrences,
    "periodic": periodic.occurrences,
}
assert set(OCCURRENCES) == set(KIND_KEYS)
