"""Textual's footer, rebuilt only when the keys it shows change.

Textual's ``Footer`` throws away and remounts every key widget on each bindings change of the
screen (every focus change: at start-up three times before the first full frame), and each
new key widget restyles itself twice (born compact, then bound to the footer's non-compact
style): ~0.05 s of the console's first paint on a 16-key footer. This one looks and behaves
the same: it rebuilds once for changes that come before a scheduled rebuild has run, skips a
rebuild that would show the very same keys, and its keys are born with the footer's own
``compact``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual.widgets import Footer
from textual.widgets._footer import FooterKey

if TYPE_CHECKING:
    from textual.app import ComposeResult
    from textual.screen import Screen


class KeyFooter(Footer):
    """A :class:`~textual.widgets.Footer` that rebuilds only when its keys change."""

    _shown: tuple[Any, ...] | None = None  # what the last compose showed
    _rebuild_pending = False  # a recompose is scheduled and has not run yet

    def _keys(self) -> tuple[Any, ...]:
        """Everything the footer's compose reads from the screen's active bindings."""
        app = self.app
        shown = tuple(
            (binding, enabled, tooltip, app.get_key_display(binding))
            for key, (_node, binding, enabled, tooltip) in self.screen.active_bindings.items()
            if binding.show or key == app.COMMAND_PALETTE_BINDING
        )
        return (self.compact, self.show_command_palette, self.combine_groups, shown)

    def compose(self) -> ComposeResult:
        self._rebuild_pending = False
        self._shown = self._keys() if self._bindings_ready else None
        for widget in super().compose():
            if isinstance(widget, FooterKey) and "compact" in (widget._reactive_connect or {}):
                # Born as its binding to the footer's compact makes it, not restyled on mount
                # (the command palette's key is not bound: it stays compact, as in Footer).
                widget.set_reactive(FooterKey.compact, self.compact)
                widget.set_class(self.compact, "-compact", update=False)
            yield widget

    def bindings_changed(self, screen: Screen[Any]) -> None:
        # Footer.bindings_changed, but one rebuild at a time and none for the same keys.
        self._bindings_ready = True
        if not screen.app.app_focus or not self.is_attached or screen is not self.screen:
            return
        if self._rebuild_pending:
            return  # the rebuild on its way reads the bindings as they are then
        if self._shown is not None and self._keys() == self._shown:
            return  # the same keys: nothing to rebuild
        self._rebuild_pending = True
        self.call_after_refresh(self.recompose)
