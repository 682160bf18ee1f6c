"""Reading TOML that a person (or an attacker) wrote: nesting depth is bounded.

``tomllib`` parses arrays and inline tables recursively: a 1 KB line ``x = [[[...]]]`` of a
few hundred levels raises RecursionError, which no caller expects and which would stop a
console. :func:`loads` turns that into :class:`TooDeeplyNested`, so every loader reports
``path: too deeply nested`` like any other bad file.
"""

from __future__ import annotations

import tomllib
from typing import Any

TOO_DEEP = "too deeply nested"


class TooDeeplyNested(ValueError):
    """The TOML text nests arrays or tables deeper than the parser can follow."""

    def __init__(self) -> None:
        super().__init__(TOO_DEEP)


def loads(text: str) -> dict[str, Any]:
    """``tomllib.loads``, raising TooDeeplyNested instead of RecursionError."""
    try:
        return tomllib.loads(text)
    except RecursionError:
        raise TooDeeplyNested from None
