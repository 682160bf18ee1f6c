"""Filters on the day's queue: stage, rule, segment, tag, overdue, mine.

A plain value passed from the console's filter bar and ``tui-agent due`` to
``store.followups.due_queue``. The empty filter (``QueueFilter()``) keeps every follow-up.
"""

from __future__ import annotations

from dataclasses import dataclass

from tui_agent.core.models import Stage
from tui_agent.core.segments import Segment


@dataclass(frozen=True, slots=True)
class QueueFilter:
    """Which due follow-ups to show; every set field must hold (AND).

    - ``stage``: the follow-up's stage.
    - ``rule``: the leading rule or any merged reason's rule (e.g. ``care+1``).
    - ``segment``: the customer's RFM segment (customers without orders have none).
    - ``tag``: a tag of the customer, or a suggested tag of the follow-up.
    - ``overdue``: due before today.
    - ``mine``: an agent name; follow-ups that agent holds a claim on, or whose customer that
      agent has touched before (a live touch, not retracted): the agent's own customers.
    """

    stage: Stage | None = None
    rule: str | None = None
    segment: Segment | None = None
    tag: str | None = None
    overdue: bool = False
    mine: str | None = None

    @property
    def empty(self) -> bool:
        return self == QueueFilter()

    def describe(self) -> str:
        """A short text for a status line, e.g. ``stage=repurchase tag=VIP overdue``."""
        parts = []
        if self.stage:
            parts.append(f"stage={self.stage.value}")
        if self.rule:
            parts.append(f"rule={self.rule}")
        if self.segment:
            parts.append(f"segment={self.segment.value}")
        if self.tag:
            parts.append(f"tag={self.tag}")
        if self.overdue:
            parts.append("overdue")
        if self.mine:
            parts.append(f"mine={self.mine}")
        return " ".join(parts) or "all"


def parse_segment(text: str) -> Segment:
    """A segment from its value (``at_risk``), English label or Chinese label; ValueError."""
    key = text.strip().casefold().replace("-", "_").replace(" ", "_")
    for seg in Segment:
        if (
            key in (seg.value, seg.label.replace(" ", "_").casefold())
            or text.strip() == seg.label_zh
        ):
            return seg
    names = ", ".join(s.value for s in Segment)
    raise ValueError(f"{text!r} is not a segment (one of {names})")
