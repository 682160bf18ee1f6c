"""Parsing and formatting the dates the shop's files and database hold."""

from __future__ import annotations

from datetime import date, datetime

DATETIME_FMT = "%Y-%m-%d %H:%M:%S"


def parse_date(text: str) -> date:
    """``YYYY-MM-DD`` (a time part, if any, is ignored). Raises ValueError."""
    return parse_datetime(text).date()


def parse_datetime(text: str) -> datetime:
    """ISO ``YYYY-MM-DD`` or ``YYYY-MM-DD HH:MM[:SS]`` (``T`` also accepted). Raises ValueError."""
    s = text.strip()
    if len(s) == 10:
        return datetime.strptime(s, "%Y-%m-%d")
    s = s.replace("T", " ", 1)
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M"):
        try:
            return datetime.strptime(s, fmt)
        except ValueError:
            continue
    raise ValueError(f"not a date: {text!r} (expected YYYY-MM-DD or YYYY-MM-DD HH:MM[:SS])")


def to_db(value: date | datetime | None) -> str | None:
    """The canonical text stored in the database (sorts chronologically)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.strftime(DATETIME_FMT)
    return value.isoformat()


def from_db_datetime(text: str | None) -> datetime | None:
    """Text the store wrote with :func:`to_db`. ``fromisoformat`` is C and ~50x faster than
    strptime, which matters when the scheduler reads tens of thousands of rows."""
    return None if not text else datetime.fromisoformat(text)


def from_db_date(text: str | None) -> date | None:
    return None if not text else date.fromisoformat(text[:10])
