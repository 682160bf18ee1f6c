"""Making values safe for a CSV file that a person opens in a spreadsheet, and writing files
that hold customer data readable by their owner only."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from tui_agent.core.safetext import visible

# A text cell starting with one of these is run as a formula by Excel, LibreOffice and
# Google Sheets (CSV/formula injection). Tab and carriage return are on OWASP's list too.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
PRIVATE = 0o600


def safe_cell(value: object) -> object:
    """The value to write: text that a spreadsheet would run gets a leading apostrophe, and
    no control character survives (an export may be printed to a terminal).

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
        return "'" + visible(text)
    return visible(text)


@contextmanager
def private_file(path: Path, *, encoding: str = "utf-8") -> Iterator[TextIO]:
    """Open ``path`` for writing (truncated) with mode 0600 whatever the umask, also when the
    file already exists with wider permissions. A terminal or pipe (``/dev/stdout``) is
    written as is."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE)
    try:
        if os.path.isfile(path) and os.fstat(fd).st_mode & 0o777 != PRIVATE:
            os.fchmod(fd, PRIVATE)
    except BaseException:
        os.close(fd)
        raise
    with open(fd, "w", encoding=encoding, newline="") as fh:
        yield fh
