"""How copied text reaches the agent's clipboard, and what the status line says about it.

Pure logic: the two ways of copying are passed in as functions, so this module knows nothing
of Textual. OSC 52 (an escape sequence the terminal turns into a clipboard write, which also
works over SSH and, with ``set -g set-clipboard on``, inside tmux) is always sent, and reported as
"sent", never "copied"; the system
clipboard (pyperclip) is used only when a graphical display exists, because without one it
either fails or blocks.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass

Copier = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class CopyResult:
    """Which ways the text went, and (inside tmux) tmux's ``set-clipboard`` option."""

    osc52: bool
    system: bool
    system_error: str | None = None
    tmux: str | None = None  # None outside tmux; "on", "external", "off" or "unknown"

    @property
    def ok(self) -> bool:
        return self.osc52 or self.system

    def describe(self) -> str:
        """One line for the status bar: what was done, never more than can be known.

        OSC 52 is a request to the terminal; whether it reached the clipboard cannot be
        seen from here, so it is "sent", not "copied". Inside tmux only ``set-clipboard on``
        passes an application's OSC 52 on to the outer terminal.
        """
        sent = "sent to the terminal via OSC 52" + self._tmux_note()
        if self.system:
            return "copied to the system clipboard" + (f"; also {sent}" if self.osc52 else "")
        if self.osc52:
            note = f"; system clipboard failed: {self.system_error}" if self.system_error else ""
            return sent + note
        return "NOT copied: select the preview text and copy it by hand"

    def _tmux_note(self) -> str:
        if self.tmux is None:
            return ""
        if self.tmux == "on":
            return " (tmux passes it on: set-clipboard on)"
        if self.tmux == "unknown":
            return " (inside tmux; could not read its set-clipboard option)"
        return f" (tmux drops it: set-clipboard {self.tmux}; select the text to copy)"


def tmux_set_clipboard(
    env: Mapping[str, str] | None = None,
    run: Callable[[list[str]], str] | None = None,
) -> str | None:
    """tmux's ``set-clipboard`` value when running inside tmux, else None."""
    env = os.environ if env is None else env
    if not env.get("TMUX"):
        return None
    runner = run or _run
    try:
        value = runner(["tmux", "show", "-gv", "set-clipboard"]).strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return value if value in ("on", "external", "off") else "unknown"


def _run(argv: list[str]) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=2, check=True)
    return done.stdout


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
    tmux: str | None = None,
) -> CopyResult:
    """Send ``text`` by OSC 52 always, and to the system clipboard when a display exists.

    ``tmux`` is :func:`tmux_set_clipboard`'s answer, reported as it is.
    """
    sent = True
    try:
        osc52(text)
    except Exception:
        sent = False
    if system is None or not has_display(env):
        return CopyResult(osc52=sent, system=False, tmux=tmux)
    try:
        system(text)
    except Exception as exc:  # pyperclip raises its own errors, or OSError/RuntimeError
        error = str(exc) or type(exc).__name__
        return CopyResult(osc52=sent, system=False, system_error=error, tmux=tmux)
    return CopyResult(osc52=sent, system=True, tmux=tmux)
