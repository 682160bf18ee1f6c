"""The floor for the console's first paint: a bare Textual app (header, one line, footer).

    python -m benchmarks.bare_app

``bench_paint`` runs it in the same tmux window size as the console and stops the clock when
its marker line is on screen: what any Textual app costs to start and paint on this machine.
"""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.widgets import Footer, Header, Static

MARKER = "bare textual app ready"


class BareApp(App[None]):
    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(MARKER)
        yield Footer()


if __name__ == "__main__":
    BareApp().run()
