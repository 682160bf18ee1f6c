"""``tui-agent due --json`` on a hand-built shop with the whole calendar switched on
(tests/fixtures/calendar_shop: the shipped rules plus holiday, member-day and upkeep rules)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from tui_agent.cli import main

SHOP = Path(__file__).parents[1] / "fixtures" / "calendar_shop"


def run(*args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(main, list(args))
    return r.exit_code, r.stdout, r.stderr


@pytest.fixture
def shop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    config = tmp_path / "config"
    config.mkdir()
    shutil.copy(SHOP / "rules.toml", config / "rules.toml")
    monkeypatch.setenv("TUI_AGENT_CONFIG_DIR", str(config))
    db = str(tmp_path / "shop.db")
    for kind in ("products", "customers", "orders"):
        code, _, err = run("import", kind, str(SHOP / f"{kind}.csv"), "--db", db)
        assert code == 0, err
    return db


def due(db: str, day: str, *, only_due_that_day: bool = True) -> dict[str, list[str]]:
    code, out, err = run("due", "--db", db, "--date", day, "--json")
    assert code == 0, err
    return {
        f["customer_id"]: f["reasons"]
        for f in json.loads(out)
        if f["due_date"] == day or not only_due_that_day
    }


def test_holiday_on_the_shifted_working_saturday(shop: str) -> None:
    assert due(shop, "2026-02-13") == {}
    got = due(shop, "2026-02-14")  # 春节 17 Feb; 14 Feb is a 调休 working Saturday
    assert set(got) == {"G", "N", "L"}  # P's follow-up of the 12th absorbs its greeting
    assert got["G"] == ["节日问候 holiday greeting: 春节 2026-02-17"]


def test_member_day_for_customers_with_a_tier(shop: str) -> None:
    got = due(shop, "2026-03-18")
    assert got["G"] == ["会员日 member day: member day 2026-03-18 (金卡会员)"]
    assert not any("会员日" in r for cid, rs in got.items() if cid != "G" for r in rs)


def test_lunar_birthday_on_its_solar_day(shop: str) -> None:
    got = due(shop, "2026-04-16")  # 农历 02-30; lunar 2026's second month has 29 days
    assert got == {"L": ["生日关怀 birthday: lunar birthday 农历02-30 = 2026-04-16"]}
    assert due(shop, "2026-05-01") == {}  # her solar birthday is not greeted as well


def test_personal_cycle(shop: str) -> None:
    # P buys the 30-day tea every 20 days: own cycle (3 x 20 + 2 x 30) / 5 = 24 d,
    # last delivered 3 March: reminder 5 days before, 22 March
    before = due(shop, "2026-03-21", only_due_that_day=False)
    assert not any("补货" in r for r in before.get("P", []))
    got = due(shop, "2026-03-22", only_due_that_day=False)
    assert (
        "补货提醒 replenishment: 高山乌龙茶 250g (own cycle 24 d from 4 orders) delivered 2026-03-03"
        in got["P"]
    )


def test_group_today_is_the_planning_day(shop: str) -> None:
    """Defect 6: ``tui-agent --today D due`` uses D, not the machine's date."""
    code, out, err = run("--today", "2026-03-18", "due", "--db", shop, "--json")
    assert code == 0, err
    items = json.loads(out)
    assert max(f["due_date"] for f in items) == "2026-03-18"
    g = next(f for f in items if f["customer_id"] == "G")
    assert g["reasons"] == ["会员日 member day: member day 2026-03-18 (金卡会员)"]


def test_missing_holiday_data_is_said(shop: str) -> None:
    code, _, err = run("due", "--db", shop, "--date", "2026-12-01", "--json")
    assert code == 0
    assert "official holiday calendar for 2027 is not in the installed holidays package" in err


def test_bad_rules_file_is_one_line_with_path_and_line(shop: str, tmp_path: Path) -> None:
    rules = tmp_path / "config" / "rules.toml"
    rules.write_text(rules.read_text().replace("day_of_month = 18", "day_of_mnth = 18"))
    code, out, err = run("due", "--db", shop, "--date", "2026-03-18")
    assert code == 1 and out == ""
    line = next(
        n for n, t in enumerate(rules.read_text().splitlines(), start=1) if "day_of_mnth" in t
    )
    assert f"{rules}:{line}: rule 'member_day': unknown key 'day_of_mnth'" in err
    assert "Traceback" not in err
