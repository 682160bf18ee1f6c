"""RFM: quintile scores that survive ties, and one segment for each of the 125 score triples."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tui_agent.core.segments import (
    SEGMENT_BOXES,
    Segment,
    quintile_scores,
    score_customers,
    segment_for,
)

ALL = list(itertools.product(range(1, 6), repeat=3))


def test_every_triple_is_in_exactly_one_box() -> None:
    assert len(ALL) == 125
    for r, f, m in ALL:
        hits = [b.segment for b in SEGMENT_BOXES if b.contains(r, f, m)]
        assert len(hits) == 1, (r, f, m, hits)
        assert segment_for(r, f, m) == hits[0]


def test_every_segment_is_reachable() -> None:
    reached = {segment_for(*t) for t in ALL}
    assert reached == set(Segment)


def test_segment_sizes_in_the_table() -> None:
    sizes = {s: sum(1 for t in ALL if segment_for(*t) == s) for s in Segment}
    assert sizes == {
        Segment.CHAMPIONS: 8,
        Segment.LOYAL: 22,
        Segment.CANT_LOSE: 8,
        Segment.AT_RISK: 22,
        Segment.POTENTIAL_LOYAL: 20,
        Segment.NEW: 5,
        Segment.PROMISING: 5,
        Segment.NEEDS_ATTENTION: 10,
        Segment.ABOUT_TO_SLEEP: 5,
        Segment.HIBERNATING: 10,
        Segment.LOST: 10,
    }


@pytest.mark.parametrize(
    ("rfm", "segment"),
    [
        ((5, 5, 5), Segment.CHAMPIONS),
        ((5, 5, 1), Segment.LOYAL),
        ((3, 5, 5), Segment.LOYAL),
        ((1, 5, 5), Segment.CANT_LOSE),
        ((2, 4, 3), Segment.AT_RISK),
        ((1, 3, 5), Segment.AT_RISK),
        ((4, 2, 1), Segment.POTENTIAL_LOYAL),
        ((5, 1, 5), Segment.NEW),
        ((4, 1, 1), Segment.PROMISING),
        ((3, 3, 3), Segment.NEEDS_ATTENTION),
        ((3, 1, 4), Segment.ABOUT_TO_SLEEP),
        ((2, 2, 5), Segment.HIBERNATING),
        ((1, 1, 1), Segment.LOST),
    ],
)
def test_examples(rfm: tuple[int, int, int], segment: Segment) -> None:
    assert segment_for(*rfm) is segment


def test_out_of_range_is_an_error() -> None:
    with pytest.raises(ValueError):
        segment_for(0, 3, 3)
    with pytest.raises(ValueError):
        segment_for(3, 6, 3)


def test_labels() -> None:
    assert Segment.CANT_LOSE.label == "can't lose"
    assert Segment.CHAMPIONS.label_zh == "重要价值客户"
    assert all(s.advice for s in Segment)


def test_quintiles_without_ties() -> None:
    assert quintile_scores([50, 10, 40, 20, 30]) == [5, 1, 4, 2, 3]
    assert quintile_scores(list(range(10))) == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]


def test_quintiles_with_ties() -> None:
    # 6 of 10 bought once: all score 1 (0 smaller). The two 2s have 6 smaller: 1 + 30 // 10 = 4.
    # 3 has 8 smaller: 5; 5 has 9 smaller: 1 + 45 // 10 = 5.
    assert quintile_scores([1, 1, 1, 1, 1, 1, 2, 2, 3, 5]) == [1] * 6 + [4, 4, 5, 5]
    assert quintile_scores([7.0] * 5) == [1] * 5
    assert quintile_scores([]) == []


def test_mostly_one_time_buyers_do_not_break_quintiles() -> None:
    # Real shops: ~70% buy once. A qcut with equal-sized bins would fail on duplicate edges.
    freqs = [1] * 700 + [2] * 200 + [3] * 60 + [4] * 30 + [9] * 10
    scores = quintile_scores(freqs)
    assert set(scores[:700]) == {1}
    assert set(scores[700:900]) == {4}  # 700 smaller: 1 + 3500 // 1000
    assert set(scores[900:960]) == {5}
    assert max(scores) == 5


@given(st.lists(st.integers(min_value=0, max_value=20), max_size=60))
def test_quintiles_properties(values: list[int]) -> None:
    scores = quintile_scores(values)
    assert len(scores) == len(values)
    for (a, sa), (b, sb) in itertools.combinations(zip(values, scores, strict=True), 2):
        assert 1 <= sa <= 5
        if a == b:
            assert sa == sb
        elif a < b:
            assert sa <= sb
    if values:
        assert scores[values.index(min(values))] == 1


def test_score_customers_recency_is_inverted() -> None:
    rows = [("near", 1, 5, 500.0), ("far", 400, 1, 10.0)]
    scored = {r.customer_id: r for r in score_customers(rows)}
    # Two customers: the better one has 1 below it -> 1 + 5 // 2 = 3.
    assert scored["near"].code == "333"
    assert scored["far"].code == "111"
    assert scored["near"].segment is Segment.NEEDS_ATTENTION
    assert scored["far"].segment is Segment.LOST
