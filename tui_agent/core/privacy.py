"""Keeping customers' phone numbers out of messages, errors and logs.

A message that quotes a bad cell (``'13812345678' is not a date``) would copy a customer's
phone number into a terminal scrollback, a CI log or a bug report. Messages pass through
:func:`mask_phones`, which keeps enough of the number to find the row (the first three and
last four digits) and hides the rest.
"""

from __future__ import annotations

import re

# Mainland mobile numbers (optionally +86), then any international number written with a
# leading '+'. Plain digit runs (ids, amounts) are left alone: they are not phone numbers.
_PHONE = re.compile(
    r"(?<![\d])(?:\+?86[ -]?)?1[3-9]\d(?:[ -]?\d){8}(?!\d)"
    r"|\+\d(?:[ -]?\d){7,14}(?!\d)"
)


def _mask(match: re.Match[str]) -> str:
    text = match.group(0)
    digits = [i for i, ch in enumerate(text) if ch.isdigit()]
    hide = set(digits[3:-4])
    return "".join("*" if i in hide else ch for i, ch in enumerate(text))


def mask_phones(text: str) -> str:
    """``text`` with every phone number's middle digits replaced by ``*``."""
    return _PHONE.sub(_mask, text)


def has_phone(text: str) -> bool:
    """Whether ``text`` still holds a whole phone number."""
    return _PHONE.search(text) is not None
