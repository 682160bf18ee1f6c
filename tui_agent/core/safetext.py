"""Text from outside (a shop's CSV export) made safe for a terminal.

A cell can carry ``ESC ] 52 ; c ; <base64> BEL`` (a terminal sets the clipboard),
``ESC ] 0 ; title BEL`` (the window title), CSI sequences that clear the screen or move the
cursor, C1 controls (``\\x9b`` is a CSI on some terminals) and bidi overrides that make text
read differently from what it holds. Imported cells go through :func:`clean_cell` once, at
the door, and the cleaned text is what is stored, shown and logged in a touch. Whatever
reaches a terminal from elsewhere (an old database, an error message quoting a file's
header) goes through :func:`visible`.

Controls are made visible rather than dropped, so an agent sees that the export carried
something odd: C0 and DEL become their Unicode "control pictures" (ESC -> ␛, BEL -> ␇),
C1 becomes U+FFFD (�). Bidi controls are dropped (no picture exists; showing them changes
nothing a reader can act on). In a one-line cell, tab, CR, LF and the Unicode line and
paragraph separators become a space.
"""

from __future__ import annotations

import re

# Bidi embedding/override/isolate marks and the implicit direction marks.
BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"

_PICTURES = {c: chr(0x2400 + c) for c in range(0x20)}
_PICTURES[0x7F] = "\u2421"

_CELL_TABLE: dict[int, str | None] = {
    **_PICTURES,
    **{c: "\ufffd" for c in range(0x80, 0xA0)},
    **{ord(c): None for c in BIDI},
}
for _c in "\t\r\n\x0b\x0c\u2028\u2029":
    _CELL_TABLE[ord(_c)] = " "

# For multi-line text shown on a terminal: keep newline and tab.
_SHOW_TABLE = dict(_CELL_TABLE)
_SHOW_TABLE[0x0A] = "\n"
_SHOW_TABLE[0x09] = "\t"
_SHOW_TABLE[0x0D] = _PICTURES[0x0D]

UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029" + BIDI + "]")
_UNSAFE_SHOWN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029" + BIDI + "]")


def clean_cell(text: str) -> str:
    """One imported cell as it is stored: no control character, one line."""
    if UNSAFE.search(text) is None:  # the common case costs one scan
        return text
    return text.translate(_CELL_TABLE)


def visible(text: str) -> str:
    """``text`` safe to write to a terminal: newlines and tabs kept, other controls shown."""
    if _UNSAFE_SHOWN.search(text) is None:
        return text
    return text.translate(_SHOW_TABLE)
