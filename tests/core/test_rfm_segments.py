"""RFM: quintile scores that survive ties, and one segment for each of the 125 score triples."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tui_agent.core.segments import (
    SEGMENT_BOXES,
    Segment,
    frequency_scores,
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
    # Score = 1 + 5 * (smaller + equal / 2) // n. The six 1s: 1 + 5 * 3 // 10 = 2; the two 2s:
    # 1 + 5 * 7 // 10 = 4; 3: 1 + 5 * 8.5 // 10 = 5; 5: 1 + 5 * 9.5 // 10 = 5.
    assert quintile_scores([1, 1, 1, 1, 1, 1, 2, 2, 3, 5]) == [2] * 6 + [4, 4, 5, 5]
    assert quintile_scores([7.0] * 5) == [3] * 5  # one big tie sits in the middle
    assert quintile_scores([]) == []


def test_mostly_one_time_buyers_use_every_frequency_score() -> None:
    # Real shops: ~70% buy once. A qcut with equal-sized bins would fail on duplicate edges.
    freqs = [1] * 700 + [2] * 200 + [3] * 60 + [4] * 30 + [9] * 10
    scores = frequency_scores(freqs)
    assert set(scores[:700]) == {1}
    assert set(scores[700:900]) == {2}
    assert set(scores[900:960]) == {3}  # 3 orders: mid-rank 30 of the 100 with 3+
    assert set(scores[960:]) == {5}  # 4 and 9 orders: mid-ranks 75 and 95 of 100


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
    if values and len(set(values)) == 1:
        assert set(scores) == {3}


def test_score_customers_recency_is_inverted() -> None:
    rows = [("near", 1, 5, 500.0), ("far", 400, 1, 10.0)]
    scored = {r.customer_id: r for r in score_customers(rows)}
    # Two customers: R and M mid-ranks 1.5 and 0.5 of 2 -> 1 + 5 * 1.5 // 2 = 4 and 2; F: five
    # orders is the only 3+ customer (3 + 3 * 0.5 // 1 = 4), one order is F=1.
    assert scored["near"].code == "444"
    assert scored["far"].code == "212"
    assert scored["near"].segment is Segment.CHAMPIONS
    assert scored["far"].segment is Segment.HIBERNATING


def test_frequent_buyers_are_never_one_order_or_few_order_segments() -> None:
    """Issue 12, defect 4: a shop where everyone buys often (90 customers with 7 orders, 10
    with 6). Rank scores with shared ties gave every one of them F=1, so the recent 7-order
    customers were "new - just bought once" and the quiet ones "lost"."""
    rows = [(f"c{i}", i, 7, 700.0 + i) for i in range(90)]
    rows += [(f"s{i}", i * 9, 6, 600.0) for i in range(10)]
    scored = score_customers(rows)
    one_order = {Segment.NEW, Segment.PROMISING, Segment.ABOUT_TO_SLEEP}
    few_orders = {Segment.LOST, Segment.HIBERNATING}
    for x in scored:
        assert x.f >= 3, x  # 3+ orders: never scored as a one- or two-order customer
        assert x.segment not in one_order | few_orders, x
    # the scale is still used among them: 7 orders score above 6
    f_of = {x.frequency: x.f for x in scored}
    assert f_of[7] > f_of[6]


def test_frequency_guards() -> None:
    # one order is F=1 and two orders F=2 whatever the shop; 3+ orders share 3-5 by rank
    # 3, 4, 5, 9: mid-ranks 0.5, 1.5, 2.5, 3.5 of 4 -> 3 + floor(3 * rank / 4) = 3, 4, 4, 5
    assert frequency_scores([1, 1, 2, 2, 3, 4, 5, 9]) == [1, 1, 2, 2, 3, 4, 4, 5]
    assert frequency_scores([7] * 4) == [4] * 4  # ties share the middle of their ranks
    assert frequency_scores([1] * 5) == [1] * 5
    assert frequency_scores([]) == []
