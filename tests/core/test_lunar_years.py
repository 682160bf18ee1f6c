"""``core.kinds.lunar`` keeps each year's months instead of asking ``lunar_python`` per day
(it caches one year, and January belongs to the lunar year before, so it recomputed years
over and over): the answers are the package's own, day by day."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from lunar_python import Lunar, LunarYear, Solar

from tui_agent.core.kinds import lunar


def _package_keys(day: date) -> frozenset[str]:
    """The stored lunar birthdays falling on ``day``, straight from the package."""
    lu = Solar.fromYmd(day.year, day.month, day.day).getLunar()
    m, d, y = lu.getMonth(), lu.getDay(), lu.getYear()
    leap, month = m < 0, abs(m)
    out = {f"闰{month:02d}-{d:02d}" if leap else f"{month:02d}-{d:02d}"}
    year = LunarYear.fromYear(y)
    if d == 29 and year.getMonth(m).getDayCount() == 29:
        out.add(f"闰{month:02d}-30" if leap else f"{month:02d}-30")
    if not leap and year.getLeapMonth() != month:
        out |= {"闰" + k for k in out if not k.startswith("闰")}
    return frozenset(out)


def _package_solar(lunar_year: int, month: int, day: int, leap: bool) -> date:
    year = LunarYear.fromYear(lunar_year)
    m = -month if leap and year.getLeapMonth() == month else month
    days = year.getMonth(m).getDayCount()
    s = Lunar.fromYmd(lunar_year, m, min(day, days)).getSolar()
    return date(s.getYear(), s.getMonth(), s.getDay())


def test_days_map_to_the_packages_lunar_keys() -> None:
    day = date(2025, 1, 1)  # 2025 has a leap 6th month; January is lunar 2024
    while day < date(2026, 3, 1):
        assert lunar.keys_for(day) == _package_keys(day), day
        day += timedelta(days=3)


@pytest.mark.parametrize("year", [2023, 2025, 2033])  # leap 2nd, 6th and 11th months
def test_lunar_dates_map_to_the_packages_solar_dates(year: int) -> None:
    for month in range(1, 13):
        for day in (1, 29, 30):
            for leap in (False, True):
                want = _package_solar(year, month, day, leap)
                assert lunar.to_solar(year, month, day, leap) == want, (year, month, day, leap)
