from __future__ import annotations

import pytest

from tui_agent.core.clipboard import CopyResult, copy_text, has_display


def test_osc52_always_and_system_only_with_a_display() -> None:
    sent: list[str] = []
    system: list[str] = []
    result = copy_text("你好", osc52=sent.append, system=system.append, env={})
    assert result == CopyResult(osc52=True, system=False)
    assert sent == ["你好"] and system == []
    result = copy_text("hi", osc52=sent.append, system=system.append, env={"DISPLAY": ":0"})
    assert result == CopyResult(osc52=True, system=True)
    assert system == ["hi"]
    assert "system clipboard + OSC 52" in result.describe()


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
