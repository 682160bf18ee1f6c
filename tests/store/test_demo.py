from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from tui_agent.cli.common import load_ruleset
from tui_agent.core.models import Stage
from tui_agent.store import followups as fu
from tui_agent.store.db import connect
from tui_agent.store.demo import DemoError, build_demo

TODAY = date(2026, 2, 28)


def test_demo_has_every_stage_and_rule_due_today(tmp_path: Path) -> None:
    path = tmp_path / "demo.db"
    rules = load_ruleset()
    result = build_demo(path, today=TODAY, rules=rules, customers=120, seed=3)
    db = connect(path)
    queue = fu.due_queue(db, TODAY)
    assert result.due_today == len(queue) > 0
    assert {f.stage for f in queue} == set(Stage) - {Stage.CAMPAIGN}  # no campaign in the demo
    assert {r.rule for f in queue for r in f.reasons} >= {r.id for r in rules.rules}
    # opted-out customers are never in the queue
    opted = {r[0] for r in db.execute("SELECT customer_id FROM customers WHERE opt_out = 1")}
    assert opted and not opted & {f.customer_id for f in queue}
    # English-speaking customers and a worked past exist
    assert db.execute("SELECT count(*) FROM customers WHERE tags LIKE '%en%'").fetchone()[0] > 0
    assert db.execute("SELECT count(*) FROM touches").fetchone()[0] > 0
    # the customers' pinyin search keys are filled (the first find is fast)
    assert db.execute("SELECT count(*) FROM customers WHERE search_pinyin IS NULL").fetchone() == (
        0,
    )


def test_demo_is_deterministic(tmp_path: Path) -> None:
    rules = load_ruleset()
    dumps = []
    for name in ("a.db", "b.db"):
        build_demo(tmp_path / name, today=TODAY, rules=rules, customers=60, seed=5)
        db = connect(tmp_path / name)
        dumps.append(
            (
                db.execute("SELECT * FROM customers ORDER BY customer_id").fetchall(),
                db.execute("SELECT * FROM order_lines ORDER BY order_id, line_no").fetchall(),
                db.execute(
                    "SELECT customer_id, rule, due_date, status FROM follow_ups ORDER BY id"
                ).fetchall(),
            )
        )
    assert dumps[0][1] == dumps[1][1] and dumps[0][2] == dumps[1][2]
    assert [r[:11] for r in dumps[0][0]] == [r[:11] for r in dumps[1][0]]


def test_demo_refuses_to_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "x.db"
    path.write_text("keep me")
    with pytest.raises(DemoError, match="already exists"):
        build_demo(path, today=TODAY, rules=load_ruleset(), customers=40)
    assert path.read_text() == "keep me"


def test_demo_sends_the_phrase_the_console_would_suggest(tmp_path: Path) -> None:
    """The demo's past touches use the console's suggestion, product category included: a
    refill offer written for baby food is never what the demo "sent" about a T-shirt."""
    from tui_agent.core.phrases import CATEGORY_TAGS, category_tag, load_library
    from tui_agent.paths import shipped_phrases_dir

    path = tmp_path / "demo.db"
    build_demo(path, today=TODAY, rules=load_ruleset(), customers=120, seed=3)
    db = connect(path)
    book = load_library([shipped_phrases_dir()]).library
    checked = 0
    for fid, phrase_id in db.execute(
        "SELECT follow_up_id, phrase_id FROM touches "
        "WHERE follow_up_id IS NOT NULL AND phrase_id IS NOT NULL"
    ).fetchall():
        item = fu.get_follow_up(db, fid)
        assert item is not None
        phrase = book.get(phrase_id)
        assert phrase is not None
        kinds = CATEGORY_TAGS.intersection(phrase.tags)
        focus = item.focus
        if kinds:
            assert category_tag(focus.category if focus else None) in kinds, (fid, phrase_id)
            checked += 1
    assert checked > 0  # some touches did use a category's own phrase
