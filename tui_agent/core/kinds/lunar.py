"""Lunar month-days (农历) to solar dates, with the maintained ``lunar_python`` package.

A lunar birthday is written ``MM-DD`` or, in a leap month, ``闰MM-DD``. Conventions:
a 30th in a 29-day month falls on the month's last day (the 29th); a leap-month birthday in
a year without that leap month falls in the ordinary month of that number.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from functools import lru_cache

_LUNAR_MD = re.compile(r"^(闰)?(\d{2})-(\d{2})$")


def parse_lunar_md(text: str) -> tuple[int, int, bool]:
    """``"08-15"`` -> (8, 15, False); ``"闰04-10"`` -> (4, 10, True). Raises ValueError."""
    m = _LUNAR_MD.match(text.strip())
    if not m or not 1 <= int(m.group(2)) <= 12 or not 1 <= int(m.group(3)) <= 30:
        raise ValueError(f"{text!r} is not a lunar month-day (MM-DD or 闰MM-DD, day 1-30)")
    return int(m.group(2)), int(m.group(3)), bool(m.group(1))


Month = tuple[int, int, int, date]  # lunar year, month (negative: leap), days, first day


@lru_cache(maxsize=16)
def _months(year: int) -> tuple[Month, ...]:
    """The months ``lunar_python.LunarYear`` computes for ``year`` (the 11th month of the
    year before to the 1st of the next). Kept per year: computing one takes ~14 ms, and the
    package caches a single year, so converting days of two years computed them over and over
    (a day of January belongs to the lunar year before)."""
    from lunar_python import LunarYear, Solar

    out = []
    for m in LunarYear.fromYear(year).getMonths():
        s = Solar.fromJulianDay(m.getFirstJulianDay())
        first = date(s.getYear(), s.getMonth(), s.getDay())
        out.append((m.getYear(), m.getMonth(), m.getDayCount(), first))
    return tuple(out)


def _month(lunar_year: int, month: int) -> Month:
    """``LunarYear.fromYear(lunar_year).getMonth(month)``."""
    return next(m for m in _months(lunar_year) if m[0] == lunar_year and m[1] == month)


def _leap_month(lunar_year: int) -> int:
    """``LunarYear.fromYear(lunar_year).getLeapMonth()``: the leap month's number, or 0."""
    return next((-m[1] for m in _months(lunar_year) if m[0] == lunar_year and m[1] < 0), 0)


@lru_cache(maxsize=4096)  # a pure function of ints
def to_solar(lunar_year: int, month: int, day: int, leap: bool = False) -> date:
    """The solar date of lunar ``month``-``day`` in ``lunar_year`` (conventions above)."""
    m = -month if leap and _leap_month(lunar_year) == month else month
    _, _, days, first = _month(lunar_year, m)
    return first + timedelta(days=min(day, days) - 1)


@lru_cache(maxsize=1024)
def keys_for(day: date) -> frozenset[str]:
    """Every stored lunar birthday that falls on solar ``day`` (the store's indexed look-up)."""
    # lunar_python's Lunar.fromSolar: the first month of the solar year's table not over yet
    y, m, d = next(
        (y, m, (day - first).days + 1)
        for y, m, days, first in _months(day.year)
        if (day - first).days < days
    )
    leap = m < 0
    month = abs(m)
    out = {f"闰{month:02d}-{d:02d}" if leap else f"{month:02d}-{d:02d}"}
    if d == 29 and _month(y, m)[2] == 29:
        out.add(f"闰{month:02d}-30" if leap else f"{month:02d}-30")
    if not leap and _leap_month(y) != month:
        # no leap month of this number this year: leap-month birthdays fall here
        out |= {"闰" + k for k in out if not k.startswith("闰")}
    return frozenset(out)
