"""The chosen phrase filled for this customer; unfilled placeholders stand out."""

from __future__ import annotations

import re

from rich.text import Text
from textual.widgets import Static

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


class Preview(Static, can_focus=True):
    """Selectable preview of the exact text that will be copied."""

    ALLOW_SELECT = True

    def show(self, filled: Filled | None) -> None:
        self.update(preview_text(filled))
