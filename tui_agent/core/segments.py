"""RFM segments: scores 1-5 (mid-rank quintiles; frequency with absolute guards) and a table that gives every score triple one segment.

The table is a set of disjoint boxes over (recency, frequency, monetary) scores. Disjoint boxes
rather than an ordered "first rule that matches" list, so that "exactly one segment" is a
property of the table itself (tested over all 125 triples), not of the order rules are tried in.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from typing import Any, Protocol, TypeVar


class _Sortable(Protocol):
    def __lt__(self, other: Any, /) -> bool: ...


K = TypeVar("K", bound=_Sortable)


class Segment(StrEnum):
    """The eleven named RFM segments."""

    CHAMPIONS = "champions"
    LOYAL = "loyal"
    POTENTIAL_LOYAL = "potential_loyal"
    NEW = "new"
    PROMISING = "promising"
    NEEDS_ATTENTION = "needs_attention"
    ABOUT_TO_SLEEP = "about_to_sleep"
    AT_RISK = "at_risk"
    CANT_LOSE = "cant_lose"
    HIBERNATING = "hibernating"
    LOST = "lost"

    @property
    def label(self) -> str:
        return _LABELS[self][0]

    @property
    def label_zh(self) -> str:
        return _LABELS[self][1]

    @property
    def advice(self) -> str:
        """What the agent should do with such a customer (shown in the stats screen)."""
        return _LABELS[self][2]


_LABELS: dict[Segment, tuple[str, str, str]] = {
    Segment.CHAMPIONS: ("champions", "重要价值客户", "recent, frequent, big spenders: VIP care"),
    Segment.LOYAL: ("loyal", "忠诚客户", "buy often: member benefits, early access"),
    Segment.POTENTIAL_LOYAL: ("potential loyal", "潜力客户", "recent repeat buyers: nudge a 3rd"),
    Segment.NEW: ("new", "新客户", "just bought once: perfect the first experience"),
    Segment.PROMISING: ("promising", "有潜力新客", "bought once, fairly recently: upkeep"),
    Segment.NEEDS_ATTENTION: ("needs attention", "需关注客户", "repeat buyers slowing down"),
    Segment.ABOUT_TO_SLEEP: ("about to sleep", "即将沉睡", "one order, going quiet: wake up"),
    Segment.AT_RISK: ("at risk", "流失风险", "used to buy often, now quiet: win back"),
    Segment.CANT_LOSE: ("can't lose", "重要挽留客户", "best customers gone quiet: personal call"),
    Segment.HIBERNATING: ("hibernating", "沉睡客户", "few orders, long ago: low-cost offers"),
    Segment.LOST: ("lost", "已流失", "few orders, longest ago: occasional reminder only"),
}

Range = tuple[int, int]  # inclusive score range


@dataclass(frozen=True, slots=True)
class SegmentBox:
    """Scores r, f, m each within an inclusive range belong to ``segment``."""

    segment: Segment
    r: Range
    f: Range
    m: Range

    def contains(self, r: int, f: int, m: int) -> bool:
        return (
            self.r[0] <= r <= self.r[1]
            and self.f[0] <= f <= self.f[1]
            and self.m[0] <= m <= self.m[1]
        )


_ANY: Range = (1, 5)

# Why these boxes: recency says whether the customer is still with us, frequency how much of a
# habit the shop is, monetary separates the two kinds of "often buying" customers whose loss
# hurts most (champions from loyal, can't lose from at risk). One-time buyers (f = 1, most
# customers of most shops) are split by recency alone into new / promising / about to sleep /
# hibernating / lost, which is what the follow-up stages need.
SEGMENT_BOXES: tuple[SegmentBox, ...] = (
    SegmentBox(Segment.CHAMPIONS, (4, 5), (4, 5), (4, 5)),
    SegmentBox(Segment.LOYAL, (4, 5), (4, 5), (1, 3)),
    SegmentBox(Segment.LOYAL, (3, 3), (4, 5), _ANY),
    SegmentBox(Segment.CANT_LOSE, (1, 2), (4, 5), (4, 5)),
    SegmentBox(Segment.AT_RISK, (1, 2), (4, 5), (1, 3)),
    SegmentBox(Segment.AT_RISK, (1, 2), (3, 3), _ANY),
    SegmentBox(Segment.POTENTIAL_LOYAL, (4, 5), (2, 3), _ANY),
    SegmentBox(Segment.NEW, (5, 5), (1, 1), _ANY),
    SegmentBox(Segment.PROMISING, (4, 4), (1, 1), _ANY),
    SegmentBox(Segment.NEEDS_ATTENTION, (3, 3), (2, 3), _ANY),
    SegmentBox(Segment.ABOUT_TO_SLEEP, (3, 3), (1, 1), _ANY),
    SegmentBox(Segment.HIBERNATING, (2, 2), (1, 2), _ANY),
    SegmentBox(Segment.LOST, (1, 1), (1, 2), _ANY),
)


@cache
def _table() -> dict[tuple[int, int, int], Segment]:
    table: dict[tuple[int, int, int], Segment] = {}
    for r in range(1, 6):
        for f in range(1, 6):
            for m in range(1, 6):
                matches = [b.segment for b in SEGMENT_BOXES if b.contains(r, f, m)]
                if len(matches) != 1:
                    raise AssertionError(f"RFM {r}{f}{m} matches {len(matches)} segments")
                table[(r, f, m)] = matches[0]
    return table


def segment_for(r: int, f: int, m: int) -> Segment:
    """The one segment of a score triple (each score 1-5). Raises ValueError out of range."""
    try:
        return _table()[(r, f, m)]
    except KeyError:
        raise ValueError(f"RFM scores must be 1-5, got {r}, {f}, {m}") from None


def _mid_rank_scores(values: Sequence[K], low: int, bins: int) -> list[int]:
    """``low + floor(bins * mid-rank / n)``: ties share the middle of the ranks they span."""
    n = len(values)
    counts = Counter(values)  # few distinct values on real data: sort those, not every value
    score: dict[K, int] = {}
    smaller = 0
    for v in sorted(counts):
        equal = counts[v]
        score[v] = low + (bins * (2 * smaller + equal)) // (2 * n)
        smaller += equal
    return [score[v] for v in values]


def quintile_scores(values: Sequence[K]) -> list[int]:
    """Score each value 1-5 by its mid-rank: ``1 + floor(5 * (smaller + equal / 2) / n)``.

    Equal values share one score, the score of the middle of the ranks they span, so a big
    tie (most customers ordered on few days) lands in the middle of the scale rather than all
    at its bottom, and the values above it still spread over the scores above. Higher value,
    higher score. Any values that sort will do (numbers, ISO date text).
    """
    return _mid_rank_scores(values, 1, 5)


def frequency_scores(orders: Sequence[int]) -> list[int]:
    """Frequency scores with absolute guards, so the labels mean what they say.

    One order is always F=1 and two orders F=2 (the one-order segments, "new", "promising",
    "about to sleep", are exactly the one-time buyers; "lost" and "hibernating" have at most two
    orders). Customers with three or more orders share F=3-5 by mid-rank among themselves. On
    a shop where everyone orders six or seven times nobody is scored as a one-time buyer; on a
    shop of mostly one-time buyers every score is still used when there are repeat buyers.
    """
    many = [n for n in orders if n >= 3]
    many_scores = iter(_mid_rank_scores(many, 3, 3))
    return [n if n < 3 else next(many_scores) for n in orders]


@dataclass(frozen=True, slots=True)
class Rfm:
    """One customer's RFM inputs, scores and segment."""

    customer_id: str
    recency_days: int
    frequency: int
    monetary: float
    r: int
    f: int
    m: int
    segment: Segment

    @property
    def code(self) -> str:
        return f"{self.r}{self.f}{self.m}"


def score_customers(
    rows: Sequence[tuple[str, int, int, float]],
    only: set[str] | None = None,
) -> list[Rfm]:
    """Score ``(customer_id, recency_days, frequency, monetary)`` rows against each other.

    Recency: fewer days since the last order scores higher; R and M are mid-rank quintiles
    (:func:`quintile_scores`), F has absolute guards (:func:`frequency_scores`). With ``only``,
    every row is still scored (scores are relative) but only those customers are returned.
    """
    r_scores = quintile_scores([-row[1] for row in rows])
    f_scores = frequency_scores([max(1, row[2]) for row in rows])
    # a float sum's last bits must not split a tie of amounts in cents
    m_scores = quintile_scores([round(row[3], 6) for row in rows])
    return [
        Rfm(cid, rec, freq, mon, r, f, m, segment_for(r, f, m))
        for (cid, rec, freq, mon), r, f, m in zip(rows, r_scores, f_scores, m_scores, strict=True)
        if only is None or cid in only
    ]
