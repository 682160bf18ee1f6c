"""Two consoles on one database file never work the same follow-up."""

from __future__ import annotations

from pathlib import Path

from tests.ui.conftest import MakeApp
from tests.ui.pilot import current_customer, keys, rows, run, settle, status_text
from tui_agent.screens.modals import MissingValuesForm


def test_two_apps_never_work_the_same_follow_up(make_app: MakeApp, shop: Path) -> None:
    async def body() -> None:
        lily, tom = make_app("lily"), make_app("tom")
        async with lily.run_test(size=(100, 30)) as p1, tom.run_test(size=(100, 30)) as p2:
            await settle(p1)
            await settle(p2)
            # Both preview the top follow-up; lily opens it for work (the phrase list).
            assert current_customer(lily) == current_customer(tom) == "C006"
            await keys(p1, "slash")
            tom.work_screen.load_queue()  # the 5 s refresh
            await settle(p2)
            # tom sees who holds it and enter does nothing.
            assert tom.work_screen.opened is not None
            assert tom.work_screen.opened.holder == "lily"
            assert "being worked by lily" in status_text(tom)
            await keys(p2, "enter")
            assert rows(shop, "SELECT count(*) FROM touches") == [(0,)]
            assert "Held by lily" in status_text(tom)
            assert tom.clipboard == ""
            await keys(p1, "escape")

            # Both work alternately until the day is done.
            for _ in range(60):
                for app, pilot in ((lily, p1), (tom, p2)):
                    opened = app.work_screen.opened
                    if isinstance(app.screen, MissingValuesForm):
                        await keys(pilot, "X", "enter")  # a value the record lacks
                    elif opened is not None and opened.holder in (None, app.session.agent):
                        await keys(pilot, "enter")
                    elif opened is not None:
                        await keys(pilot, "n")
                    app.work_screen.load_queue()
                    await settle(pilot)
                if lily.work_screen.opened is None and tom.work_screen.opened is None:
                    break

        touched = rows(
            shop, "SELECT follow_up_id, count(*), group_concat(agent) FROM touches GROUP BY 1"
        )
        assert len(touched) == 7  # every follow-up worked
        assert all(n == 1 for _fid, n, _agents in touched)  # and none twice
        agents = {a for _fid, _n, a in touched}
        assert agents == {"lily", "tom"}  # both did work
        assert rows(shop, "SELECT count(*) FROM follow_ups WHERE status != 'done'") == [(0,)]

    run(body)
