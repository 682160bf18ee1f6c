"""Driving the served console in Debian's chromium-headless-shell (never a downloaded one)."""

from __future__ import annotations

import re
import time
from typing import Any

CHROMIUM = "/usr/bin/chromium-headless-shell"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
ANSI = re.compile(
    r"\x1b(?:\[[0-9;?<>=]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[PX^_][^\x1b]*\x1b\\|.)"
)


def launch(playwright: Any) -> Any:
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)


class Screen:
    """What the console sent to this page's terminal, escape sequences stripped."""

    def __init__(self, page: Any) -> None:
        self.chunks: list[bytes] = []
        self.last = time.monotonic()
        page.on("websocket", self._attach)

    def _attach(self, ws: Any) -> None:
        ws.on("framereceived", self._frame)

    def _frame(self, payload: Any) -> None:
        if isinstance(payload, bytes):
            self.chunks.append(payload)
            self.last = time.monotonic()

    def settle(self, page: Any, quiet: float = 1.0, timeout: float = 90) -> None:
        """Wait until the console has sent nothing for ``quiet`` seconds (done redrawing)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() - self.last < quiet:
            if time.monotonic() > deadline:
                raise AssertionError("the console never stopped redrawing")
            page.wait_for_timeout(100)

    def text(self) -> str:
        return ANSI.sub("", b"".join(self.chunks).decode("utf-8", "replace"))
