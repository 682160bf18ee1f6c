"""Finding customers (every key, ranking, pinyin kept current) and the customer page."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
import sqlite_utils

from tests.helpers import add_customer, add_order
from tui_agent.core.customer_page import CustomerHit, EventKind, Outcome, search_keys
from tui_agent.store import customers as cu
from tui_agent.store import followups as fu
from tui_agent.store import outcomes as oc
from tui_agent.store.db import write_tx

NOW = datetime(2026, 11, 29, 10, 0, 0)


@pytest.fixture
def shop(db: sqlite_utils.Database) -> sqlite_utils.Database:
    with write_tx(db):
        add_customer(db, "C001", name="王芳", phone="13812345678", wechat="wf_88", tier="金卡会员")
        add_customer(db, "C002", name="王芳芳", phone="+86 139-0000-5678", wechat="fangfang")
        add_customer(db, "C003", name="李王", phone="13700001111")
        add_customer(db, "C004", name="Amy Chen", phone="15500002222", wechat="amyc")
        add_customer(db, "C010", name="张伟", phone="13600003333")
        add_customer(db, "X5678", name="赵强", phone=None)
        add_order(db, "O1", "C002", "2026-10-01 10:00:00", "2026-10-03 10:00:00")
        add_order(db, "O2", "C002", "2026-11-01 10:00:00", None, seq=2)
    return db


def ids(hits: list[CustomerHit]) -> list[str]:
    return [h.customer_id for h in hits]


def matched(db: sqlite_utils.Database, query: str) -> dict[str, str]:
    return {h.customer_id: h.matched for h in cu.find_customers(db, query)}


def test_search_keys_full_pinyin_and_initials() -> None:
    assert search_keys("王芳") == ("wangfang", "wf")
    assert search_keys("Amy Chen") == ("amychen", "ac")
    assert search_keys("王Amy 2号") == ("wangamy2hao", "wa2h")
    assert search_keys(None) == ("", "")
    assert search_keys("——") == ("", "")


def test_search_keys_read_a_surname_as_a_surname() -> None:
    assert search_keys("曾小贤") == ("zengxiaoxian", "zxx")  # not ceng
    assert search_keys("单田芳") == ("shantianfang", "stf")  # not dan
    assert search_keys("小曾") == ("xiaoceng", "xc")  # only the first character
    assert search_keys("曾") == ("ceng", "c")  # one character: not a full name


def test_find_by_customer_id_exact_first_then_prefix(shop: sqlite_utils.Database) -> None:
    hits = cu.find_customers(shop, "C001")
    assert hits[0].customer_id == "C001" and hits[0].matched == "id"
    assert matched(shop, "C00") == {"C001": "id_prefix", "C002": "id_prefix", "C003": "id_prefix",
                                    "C004": "id_prefix"}  # fmt: skip


def test_find_by_full_phone_ignoring_separators_and_country_code(
    shop: sqlite_utils.Database,
) -> None:
    assert matched(shop, "13812345678") == {"C001": "phone"}
    assert matched(shop, "138-1234-5678") == {"C001": "phone"}
    assert matched(shop, "+86 13812345678") == {"C001": "phone"}
    assert matched(shop, "13900005678") == {"C002": "phone"}  # stored as +86 139-0000-5678


def test_find_by_last_four_digits(shop: sqlite_utils.Database) -> None:
    assert matched(shop, "5678") == {"C001": "phone_tail", "C002": "phone_tail"}
    assert matched(shop, "345678") == {"C001": "phone_tail"}
    # the phone tail outranks nothing exact, but a customer id equal to the query wins
    assert matched(shop, "1111") == {"C003": "phone_tail"}


def test_find_by_wechat_id(shop: sqlite_utils.Database) -> None:
    assert matched(shop, "fangfang") == {"C002": "wechat"}
    assert cu.find_customers(shop, "wf_88")[0].customer_id == "C001"


def test_find_by_name_exact_prefix_and_substring_ranked(shop: sqlite_utils.Database) -> None:
    hits = cu.find_customers(shop, "王芳")
    assert [(h.customer_id, h.matched) for h in hits] == [("C001", "name"), ("C002", "name_prefix")]
    found = matched(shop, "王")
    assert found == {"C001": "name_prefix", "C002": "name_prefix", "C003": "name_part"}
    assert ids(cu.find_customers(shop, "王"))[-1] == "C003"
    # within a rank, the customer with more orders first
    assert ids(cu.find_customers(shop, "王"))[:2] == ["C002", "C001"]


def test_find_by_pinyin_and_initials(shop: sqlite_utils.Database) -> None:
    assert matched(shop, "wangfang") == {"C001": "pinyin", "C002": "pinyin"}
    assert matched(shop, "wang fang") == {"C001": "pinyin", "C002": "pinyin"}
    assert matched(shop, "WF")["C001"] == "initials"
    assert matched(shop, "zw") == {"C010": "initials"}
    assert matched(shop, "zhangwei") == {"C010": "pinyin"}
    # substring of the pinyin ranks after prefixes: "fang" is inside wangfang
    assert matched(shop, "fang") == {"C001": "pinyin_part", "C002": "pinyin_part"}
    # English names: case-insensitive name prefix, and initials per word
    assert matched(shop, "amy") == {"C004": "name_prefix"}
    assert matched(shop, "ac")["C004"] == "initials"


def test_one_letter_matches_only_the_start_of_pinyin_or_initials(
    shop: sqlite_utils.Database,
) -> None:
    found = matched(shop, "z")
    assert set(found) == {"C010", "X5678"}  # zhang wei, zhao qiang; not wang fang's "ng"


def test_find_empty_query_and_no_match(shop: sqlite_utils.Database) -> None:
    assert cu.find_customers(shop, "  ") == []
    assert cu.find_customers(shop, "nobody") == []
    assert cu.find_customers(shop, "0000") == []
    assert len(cu.find_customers(shop, "C", limit=2)) == 2


def test_like_wildcards_in_the_query_are_literal(shop: sqlite_utils.Database) -> None:
    assert cu.find_customers(shop, "%") == []
    assert cu.find_customers(shop, "_") == []
    assert cu.find_customers(shop, "C*") == []


def test_pinyin_filled_lazily_and_recomputed_after_a_rename(shop: sqlite_utils.Database) -> None:
    assert cu.pending_search_keys(shop) == 6
    cu.find_customers(shop, "x")
    assert cu.pending_search_keys(shop) == 0
    with write_tx(shop):
        shop.execute("UPDATE customers SET name = '刘洋' WHERE customer_id = 'C010'")
        shop.execute("UPDATE customers SET tier = 'VIP' WHERE customer_id = 'C001'")
    assert cu.pending_search_keys(shop) == 1  # only the renamed one
    assert matched(shop, "liuyang") == {"C010": "pinyin"}
    assert "C010" not in matched(shop, "zw")
    add_customer(shop, "C011", name="周杰")
    assert matched(shop, "zj") == {"C011": "initials"}


def test_find_uses_indexes_for_exact_keys(shop: sqlite_utils.Database) -> None:
    def plan(sql: str) -> str:
        return " ".join(r[3] for r in shop.execute("EXPLAIN QUERY PLAN " + sql, ["x"]))

    assert "idx_customers_phone_tail" in plan("SELECT * FROM customers WHERE substr(phone, -4) = ?")
    assert "idx_customers_wechat" in plan("SELECT * FROM customers WHERE wechat = ?")
    assert "idx_customers_search" in plan(
        "SELECT customer_id, name FROM customers WHERE search_pinyin IS NULL AND name > ?"
    )
    # the name / pinyin / initials scan reads the narrow covering index, not the table
    assert "SCAN customers USING COVERING INDEX idx_customers_search" in plan(
        "SELECT rowid FROM customers WHERE name LIKE ? OR search_pinyin LIKE ? "
        "OR search_initials LIKE ? ORDER BY order_count DESC LIMIT 20".replace("?", "?1")
    )


# ---------------------------------------------------------------------------------------------
# The page


def test_customer_page_has_everything(shop: sqlite_utils.Database) -> None:
    shop.execute("UPDATE customers SET tags = 'VIP,敏感肌', points = 320 WHERE customer_id='C002'")
    oc.set_notes(shop, "C002", "  prefers evening calls ", "lily", now=NOW)
    first = fu.log_touch(shop, agent="lily", customer_id="C002", text="您好\n第二行", now=NOW)
    second = fu.log_touch(shop, agent="lily", customer_id="C002", text="again", now=NOW, reply=True)
    oc.record_outcome(shop, first, "no_reply", agent="lily", now=NOW)
    oc.record_outcome(shop, first, Outcome.ORDERED, agent="mike", note="bought 2", now=NOW)
    oc.undo_last_touch(shop, "lily", now=NOW, reason="wrong customer")
    shop.execute(
        "INSERT INTO follow_ups (customer_id, stage, rule, due_date, created_at, updated_at) "
        "VALUES ('C002', 'repurchase', 'replenish', '2026-11-30', 'x', 'x')"
    )
    page = cu.customer_page(shop, "C002", date(2026, 11, 29))
    assert page is not None
    assert page.customer.name == "王芳芳" and page.customer.tags == ("VIP", "敏感肌")
    assert page.customer.points == 320 and page.notes == "prefers evening calls"
    assert [o.order_id for o in page.orders] == ["O2", "O1"]
    assert all(o.lines for o in page.orders)
    assert [r.touch.id for r in page.touches] == [second, first]
    newest, oldest = page.touches
    assert newest.reply and newest.retracted and newest.retraction is not None
    assert newest.retraction.note == "wrong customer" and newest.retraction.agent == "lily"
    assert oldest.outcome is Outcome.ORDERED and oldest.outcome_by == "mike"
    assert oldest.outcome_note == "bought 2" and not oldest.retracted
    assert oldest.touch.text == "您好\n第二行"  # in full
    assert [f.rule for f in page.follow_ups] == ["replenish"]
    assert page.segment is not None
    assert [e.kind for e in page.events] == [EventKind.NOTE]
    assert not page.opted_out


def test_customer_page_unknown_and_without_orders(shop: sqlite_utils.Database) -> None:
    assert cu.customer_page(shop, "nope", date(2026, 11, 29)) is None
    page = cu.customer_page(shop, "C003", date(2026, 11, 29))
    assert page is not None and page.orders == () and page.segment is None
    assert cu.customer_page(shop, "C002", date(2026, 11, 29), with_segment=False).segment is None  # type: ignore[union-attr]


def test_every_demo_customer_is_found_by_each_of_its_keys(tmp_path: Path) -> None:
    """On a demo shop: each customer's id, phone, phone tail, WeChat id, name, pinyin and
    initials find that customer (the exact keys first)."""
    from tui_agent.core.rules import load_rules
    from tui_agent.paths import rules_path
    from tui_agent.store.db import connect
    from tui_agent.store.demo import build_demo

    path = tmp_path / "demo.db"
    build_demo(path, today=date(2026, 11, 29), rules=load_rules(rules_path()), customers=150)
    db = connect(path)
    rows = db.execute("SELECT customer_id, name, phone, wechat FROM customers").fetchall()
    assert len(rows) >= 150
    for cid, name, phone, wechat in rows:
        assert cu.find_customers(db, cid)[0].customer_id == cid
        if phone:
            by_phone = cu.find_customers(db, phone)
            assert cid in ids(by_phone) and by_phone[0].matched == "phone"
            assert cid in ids(cu.find_customers(db, phone[-4:], limit=500))
        if wechat:
            assert cu.find_customers(db, wechat)[0].customer_id == cid
        if name:
            hits = cu.find_customers(db, name, limit=500)
            assert cid in ids(hits) and hits[0].matched == "name"
            full, initials = search_keys(name)
            assert cid in ids(cu.find_customers(db, full, limit=500))
            assert cid in ids(cu.find_customers(db, initials, limit=500))
