"""The stats screen's pictures: heat map, line, bars (textual-plotext imported only there)."""

from __future__ import annotations

from pathlib import Path

from tests.ui.conftest import MakeApp
from tests.ui.pilot import keys, run, settle


def test_stats_screen_draws_the_shop_pictures(make_app: MakeApp, shop: Path) -> None:
    async def body() -> None:
        from textual.widgets import Static

        app = make_app()
        async with app.run_test(size=(110, 60)) as pilot:
            await settle(pilot)
            await keys(pilot, "d")
            for _ in range(60):
                await settle(pilot)
                if app.screen.query("#segment-bars"):
                    break
            assert app.screen.query_one("#segment-bars")
            assert app.screen.query_one("#repurchase-line")
            heat = app.screen.query_one("#cohort-heat", Static).content
            assert heat.title is not None and "cohorts" in str(heat.title)  # type: ignore[union-attr]
            assert heat.row_count >= 1  # type: ignore[union-attr]

    run(body)
