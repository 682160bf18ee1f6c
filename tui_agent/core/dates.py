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


def _canonical_datetime(s: str) -> bool:
    """``YYYY-MM-DD HH:MM:SS`` exactly, as :func:`to_db` writes it."""
    return len(s) == 19 and s[4] == "-" and s[7] == "-" and s[10] == " " and s[13] == ":"


def _canonical_date(s: str) -> bool:
    return len(s) == 10 and s[4] == "-" and s[7] == "-"


def from_db_datetime(text: str | None) -> datetime | None:
    """A stored timestamp. The canonical form takes the C ``fromisoformat`` path: the
    scheduler and the queue read hundreds of thousands of them, and ``strptime`` made up
    over half of generating a big shop's day."""
    if not text:
        return None
    if _canonical_datetime(text):
        return datetime.fromisoformat(text)
    if _canonical_date(text):
        return datetime.fromisoformat(text)
    return parse_datetime(text)


def from_db_date(text: str | None) -> date | None:
    """A stored date (a time part, if any, is ignored); fast for the canonical forms."""
    if not text:
        return None
    if _canonical_date(text):
        return date.fromisoformat(text)
    if _canonical_datetime(text):
        return date.fromisoformat(text[:10])
    return parse_date(text)
