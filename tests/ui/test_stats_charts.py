"""The stats screen's pictures: heat map, line, bars (textual-plotext imported only there)."""

from __future__ import annotations

from pathlib import Path

import pytest

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


def test_console_refreshes_stale_models_in_a_process_of_its_own(
    make_app: MakeApp, shop: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tui_agent.app as app_module
    from tui_agent.store import analytics
    from tui_agent.store.db import connect

    monkeypatch.setattr(app_module, "MODEL_REFRESH_DELAY", 0.05)

    async def body() -> None:
        app = make_app()
        async with app.run_test(size=(100, 40)) as pilot:
            for _ in range(40):
                await settle(pilot)
                if app.model_refresh is not None:
                    break
            assert app.model_refresh is not None
            assert app.model_refresh.wait(timeout=120) == 0
            db = connect(shop)
            assert analytics.stored_segments_current(db, app.session.today)
            row = db.execute("SELECT kind FROM model_fits WHERE kind = 'btyd'").fetchone()
            assert row is not None  # the seeded shop is too small to fit: it says so

    run(body)
