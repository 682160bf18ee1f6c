"""Messages that travel up from widgets to the screens that route them."""

from __future__ import annotations

from textual.message import Message

from tui_agent.core.phrases import Phrase


class PhraseHighlighted(Message):
    """The agent moved to another phrase in the search results (None: no results)."""

    def __init__(self, phrase: Phrase | None) -> None:
        super().__init__()
        self.phrase = phrase


class PhraseChosen(Message):
    """The agent pressed enter on a phrase (or in the search box): copy and log it."""

    def __init__(self, phrase: Phrase | None) -> None:
        super().__init__()
        self.phrase = phrase


class TouchLogged(Message):
    """A touch was written to the database (the stats screen listens)."""

    def __init__(self, touch_id: int, follow_up_id: int) -> None:
        super().__init__()
        self.touch_id = touch_id
        self.follow_up_id = follow_up_id
