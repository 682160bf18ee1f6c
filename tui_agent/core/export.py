"""Making values safe for a CSV file that a person opens in a spreadsheet."""

from __future__ import annotations

# A text cell starting with one of these is run as a formula by Excel, LibreOffice and
# Google Sheets (CSV/formula injection). Tab and carriage return are on OWASP's list too.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> object:
    """The value to write: text that a spreadsheet would run gets a leading apostrophe.

    Numbers are left alone (``-3.5`` is a number, not a formula); None becomes an empty cell.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float):
        return value
    text = str(value)
    if text.startswith(FORMULA_START):
        return "'" + text
    return text
