"""CJK line breaking by the usual rules (issue 9 defect 10)."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from tui_agent.core.linebreak import NO_END, NO_START, break_offsets, char_width, wrap


def cells(line: str) -> int:
    return sum(char_width(c) for c in line)


def test_no_line_starts_with_closing_punctuation() -> None:
    text = "邵秀英，您10月25日收到的补水面膜10片差不多快用完了吧？需要补货的话跟我说一声，老顾客下单我帮您申请优惠。"
    for width in range(8, 44):
        lines = wrap(text, width)
        assert "".join(lines) == text
        for line in lines:
            assert cells(line) <= width
        for line in lines[1:]:
            assert line[0] not in NO_START, (width, lines)
        for line in lines[:-1]:
            assert line[-1] not in NO_END, (width, lines)


def test_latin_words_are_not_split_and_newlines_kept() -> None:
    lines = wrap("Hi Emma, your order of coffee arrived.\n谢谢！", 16)
    assert lines == ["Hi Emma, your ", "order of coffee ", "arrived.", "谢谢！"]
    assert wrap("书名号《新品》来了", 10) == ["书名号《新", "品》来了"]
    assert wrap("请看看「新品」", 8) == ["请看看", "「新品」"]
    assert wrap("你好你好。谢谢", 8) == ["你好你", "好。谢谢"]


@given(st.text(alphabet="你好，。？！「」abc 12\n（）", max_size=80), st.integers(4, 30))
def test_wrap_loses_nothing_and_fits(text: str, width: int) -> None:
    cuts = [0, *break_offsets(text, width), len(text)]
    pieces = [text[a:b] for a, b in itertools.pairwise(cuts)]
    assert "".join(pieces) == text  # nothing lost, nothing added
    for piece in pieces:
        line = piece.rstrip("\n").rstrip(" ")
        assert cells(line) <= width or len(line) == 1
