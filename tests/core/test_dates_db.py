"""The fast path for stored timestamps gives exactly what the strict parser gives."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tui_agent.core.dates import (
    from_db_date,
    from_db_datetime,
    parse_date,
    parse_datetime,
    to_db,
)


@given(st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 12, 31)))
def test_canonical_timestamps_match_the_strict_parser(value: datetime) -> None:
    text = to_db(value.replace(microsecond=0))
    assert text is not None
    assert from_db_datetime(text) == parse_datetime(text)
    assert from_db_date(text) == parse_date(text)
    assert from_db_date(text[:10]) == parse_date(text[:10])
    assert from_db_datetime(text[:10]) == parse_datetime(text[:10])


@pytest.mark.parametrize(
    "text", ["2026-02-29 10:00:00", "2026-13-01 00:00:00", "2026-01-32", "0000-03-10", "2026-1-2"]
)
def test_impossible_dates_still_raise(text: str) -> None:
    with pytest.raises(ValueError):
        from_db_datetime(text)
    with pytest.raises(ValueError):
        from_db_date(text)


def test_other_stored_forms_fall_back_to_the_strict_parser() -> None:
    assert from_db_datetime("2026-01-02 10:00") == datetime(2026, 1, 2, 10, 0)
    assert from_db_datetime("2026-01-02T10:00:05") == datetime(2026, 1, 2, 10, 0, 5)
    assert from_db_datetime(None) is None and from_db_date("") is None
    start = datetime(2024, 2, 28, 23, 59, 59)
    for k in range(3):
        moment = start + timedelta(days=k)
        assert from_db_datetime(to_db(moment)) == moment
