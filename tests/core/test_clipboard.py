from __future__ import annotations

import pytest

from tui_agent.core.clipboard import CopyResult, copy_text, has_display, tmux_set_clipboard


def test_osc52_always_and_system_only_with_a_display() -> None:
    sent: list[str] = []
    system: list[str] = []
    result = copy_text("你好", osc52=sent.append, system=system.append, env={})
    assert result == CopyResult(osc52=True, system=False)
    assert sent == ["你好"] and system == []
    result = copy_text("hi", osc52=sent.append, system=system.append, env={"DISPLAY": ":0"})
    assert result == CopyResult(osc52=True, system=True)
    assert system == ["hi"]
    assert result.describe() == (
        "copied to the system clipboard; also sent to the terminal via OSC 52"
    )


def test_system_clipboard_errors_are_caught_and_reported() -> None:
    def broken(_text: str) -> None:
        raise RuntimeError("no xclip")

    result = copy_text("x", osc52=lambda _t: None, system=broken, env={"WAYLAND_DISPLAY": "w"})
    assert result.osc52 and not result.system and result.system_error == "no xclip"
    assert "OSC 52" in result.describe() and "no xclip" in result.describe()


def test_nothing_worked_says_so() -> None:
    def broken(_text: str) -> None:
        raise OSError("nope")

    result = copy_text("x", osc52=broken, system=broken, env={"DISPLAY": ":0"})
    assert not result.ok
    assert result.describe().startswith("NOT copied")


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, False),
        ({"DISPLAY": ""}, False),
        ({"DISPLAY": ":1"}, True),
        ({"WAYLAND_DISPLAY": "w"}, True),
    ],
)
def test_has_display(env: dict[str, str], expected: bool) -> None:
    assert has_display(env) is expected


def test_osc52_alone_is_sent_never_copied_and_tmux_is_told_apart() -> None:
    """Issue 9 defect 9: "copied via OSC 52" was shown whether tmux passed it on or not."""
    plain = copy_text("x", osc52=lambda _t: None, system=None, env={})
    assert plain.describe() == "sent to the terminal via OSC 52"
    passes = copy_text("x", osc52=lambda _t: None, system=None, env={}, tmux="on")
    assert "tmux passes it on" in passes.describe()
    drops = copy_text("x", osc52=lambda _t: None, system=None, env={}, tmux="external")
    assert "tmux drops it: set-clipboard external" in drops.describe()
    for result in (plain, passes, drops):
        assert "copied" not in result.describe()


def test_tmux_set_clipboard_is_read_only_inside_tmux() -> None:
    asked: list[list[str]] = []

    def tmux(argv: list[str]) -> str:
        asked.append(argv)
        return "external\n"

    assert tmux_set_clipboard(env={}, run=tmux) is None and asked == []
    assert tmux_set_clipboard(env={"TMUX": "/tmp/t,1,0"}, run=tmux) == "external"
    assert asked == [["tmux", "show", "-gv", "set-clipboard"]]

    def missing(_argv: list[str]) -> str:
        raise FileNotFoundError("tmux")

    assert tmux_set_clipboard(env={"TMUX": "x"}, run=missing) == "unknown"
