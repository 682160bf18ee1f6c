"""The confidence intervals against scipy and the papers' worked examples."""

from __future__ import annotations

import pytest

from tui_agent.core.intervals import newcombe_diff, too_thin, wilson


@pytest.mark.parametrize(("k", "n"), [(0, 10), (1, 10), (5, 10), (10, 10), (81, 263), (3, 1000)])
def test_wilson_matches_scipy(k: int, n: int) -> None:
    from scipy import stats

    ref = stats.binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    got = wilson(k, n)
    assert got is not None
    assert got.value == pytest.approx(k / n)
    assert got.low == pytest.approx(ref.low, abs=1e-9)
    assert got.high == pytest.approx(ref.high, abs=1e-9)


def test_wilson_empty_and_bad() -> None:
    assert wilson(0, 0) is None
    with pytest.raises(ValueError):
        wilson(5, 4)


def test_newcombe_worked_example() -> None:
    # Newcombe (1998), Statistics in Medicine 17:873-890, example (a): 56/70 vs 48/80,
    # method 10 gives 0.0524 to 0.3339 around a difference of 0.2.
    got = newcombe_diff(56, 70, 48, 80)
    assert got is not None
    assert got.value == pytest.approx(0.2)
    assert got.low == pytest.approx(0.0524, abs=5e-5)
    assert got.high == pytest.approx(0.3339, abs=5e-5)
    assert got.excludes_zero()


def test_newcombe_no_difference_spans_zero() -> None:
    got = newcombe_diff(10, 100, 10, 100)
    assert got is not None and got.value == 0 and got.low < 0 < got.high
    assert not got.excludes_zero()
    assert newcombe_diff(1, 0, 1, 10) is None


def test_too_thin() -> None:
    assert too_thin(2, 10)
    assert too_thin(3, 100)
    assert not too_thin(20, 100)
