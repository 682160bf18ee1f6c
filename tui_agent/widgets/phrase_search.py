"""Phrase search: a query box over the ranked matches, matched characters highlighted."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Input, OptionList
from textual.widgets.option_list import Option
from textual.worker import get_current_worker

from tui_agent.core.phrases import Phrase
from tui_agent.messages import PhraseChosen, PhraseHighlighted
from tui_agent.phrasing import Match, PhraseBook


def match_prompt(match: Match) -> Text:
    """One result line: title with the matched spans highlighted, then shortcut and stage."""
    p = match.phrase
    title = Text(match.title)
    for start, end in match.spans:
        title.stylize("bold reverse", start, end)
    line = Text.assemble(title, "  ")
    if p.shortcut:
        line.append(p.shortcut + " ", style="dim cyan")
    line.append(p.stage.label_zh, style="dim")
    return line


class SearchBox(Input):
    """The query box; Up/Down move through the results without leaving it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("down", "move(1)", "Next phrase", show=False, id="search.down"),
        Binding("up", "move(-1)", "Previous phrase", show=False, id="search.up"),
        Binding("escape", "leave", "Leave search", show=False, id="search.leave"),
    ]

    def action_move(self, step: int) -> None:
        results = self.screen.query_one("#phrase-list", PhraseResults)
        results.action_cursor_down() if step > 0 else results.action_cursor_up()

    def action_leave(self) -> None:
        self.screen.query_one("#phrase-list", PhraseResults).focus()


class PhraseResults(OptionList):
    """The ranked matches; j/k move like Down/Up."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "cursor_down", "Down", show=False, id="phrases.down"),
        Binding("k", "cursor_up", "Up", show=False, id="phrases.up"),
    ]


class PhraseSearch(Vertical):
    """Query box and results. Posts PhraseHighlighted and PhraseChosen."""

    def __init__(self, book: PhraseBook, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.book = book
        self.matches: list[Match] = []
        self.language: str | None = None  # the customer's: ties go to that variant
        self._want: Phrase | None = None  # the phrase to highlight when results arrive
        self.suggested: Phrase | None = None  # the follow-up's suggestion (on top when no query)

    def compose(self) -> ComposeResult:
        yield SearchBox(
            placeholder="/ 搜索话术: 中文, English, 拼音首字母 bhtx, /shortcut", id="search"
        )
        yield PhraseResults(id="phrase-list")

    def on_mount(self) -> None:
        self._show(self.book.search("", language=self.language))

    def preselect(self, phrase: Phrase | None) -> None:
        """Clear the query and highlight ``phrase`` (the one suggested for the stage)."""
        box = self.query_one(SearchBox)
        self._want = phrase
        if box.value:
            box.value = ""  # the Changed handler runs the search and honours _want
        else:
            self._show(self.book.search("", language=self.language))

    @on(Input.Changed, "#search")
    def _changed(self, event: Input.Changed) -> None:
        if not event.value.strip():
            self._want = self.suggested  # clearing the search brings the suggestion back
        self.run_search(event.value)

    @work(thread=True, exclusive=True, group="phrase-search")
    def run_search(self, query: str) -> None:
        matches = self.book.search(query, language=self.language)
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._show, matches)

    def _show(self, matches: list[Match]) -> None:
        want = self._want
        if want is not None:
            # The suggestion leads the list (browsing might not even list it).
            matches = [
                Match(want, want.variant(self.language).title),
                *(m for m in matches if m.phrase.id != want.id),
            ]
        self.matches = matches
        results = self.query_one(PhraseResults)
        results.clear_options()
        results.add_options(Option(match_prompt(m), id=m.phrase.id) for m in matches)
        index = 0
        self._want = None
        if matches:
            results.highlighted = index
            self.post_message(PhraseHighlighted(matches[index].phrase))
        else:
            self.post_message(PhraseHighlighted(None))  # nothing to copy

    def current(self) -> Phrase | None:
        index = self.query_one(PhraseResults).highlighted
        if index is None or not (0 <= index < len(self.matches)):
            return None
        return self.matches[index].phrase

    @on(OptionList.OptionHighlighted, "#phrase-list")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        if 0 <= event.option_index < len(self.matches):
            self.post_message(PhraseHighlighted(self.matches[event.option_index].phrase))

    @on(OptionList.OptionSelected, "#phrase-list")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.post_message(PhraseChosen(self.current()))

    @on(Input.Submitted, "#search")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.post_message(PhraseChosen(self.current()))
