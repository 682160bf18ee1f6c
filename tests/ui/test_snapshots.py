"""Snapshots of the main screen, the missing-placeholder form and the help screen.

The day, the data and the phrases are fixed (tests/ui/seed.py, conftest PHRASES), so the
pictures are stable. Update with ``pytest tests/ui/test_snapshots.py --snapshot-update``.
"""

from __future__ import annotations

from typing import Any

from textual.pilot import Pilot
from textual.widgets import Input

from tests.ui.conftest import MakeApp
from tests.ui.pilot import keys, settle


async def still(pilot: Pilot[Any]) -> None:
    """Stop the text cursors blinking, so a slow machine takes the same picture."""
    for box in pilot.app.screen.query(Input):
        box.cursor_blink = False
    await pilot.pause()


def test_main_screen(make_app: MakeApp, snap_compare: Any) -> None:
    async def before(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await still(pilot)

    assert snap_compare(make_app(), terminal_size=(120, 40), run_before=before)


def test_main_screen_small(make_app: MakeApp, snap_compare: Any) -> None:
    async def before(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await still(pilot)

    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=before)


def test_missing_placeholder_form(make_app: MakeApp, snap_compare: Any) -> None:
    async def before(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await still(pilot)
        await keys(pilot, "n", "n", "n", "enter")  # 刘洋: the coupon phrase, no coupon set
        await still(pilot)

    assert snap_compare(make_app(), terminal_size=(120, 40), run_before=before)


def test_help_screen(make_app: MakeApp, snap_compare: Any) -> None:
    async def before(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await still(pilot)
        await keys(pilot, "question_mark")

    assert snap_compare(make_app(), terminal_size=(120, 40), run_before=before)


def test_main_screen_light_theme(make_app: MakeApp, snap_compare: Any) -> None:
    async def before(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await still(pilot)

    assert snap_compare(make_app(theme="textual-light"), terminal_size=(120, 40), run_before=before)


def test_main_screen_large(make_app: MakeApp, snap_compare: Any) -> None:
    async def before(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await still(pilot)

    assert snap_compare(make_app(), terminal_size=(200, 50), run_before=before)
