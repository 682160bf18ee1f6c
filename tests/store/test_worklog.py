from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from tests.ui.seed import TODAY, build_shop
from tui_agent.store.db import connect
from tui_agent.store.followups import log_touch
from tui_agent.store.worklog import day_work


def test_touches_per_stage_and_agent_for_one_day(tmp_path: Path) -> None:
    db = connect(build_shop(tmp_path / "shop.db"))
    at = datetime(2026, 11, 20, 10, 0)
    log_touch(db, agent="lily", customer_id="C001", text="a", stage="first_purchase", now=at)
    log_touch(db, agent="lily", customer_id="C002", text="b", stage="first_purchase", now=at)
    log_touch(db, agent="tom", customer_id="C003", text="c", stage="loyalty", now=at)
    log_touch(db, agent="tom", customer_id="C004", text="d", now=at)  # no stage
    log_touch(db, agent="tom", customer_id="C005", text="e", now=datetime(2026, 11, 19, 23, 59))
    work = day_work(db, TODAY)
    assert work.total == 4
    assert work.by_stage == (("first_purchase", 2), ("?", 1), ("loyalty", 1))
    assert work.by_agent == (("lily", 2), ("tom", 2))  # ties by name
    assert day_work(db, date(2026, 11, 21)).total == 0
