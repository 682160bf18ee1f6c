"""Confidence intervals for the rates the shop compares (conversion, lift over a holdout).

Pure arithmetic, no scipy: the stats and campaign reports import this on every run, and
``scipy.stats`` costs about half a second to import for two closed forms. The tests check both
against scipy and against the worked examples of the papers.

- :func:`wilson` is the Wilson score interval for one proportion (Wilson 1927), which stays
  inside [0, 1] and behaves at 0/n and n/n, unlike the normal approximation.
- :func:`newcombe_diff` is Newcombe's hybrid score interval for the difference of two
  independent proportions (Newcombe 1998, method 10), built from the two Wilson intervals.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

Z95 = 1.959963984540054  # the 97.5th percentile of the standard normal
# Below this many in a group (or fewer than MIN_EVENTS successes and failures), a rate is shown
# but called too thin to compare.
MIN_GROUP = 30
MIN_EVENTS = 5


@dataclass(frozen=True, slots=True)
class Interval:
    """A point estimate with its interval, ``low <= value <= high``."""

    value: float
    low: float
    high: float

    def excludes_zero(self) -> bool:
        return self.low > 0 or self.high < 0

    def as_list(self) -> list[float]:
        return [self.low, self.high]


def wilson(successes: int, n: int, z: float = Z95) -> Interval | None:
    """The Wilson score interval of ``successes / n`` (None when ``n`` is 0)."""
    if n <= 0:
        return None
    if not 0 <= successes <= n:
        raise ValueError(f"successes {successes} outside 0..{n}")
    p = successes / n
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    # Clamp away floating-point overshoot at 0/n and n/n.
    return Interval(p, max(0.0, centre - half), min(1.0, centre + half))


def newcombe_diff(s1: int, n1: int, s2: int, n2: int, z: float = Z95) -> Interval | None:
    """Interval for ``s1/n1 - s2/n2`` by Newcombe's hybrid score method (None if a group is empty)."""
    a = wilson(s1, n1, z)
    b = wilson(s2, n2, z)
    if a is None or b is None:
        return None
    d = a.value - b.value
    low = d - math.sqrt((a.value - a.low) ** 2 + (b.high - b.value) ** 2)
    high = d + math.sqrt((a.high - a.value) ** 2 + (b.value - b.low) ** 2)
    return Interval(d, max(-1.0, low), min(1.0, high))


def too_thin(successes: int, n: int) -> bool:
    """True when a group is too small for its rate to say much (shown, with a note)."""
    return n < MIN_GROUP or min(successes, n - successes) < MIN_EVENTS
