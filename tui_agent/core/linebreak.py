"""Line breaking for Chinese text mixed with Latin words, by the usual rules (kinsoku).

Terminal width is counted in cells (a CJK character takes two). A line may break between any
two CJK characters, but never:

- before closing punctuation (，。、；：？！ and closing brackets/quotes): no line starts with it;
- after opening brackets or quotes (（「《“): no line ends with it;
- inside a Latin word or number, unless the word alone is wider than the line.

Pure: no Rich or Textual here; the preview uses the offsets to divide its styled text.
"""

from __future__ import annotations

import itertools
import unicodedata

NO_START = frozenset(
    "，。、；：？！）」』】》〉〕〗〙〛”’…‥·・ー々〻ゝゞ～%‰℃,.;:?!)]}>"
    "\uff09\uff3d\uff5d\uff0e\uff0c\uff1a\uff1b\uff01\uff1f"
)
NO_END = frozenset("（「『【《〈〔〖〘〚“‘([{<\uff08\uff3b\uff5b")


def char_width(ch: str) -> int:
    """Cells a character takes in a terminal (wide and fullwidth: 2; combining: 0)."""
    if unicodedata.combining(ch):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def _is_word(ch: str) -> bool:
    return ch.isascii() and (ch.isalnum() or ch in "_-'@#/&+=")


def break_offsets(text: str, width: int) -> list[int]:
    """Offsets in ``text`` where lines start (besides 0), for lines at most ``width`` cells.

    Existing newlines are kept (the offset after each ``\\n`` is included). Spaces at a
    break stay at the end of the line before it, so no character is lost or added.
    """
    width = max(width, 4)
    offsets: list[int] = []
    start = 0
    for paragraph in text.split("\n"):
        _break_paragraph(text, start, start + len(paragraph), width, offsets)
        start += len(paragraph) + 1
        if start <= len(text):
            offsets.append(start)
    return [o for o in offsets if 0 < o < len(text)]


def _break_paragraph(text: str, begin: int, end: int, width: int, offsets: list[int]) -> None:
    line_start = begin
    used = 0
    i = begin
    while i < end:
        w = char_width(text[i])
        if used + w <= width or i == line_start:
            used += w
            i += 1
            continue
        cut = _good_cut(text, line_start, i)
        if text[i] == " ":  # a space at the edge stays on this line (trailing)
            while i < end and text[i] == " ":
                i += 1
            cut = i
        offsets.append(cut)
        line_start = cut
        used = sum(char_width(c) for c in text[line_start:i])


def _good_cut(text: str, line_start: int, i: int) -> int:
    """Move a break at ``i`` back until it obeys the rules; keep it if nothing fits."""
    cut = i
    # Not inside a Latin word: go back to the word's start.
    if _is_word(text[cut]) and _is_word(text[cut - 1]):
        j = cut
        while j > line_start and _is_word(text[j - 1]):
            j -= 1
        if j > line_start:
            cut = j
    # No line starts with closing punctuation, none ends with an opening one.
    for _ in range(3):
        if cut - 1 > line_start and (text[cut] in NO_START or text[cut - 1] in NO_END):
            cut -= 1
        else:
            break
    if text[cut] in NO_START or text[cut - 1] in NO_END:
        return i  # a line of nothing but punctuation: break where it is
    return cut


def wrap(text: str, width: int) -> list[str]:
    """``text`` as lines of at most ``width`` cells, broken by :func:`break_offsets`."""
    cuts = [0, *break_offsets(text, width), len(text)]
    lines = [text[a:b] for a, b in itertools.pairwise(cuts)]
    return [line[:-1] if line.endswith("\n") else line for line in lines]
