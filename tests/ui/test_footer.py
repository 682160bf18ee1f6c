"""The work queue's footer rebuilds its keys only when the keys it shows change."""

from __future__ import annotations

from typing import ClassVar

from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Button, Footer, Input
from textual.widgets._footer import FooterKey

from tests.ui.pilot import run
from tui_agent.widgets.footer import KeyFooter


class Noted(Input):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("ctrl+n", "note", "Note")]

    def action_note(self) -> None:
        pass


class Keys(App[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("s", "sleep", "Sleep"),
        Binding("w", "wake", "Wake", show=False),
    ]

    def __init__(self, footer: type[Footer]) -> None:
        super().__init__()
        self.footer = footer

    def compose(self) -> ComposeResult:
        yield Button("one", id="one")
        yield Button("two", id="two")
        yield Noted(id="noted")
        yield self.footer()

    def action_sleep(self) -> None:
        pass

    def action_wake(self) -> None:
        pass


def _shown(app: Keys) -> list[tuple[str, str, bool]]:
    return [(k.key, k.description, k.has_class("-compact")) for k in app.query(FooterKey)]


def test_the_footer_is_rebuilt_only_when_its_keys_change() -> None:
    async def body() -> None:
        seen: dict[type[Footer], list[list[tuple[str, str, bool]]]] = {}
        for footer in (Footer, KeyFooter):
            app = Keys(footer)
            async with app.run_test(size=(100, 10)) as pilot:
                app.query_one("#one").focus()
                await pilot.pause()
                await pilot.pause()
                first = list(app.query(FooterKey))
                assert first
                states = [_shown(app)]
                app.query_one("#two").focus()  # no key of its own: the same keys
                await pilot.pause()
                await pilot.pause()
                if footer is KeyFooter:
                    assert list(app.query(FooterKey)) == first  # the very same widgets
                states.append(_shown(app))
                app.query_one("#noted").focus()  # ctrl+n Note appears
                await pilot.pause()
                await pilot.pause()
                states.append(_shown(app))
                assert any(key == "ctrl+n" for key, _, _ in states[-1])
            seen[footer] = states
        assert seen[KeyFooter] == seen[Footer]  # the same keys, compact the same way

    run(body)
