"""Lunar month-days (农历) to solar dates, with the maintained ``lunar_python`` package.

A lunar birthday is written ``MM-DD`` or, in a leap month, ``闰MM-DD``. Conventions:
a 30th in a 29-day month falls on the month's last day (the 29th); a leap-month birthday in
a year without that leap month falls in the ordinary month of that number.
"""

from __future__ import annotations

import re
from datetime import date
from functools import lru_cache

_LUNAR_MD = re.compile(r"^(闰)?(\d{2})-(\d{2})$")


def parse_lunar_md(text: str) -> tuple[int, int, bool]:
    """``"08-15"`` -> (8, 15, False); ``"闰04-10"`` -> (4, 10, True). Raises ValueError."""
    m = _LUNAR_MD.match(text.strip())
    if not m or not 1 <= int(m.group(2)) <= 12 or not 1 <= int(m.group(3)) <= 30:
        raise ValueError(f"{text!r} is not a lunar month-day (MM-DD or 闰MM-DD, day 1-30)")
    return int(m.group(2)), int(m.group(3)), bool(m.group(1))


@lru_cache(maxsize=4096)  # a pure function of ints; lunar_python computes a whole year
def to_solar(lunar_year: int, month: int, day: int, leap: bool = False) -> date:
    """The solar date of lunar ``month``-``day`` in ``lunar_year`` (conventions above)."""
    from lunar_python import Lunar, LunarYear

    year = LunarYear.fromYear(lunar_year)
    m = -month if leap and year.getLeapMonth() == month else month
    days = year.getMonth(m).getDayCount()
    s = Lunar.fromYmd(lunar_year, m, min(day, days)).getSolar()
    return date(s.getYear(), s.getMonth(), s.getDay())


@lru_cache(maxsize=1024)
def keys_for(day: date) -> frozenset[str]:
    """Every stored lunar birthday that falls on solar ``day`` (the store's indexed look-up)."""
    from lunar_python import LunarYear, Solar

    lunar = Solar.fromYmd(day.year, day.month, day.day).getLunar()
    m, d, y = lunar.getMonth(), lunar.getDay(), lunar.getYear()
    leap = m < 0
    month = abs(m)
    out = {f"闰{month:02d}-{d:02d}" if leap else f"{month:02d}-{d:02d}"}
    year = LunarYear.fromYear(y)
    if d == 29 and year.getMonth(m).getDayCount() == 29:
        out.add(f"闰{month:02d}-30" if leap else f"{month:02d}-30")
    if not leap and year.getLeapMonth() != month:
        # no leap month of this number this year: leap-month birthdays fall here
        out |= {"闰" + k for k in out if not k.startswith("闰")}
    return frozenset(out)
