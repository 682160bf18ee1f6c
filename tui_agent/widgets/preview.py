"""The chosen phrase filled for this customer; unfilled placeholders stand out."""

from __future__ import annotations

import re

from rich.containers import Lines
from rich.text import Text
from textual.widgets import Static

from tui_agent.core.linebreak import break_offsets
from tui_agent.phrasing import Filled

_HOLE = re.compile(r"\{[a-z_]+\}")


def preview_text(filled: Filled | None) -> Text:
    """The text with every missing ``{placeholder}`` marked in reverse red."""
    if filled is None:
        return Text("Choose a phrase to see it filled in.", style="dim")
    text = Text(filled.text)
    if filled.missing:
        names = {"{" + m + "}" for m in filled.missing}
        for m in _HOLE.finditer(filled.text):
            if m.group(0) in names:
                text.stylize("bold reverse red", m.start(), m.end())
        text.append("\n\n")
        text.append("⚠ 缺少 missing: " + ", ".join(filled.missing), style="bold red")
        text.append(" — enter asks for them", style="dim")
    return text


def wrapped(text: Text, width: int) -> Text:
    """``text`` broken into lines of ``width`` cells by the CJK rules, styles kept."""
    offsets = break_offsets(text.plain, width)
    lines = text.divide(offsets)
    kept = _strip_newlines(lines)
    for line in kept:
        line.rstrip_end(width)  # spaces at a break would spill onto a line of their own
    out = Text("\n", no_wrap=True, overflow="crop").join(kept)
    out.no_wrap = True
    return out


def _strip_newlines(lines: Lines) -> list[Text]:
    out = []
    for line in lines:
        if line.plain.endswith("\n"):
            line = line[:-1]
        out.append(line)
    return out


class Preview(Static, can_focus=True):
    """Selectable preview of the exact text that will be copied (CJK line breaking)."""

    ALLOW_SELECT = True

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.text = preview_text(None)

    def show(self, filled: Filled | None) -> None:
        self.text = preview_text(filled)
        self.refresh(layout=True)

    def render(self) -> Text:
        width = self.content_region.width or 40
        return wrapped(self.text, width)
