"""How copied text reaches the agent's clipboard, and what the status line says about it.

Pure logic: the two ways of copying are passed in as functions, so this module knows nothing
of Textual. OSC 52 (an escape sequence the terminal turns into a clipboard write, which also
works over SSH and, with ``set -g set-clipboard on``, inside tmux) is always sent; the system
clipboard (pyperclip) is used only when a graphical display exists, because without one it
either fails or blocks.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass

Copier = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class CopyResult:
    """Which ways the text went."""

    osc52: bool
    system: bool
    system_error: str | None = None

    @property
    def ok(self) -> bool:
        return self.osc52 or self.system

    def describe(self) -> str:
        """One line for the status bar, honest about what may not have worked."""
        if self.osc52 and self.system:
            return "copied (system clipboard + OSC 52)"
        if self.system:
            return "copied (system clipboard)"
        if self.osc52:
            note = f"; system clipboard failed: {self.system_error}" if self.system_error else ""
            return f"copied via OSC 52 (terminal clipboard){note}"
        return "NOT copied: select the preview text and copy it by hand"


def has_display(env: Mapping[str, str] | None = None) -> bool:
    """True when a graphical display is reachable (X11 or Wayland)."""
    env = os.environ if env is None else env
    return bool(env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"))


def system_copy(text: str) -> None:
    """Copy with pyperclip (imported lazily: it probes the system on import)."""
    import pyperclip

    pyperclip.copy(text)


def copy_text(
    text: str,
    *,
    osc52: Copier,
    system: Copier | None = system_copy,
    env: Mapping[str, str] | None = None,
) -> CopyResult:
    """Send ``text`` by OSC 52 always, and to the system clipboard when a display exists."""
    sent = True
    try:
        osc52(text)
    except Exception:
        sent = False
    if system is None or not has_display(env):
        return CopyResult(osc52=sent, system=False)
    try:
        system(text)
    except Exception as exc:  # pyperclip raises its own errors, or OSError/RuntimeError
        return CopyResult(osc52=sent, system=False, system_error=str(exc) or type(exc).__name__)
    return CopyResult(osc52=sent, system=True)
