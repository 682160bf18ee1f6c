"""The `?` screen: every key binding with its id (for the keymap in config.toml)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import ClassVar

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

_KEY_NAMES = {"question_mark": "?", "slash": "/", "escape": "esc"}


def show_keys(keys: str) -> str:
    """``question_mark,ctrl+t`` -> ``?, ctrl+t``."""
    return ", ".join(_KEY_NAMES.get(k.strip(), k.strip()) for k in keys.split(","))


def bindings_table(
    groups: Iterable[tuple[str, Iterable[BindingType]]], keymap: Mapping[str, str]
) -> Table:
    """A table of (where, keys, action, id); keys come from the user's keymap when remapped."""
    table = Table(box=None, padding=(0, 2), header_style="bold")
    table.add_column("where", style="dim")
    table.add_column("keys", style="bold cyan")
    table.add_column("does")
    table.add_column("id (config.toml \\[keymap])", style="dim")
    table.add_row(
        "lists, search", "enter", "Copy the phrase and log the touch", "(also copy_and_log)"
    )
    table.add_row("everywhere", "tab, shift+tab", "Move between the list, phrases, card", "")
    table.add_row("everywhere", "ctrl+p", "Command palette: every action by name", "")
    table.add_row("skip dialog", "1-9", "Skip with that preset reason ([skip] presets)", "")
    for where, bindings in groups:
        for b in bindings:
            if not isinstance(b, Binding) or not b.id:
                continue
            table.add_row(
                where, show_keys(keymap.get(b.id, b.key)), b.description or b.action, b.id
            )
    return table


class HelpScreen(ModalScreen[None]):
    """Lists the keys; escape, q or ? closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "dismiss", "Close", id="help.close"),
    ]

    def __init__(
        self, groups: list[tuple[str, Iterable[BindingType]]], keymap: Mapping[str, str]
    ) -> None:
        super().__init__()
        self.groups = groups
        self.keymap = keymap

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog", id="help"):
            yield Static("[b]tui-agent keys[/b] — remap any of them by id in config.toml\n")
            yield Static(bindings_table(self.groups, self.keymap))
            yield Static(
                "\nThe work loop: the next follow-up is selected and its phrase proposed; "
                "enter copies the filled text and logs the touch. "
                "ctrl+p opens the command palette. Escape closes this screen."
            )

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)
