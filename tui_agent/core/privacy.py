"""Keeping customers' phone numbers out of messages, errors and logs.

A message that quotes a bad cell (``'13812345678' is not a date``) would copy a customer's
phone number into a terminal scrollback, a CI log or a bug report. Messages pass through
:func:`mask_phones`, which keeps enough of the number to find the row (the first three and
last four digits) and hides the rest.
"""

from __future__ import annotations

import re

# Mainland mobile numbers (optionally +86, 86 or 0086 before them; digits grouped by spaces,
# dashes or dots: 138.1234.5678), any international number written with a leading '+', and
# mainland landlines (010-62345678, (021) 6234 5678, 0755-2345678). Plain digit runs (ids,
# amounts) are left alone: they are not phone numbers.
_PHONE = re.compile(
    r"(?<!\d)(?:(?:\+|00)?86[ .-]?)?1[3-9]\d(?:[ .-]?\d){8}(?!\d)"
    r"|\+\d(?:[ .-]?\d){7,14}(?!\d)"
    r"|(?<![\w.])(?:\(0\d{2,3}\)|0\d{2,3})[ .-]?\d{3,4}[ .-]?\d{4}(?![\d.])"
)
_EMAIL = re.compile(r"(?<![\w.+-])([\w.+-])[\w.+-]*@([\w-]+(?:\.[\w-]+)+)")


def _mask(match: re.Match[str]) -> str:
    text = match.group(0)
    digits = [i for i, ch in enumerate(text) if ch.isdigit()]
    hide = set(digits[3:-4])
    return "".join("*" if i in hide else ch for i, ch in enumerate(text))


def mask_phone(phone: str | None) -> str:
    """One stored phone number as every screen, command and export shows it: the first three
    and last four digits (``13812345678`` -> ``138****5678``, separators kept), or only the
    last two of a number shorter than eight digits. ``""`` for no number."""
    if not phone:
        return ""
    digits = [i for i, ch in enumerate(phone) if ch.isdigit()]
    hide = set(digits[3:-4] if len(digits) >= 8 else digits[:-2])
    return "".join("*" if i in hide else ch for i, ch in enumerate(phone))


def mask_phones(text: str) -> str:
    """``text`` with every phone number's middle digits replaced by ``*``, and every email's
    local part but its first character."""
    return _EMAIL.sub(r"\1***@\2", _PHONE.sub(_mask, text))


def has_phone(text: str) -> bool:
    """Whether ``text`` still holds a whole phone number or email address."""
    return _PHONE.search(text) is not None or _EMAIL.search(text) is not None
