"""Each platform's export, written in its own column layout, imports to the expected orders,
lines, customers and statuses (tests/data/formats; the shop's time zone is Asia/Shanghai)."""

from __future__ import annotations

import shutil
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlite_utils

from tui_agent.core.csvrows import BadRowsError, CsvFileError
from tui_agent.store.order_status import excluded_counts
from tui_agent.store.platform_orders import import_platform_orders

DATA = Path(__file__).parent.parent / "data" / "formats"
SHANGHAI = ZoneInfo("Asia/Shanghai")


def run(db: sqlite_utils.Database, *names: str, fmt: str | None = None, **kw: object):  # type: ignore[no-untyped-def]
    return import_platform_orders(
        db,
        [DATA / n for n in names],
        fmt=fmt,
        shop_tz=SHANGHAI,
        **kw,  # type: ignore[arg-type]
    )


def rows(db: sqlite_utils.Database, sql: str) -> list[tuple[object, ...]]:
    return [tuple(r) for r in db.execute(sql).fetchall()]


ORDERS = (
    "SELECT order_id, customer_id, ordered_at, amount, status, refunded, seq FROM orders ORDER BY 1"
)
EXCLUDED = "SELECT order_id, customer_id, status FROM orders_excluded ORDER BY 1"
LINES = "SELECT order_id, line_no, sku, product, quantity, amount FROM order_lines ORDER BY 1, 2"
CUSTOMERS = (
    "SELECT customer_id, name, phone, email, order_count, total_spent FROM customers ORDER BY 1"
)


def test_shopify(db: sqlite_utils.Database) -> None:
    done = run(db, "shopify_orders_export.csv")
    assert done.preset is not None and done.preset.key == "shopify"
    assert done.result.excluded == 2
    # Offsets honoured: +0800 stays, -0500 and +0000 move to Beijing time.
    assert rows(db, ORDERS) == [
        ("#1001", "ann@example.com", "2026-02-20 10:00:00", 33.0, "paid", 0.0, 1),
        ("#1004", "cara@example.com", "2026-03-02 07:30:00", 23.5, "partially_refunded", 5.0, 1),
        ("#1005", "ann@example.com", "2026-03-10 08:00:00", 8.0, "paid", 0.0, 2),
    ]
    assert rows(db, "SELECT shipped_at FROM orders WHERE order_id = '#1001'") == [
        ("2026-02-21 09:00:00",)
    ]
    assert rows(db, EXCLUDED) == [
        ("#1002", "bob@example.com", "cancelled"),
        ("#1003", "ann@example.com", "refunded"),
    ]
    assert rows(db, "SELECT ordered_at FROM orders_excluded WHERE order_id = '#1002'") == [
        ("2026-02-21 22:00:00",)
    ]
    # The second line of #1001 has no order fields in the file; it still belongs to Ann.
    assert rows(db, LINES) == [
        ("#1001", 1, "OAT-1", "Oat Milk 1L", 2, 25.0),
        ("#1001", 2, "GRA-5", "Granola 500g", 1, 8.0),
        ("#1004", 1, "OAT-1", "Oat Milk 1L", 1, 12.5),
        ("#1004", 2, "GRA-5", "Granola 500g", 2, 16.0),
        ("#1005", 1, "GRA-5", "Granola 500g", 1, 8.0),
    ]
    # Bob's only order was cancelled: he is no customer.
    assert rows(db, CUSTOMERS) == [
        ("ann@example.com", "Ann Lee", "+86 138 0013 8000", "ann@example.com", 2, 41.0),
        ("cara@example.com", "Cara Wu", None, "cara@example.com", 1, 23.5),
    ]


def test_taobao_orders_and_items_in_gbk(db: sqlite_utils.Database) -> None:
    raw = (DATA / "taobao_订单报表.csv").read_bytes()
    assert b'="3012345678901234"' in raw and b"\r\n" in raw
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    done = run(db, "taobao_订单报表.csv", "taobao_宝贝报表.csv")
    assert done.preset is not None and done.preset.key == "taobao-lines"
    assert rows(db, ORDERS) == [
        ("3012345678901234", "tb_alice", "2026-02-20 10:00:00", 45.0, "paid", 0.0, 1),
        (
            "3012345678901237",
            "tb_carol",
            "2026-03-02 07:30:00",
            20.0,
            "partially_refunded",
            10.0,
            1,
        ),
    ]
    assert rows(db, EXCLUDED) == [
        ("3012345678901235", "tb_bob", "cancelled"),
        ("3012345678901236", "tb_alice", "refunded"),
    ]
    assert rows(db, LINES) == [
        ("3012345678901234", 1, "DJF-500", "有机豆浆粉 500g", 2, 30.0),
        ("3012345678901234", 2, "ZMH-1", "黑芝麻糊", 1, 15.0),
        ("3012345678901237", 1, "DJF-500", "有机豆浆粉 500g", 1, 15.0),
        ("3012345678901237", 2, "ZMH-1", "黑芝麻糊", 1, 15.0),
    ]
    # 买家会员名 is the id, 收货人姓名 the name; the masked phone is kept masked.
    assert rows(db, CUSTOMERS) == [
        ("tb_alice", "王小丽", "138****1234", None, 1, 45.0),
        ("tb_carol", "陈晨", "13700001111", None, 1, 20.0),
    ]


def test_taobao_either_order_of_files_and_orders_report_alone(
    db: sqlite_utils.Database, tmp_path: Path
) -> None:
    run(db, "taobao_宝贝报表.csv", "taobao_订单报表.csv", fmt="taobao")
    assert len(rows(db, LINES)) == 4
    # The 订单报表 alone: one line per order from its 宝贝标题 and the amount paid.
    other = sqlite_utils.Database(tmp_path / "other.db")
    from tui_agent.store.db import connect

    other = connect(tmp_path / "other.db")
    done = run(other, "taobao_订单报表.csv")
    assert done.preset is not None and done.preset.key == "taobao"
    assert rows(other, LINES) == [
        ("3012345678901234", 1, None, "有机豆浆粉 500g,黑芝麻糊", 3, 45.0),
        ("3012345678901237", 1, None, "有机豆浆粉 500g,黑芝麻糊", 2, 30.0),
    ]
    assert rows(other, "SELECT order_id, amount FROM orders ORDER BY 1") == [
        ("3012345678901234", 45.0),
        ("3012345678901237", 20.0),
    ]


def test_taobao_items_alone_is_a_clear_error(db: sqlite_utils.Database) -> None:
    with pytest.raises(CsvFileError, match="订单报表 too"):
        run(db, "taobao_宝贝报表.csv")


def test_jd(db: sqlite_utils.Database) -> None:
    raw = (DATA / "jd_orders_export.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw
    done = run(db, "jd_orders_export.csv")
    assert done.preset is not None and done.preset.key == "jd"
    assert rows(db, ORDERS) == [
        ("250000000101", "jd_zhang88", "2026-02-20 10:00:00", 117.0, "paid", 0.0, 1),
        ("250000000104", "jd_wang66", "2026-03-02 07:30:00", 69.0, "partially_refunded", 9.0, 1),
    ]
    assert rows(db, EXCLUDED) == [
        ("250000000102", "jd_li77", "cancelled"),  # written '250000000102 (leading apostrophe)
        ("250000000103", "jd_zhang88", "refunded"),
    ]
    assert rows(db, "SELECT delivered_at FROM orders ORDER BY 1") == [
        ("2026-02-23 18:00:00",),
        ("2026-03-04 12:00:00",),
    ]
    assert [r[2] for r in rows(db, LINES)] == ["GE-10", "LC-1", "GE-10", "LC-1"]
    assert rows(db, CUSTOMERS) == [
        ("jd_wang66", "王芳", "13700001111", None, 1, 69.0),
        ("jd_zhang88", "张伟", "138****1234", None, 1, 117.0),
    ]


def test_douyin(db: sqlite_utils.Database) -> None:
    done = run(db, "douyin_orders_export.csv")
    assert done.preset is not None and done.preset.key == "douyin"
    # 6930000000000000104: one of its two sub-orders was refunded (退款成功).
    assert rows(db, ORDERS) == [
        ("6930000000000000101", "1200001", "2026-02-20 10:00:00", 88.0, "paid", 0.0, 1),
        (
            "6930000000000000104",
            "1200003",
            "2026-03-02 07:30:00",
            59.0,
            "partially_refunded",
            29.0,
            1,
        ),
    ]
    assert rows(db, EXCLUDED) == [
        ("6930000000000000102", "1200002", "cancelled"),
        ("6930000000000000103", "1200001", "refunded"),
    ]
    assert len(rows(db, LINES)) == 4
    assert rows(db, CUSTOMERS) == [
        ("1200001", "周杰", "138****1234", None, 1, 88.0),
        ("1200003", "郑爽", "13700001111", None, 1, 59.0),
    ]


def test_woocommerce_time_zone_column(db: sqlite_utils.Database) -> None:
    done = run(db, "woocommerce_orders_export.csv")
    assert done.preset is not None and done.preset.key == "woocommerce"
    # Order Date is Berlin time (Timezone column): 03:00 CET is 10:00 in Shanghai.
    assert rows(db, ORDERS) == [
        ("2001", "17", "2026-02-20 10:00:00", 31.0, "paid", 0.0, 1),
        ("2004", "clara@example.de", "2026-03-02 07:30:00", 17.5, "partially_refunded", 4.0, 1),
    ]
    # A guest (Customer User ID 0) is keyed by the billing email.
    assert rows(db, EXCLUDED) == [
        ("2002", "ben@example.de", "cancelled"),
        ("2003", "17", "refunded"),
    ]
    assert rows(db, CUSTOMERS) == [
        ("17", "Anna Weber", "+49 30 1234567", "anna@example.de", 1, 31.0),
        ("clara@example.de", "Clara Vogel", None, "clara@example.de", 1, 17.5),
    ]


@pytest.mark.parametrize(
    "names",
    [
        ("shopify_orders_export.csv",),
        ("taobao_订单报表.csv", "taobao_宝贝报表.csv"),
        ("jd_orders_export.csv",),
        ("douyin_orders_export.csv",),
        ("woocommerce_orders_export.csv",),
    ],
)
def test_reimport_changes_nothing(db: sqlite_utils.Database, names: tuple[str, ...]) -> None:
    run(db, *names)
    before = {t: rows(db, f"SELECT * FROM {t} ORDER BY 1, 2") for t in _TABLES}
    done = run(db, *names)
    assert (done.result.inserted, done.result.updated) == (0, 0)
    assert {t: rows(db, f"SELECT * FROM {t} ORDER BY 1, 2") for t in _TABLES} == before


_TABLES = ("orders", "order_lines", "orders_excluded", "order_lines_excluded", "customers")


def test_excel_mangled_id_is_a_row_error(db: sqlite_utils.Database, tmp_path: Path) -> None:
    text = (DATA / "jd_orders_export.csv").read_text(encoding="utf-8-sig")
    bad = tmp_path / "jd.csv"
    bad.write_text(text.replace('="250000000104"', "2.5E+11", 1), encoding="utf-8-sig")
    with pytest.raises(BadRowsError) as err:
        import_platform_orders(db, [bad], fmt="jd", shop_tz=SHANGHAI)
    first = err.value.result.errors[0]
    assert (first.line, first.column) == (6, "订单号 (order_id)")
    assert "mangled by Excel" in first.reason
    assert rows(db, "SELECT count(*) FROM orders") == [(0,)]


def test_overlapping_next_day_export_moves_an_order_when_its_status_changes(
    db: sqlite_utils.Database, tmp_path: Path
) -> None:
    run(db, "shopify_orders_export.csv")
    now = "2026-03-10 09:00:00"
    db.execute(
        "INSERT INTO follow_ups (customer_id, stage, rule, due_date, order_id, created_at, "
        "updated_at) VALUES ('ann@example.com', 'after_sales', 'care', '2026-03-11', '#1005', ?, ?)",
        [now, now],
    )
    # The next day's export: #1005 was cancelled, #1003's refund is now reversed (paid).
    text = (DATA / "shopify_orders_export.csv").read_text(encoding="utf-8")
    lines = text.splitlines()
    head = lines[0].split(",")
    out = [lines[0]]
    for line in lines[1:]:
        cells = line.split(",")
        row = dict(zip(head, cells, strict=True))
        if row["Name"] == "#1005":
            cells[head.index("Cancelled at")] = "2026-03-11 10:00:00 +0800"
            cells[head.index("Financial Status")] = "voided"
        if row["Name"] == "#1003":
            cells[head.index("Financial Status")] = "paid"
            cells[head.index("Refunded Amount")] = "0.00"
        out.append(",".join(cells))
    nxt = tmp_path / "shopify_next_day.csv"
    nxt.write_text("\n".join(out) + "\n", encoding="utf-8")
    import_platform_orders(db, [nxt], fmt=None, shop_tz=SHANGHAI)
    assert rows(
        db, "SELECT order_id, seq FROM orders WHERE customer_id = 'ann@example.com' ORDER BY 1"
    ) == [("#1001", 1), ("#1003", 2)]
    assert rows(db, EXCLUDED) == [
        ("#1002", "bob@example.com", "cancelled"),
        ("#1005", "ann@example.com", "cancelled"),
    ]
    assert rows(db, "SELECT count(*) FROM order_lines WHERE order_id = '#1005'") == [(0,)]
    assert rows(
        db,
        "SELECT order_count, total_spent, last_order_at FROM customers "
        "WHERE customer_id = 'ann@example.com'",
    ) == [(2, 53.0, "2026-02-25 11:00:00")]
    assert rows(db, "SELECT status, status_reason FROM follow_ups") == [
        ("cancelled", "order #1005 is cancelled")
    ]
    assert excluded_counts(db) == {"cancelled": 2, "partially_refunded": 1}


def test_canonical_status_column(db: sqlite_utils.Database, tmp_path: Path) -> None:
    p = tmp_path / "orders.csv"
    p.write_text(
        "order_id,customer_id,ordered_at,amount,status,refunded,phone\n"
        "O1,C1,2026-01-01,30,paid,,13800138000\n"
        "O2,C1,2026-01-05,20,cancelled,,\n"
        "O3,C1,2026-01-09,50,partially_refunded,10,138****8000\n"
        "O4,C2,2026-01-09,50,closed,,\n",
        encoding="utf-8",
    )
    with pytest.raises(BadRowsError) as err:
        import_platform_orders(db, [p], fmt="canonical", shop_tz=SHANGHAI)
    assert err.value.result.errors[0].column == "status"
    assert "not an order status" in err.value.result.errors[0].reason
    p.write_text(p.read_text(encoding="utf-8").replace("closed", "unpaid"), encoding="utf-8")
    import_platform_orders(db, [p], fmt="canonical", shop_tz=SHANGHAI)
    assert rows(db, "SELECT order_id, amount, seq FROM orders ORDER BY 1") == [
        ("O1", 30.0, 1),
        ("O3", 40.0, 2),
    ]
    # A masked phone never replaces the full one the customer already has.
    assert rows(db, "SELECT customer_id, phone, order_count FROM customers") == [
        ("C1", "13800138000", 2)
    ]
    assert excluded_counts(db) == {"cancelled": 1, "unpaid": 1, "partially_refunded": 1}


def test_refresh_derived_keeps_the_refund(db: sqlite_utils.Database) -> None:
    from tui_agent.store.db import write_tx
    from tui_agent.store.importer import refresh_derived

    run(db, "shopify_orders_export.csv")
    with write_tx(db):
        db.execute("UPDATE orders SET amount = 0")
        refresh_derived(db)
    assert rows(db, "SELECT order_id, amount FROM orders ORDER BY 1") == [
        ("#1001", 33.0),
        ("#1004", 23.5),
        ("#1005", 8.0),
    ]


def test_unknown_export_is_read_as_canonical(db: sqlite_utils.Database, tmp_path: Path) -> None:
    p = tmp_path / "x.csv"
    shutil.copy(DATA / "jd_orders_export.csv", p)
    with pytest.raises(CsvFileError, match="missing required columns"):
        import_platform_orders(db, [p], fmt="canonical", shop_tz=SHANGHAI)
    with pytest.raises(CsvFileError, match="not a Shopify orders export: missing columns"):
        import_platform_orders(db, [p], fmt="shopify", shop_tz=SHANGHAI)


def test_a_file_without_status_keeps_the_orders_status(
    db: sqlite_utils.Database, tmp_path: Path
) -> None:
    run(db, "shopify_orders_export.csv")
    p = tmp_path / "o.csv"
    p.write_text(
        "order_id,customer_id,ordered_at,sku,product,quantity,amount\n"
        "#1004,cara@example.com,2026-03-02 07:30:00,OAT-1,Oat Milk 1L,1,12.5\n"
        "#1004,cara@example.com,2026-03-02 07:30:00,GRA-5,Granola 500g,2,16\n"
        "#1002,bob@example.com,2026-02-21 22:00:00,OAT-1,Oat Milk 1L,1,12.5\n",
        encoding="utf-8",
    )
    before = {t: rows(db, f"SELECT * FROM {t} ORDER BY 1, 2") for t in _TABLES}
    done = import_platform_orders(db, [p], fmt="canonical", shop_tz=SHANGHAI)
    assert (done.result.inserted, done.result.updated) == (0, 0)
    assert {t: rows(db, f"SELECT * FROM {t} ORDER BY 1, 2") for t in _TABLES} == before


def test_taobao_order_report_error_is_labelled(db: sqlite_utils.Database, tmp_path: Path) -> None:
    orders = tmp_path / "订单报表.csv"
    text = (DATA / "taobao_订单报表.csv").read_bytes().decode("gbk")
    orders.write_bytes(text.replace("2026-03-02 07:30:00", "2026-13-02 07:30:00").encode("gbk"))
    with pytest.raises(BadRowsError) as err:
        import_platform_orders(
            db, [orders, DATA / "taobao_宝贝报表.csv"], fmt="taobao", shop_tz=SHANGHAI
        )
    assert [(e.line, e.column) for e in err.value.result.errors] == [
        (6, "订单创建时间 (订单报表) (ordered_at)"),
        (7, "订单创建时间 (订单报表) (ordered_at)"),
    ]
    assert err.value.result.path.name == "taobao_宝贝报表.csv"


def test_skip_bad_writes_the_platform_rows_as_they_were(
    db: sqlite_utils.Database, tmp_path: Path
) -> None:
    text = (DATA / "jd_orders_export.csv").read_text(encoding="utf-8-sig")
    bad = tmp_path / "jd.csv"
    bad.write_text(text.replace("'250000000102", "2.5E+11"), encoding="utf-8-sig")
    done = import_platform_orders(db, [bad], fmt=None, shop_tz=SHANGHAI, skip_bad=True)
    assert done.result.rejected == 1
    assert done.result.rejects_path is not None
    rejected = done.result.rejects_path.read_text(encoding="utf-8-sig").splitlines()
    assert rejected[1].startswith("2.5E+11,100012345678,挂耳咖啡 10包,")
    assert rejected[1].endswith(
        ",4,订单号 (order_id),'2.5E+11' looks like a number mangled by "
        "Excel; export the column as text"
    )
    assert rows(db, "SELECT count(*) FROM orders") == [(2,)]


def test_canonical_times_with_an_offset(db: sqlite_utils.Database, tmp_path: Path) -> None:
    p = tmp_path / "o.csv"
    p.write_text(
        "订单号,customer_id,ordered_at,delivered_at,amount\n"
        "O1,C1,2026-02-20T02:00:00Z,2026-02-22 09:00:00 +0800,10\n"
        "O2,C1,2026-02-21 10:00,,10\n"
        "O3,C1,2026-02-22 10:00:00 +0900,,10\n",
        encoding="utf-8",
    )
    import_platform_orders(db, [p], fmt=None, shop_tz=SHANGHAI, mapping={"订单号": "order_id"})
    assert rows(db, "SELECT order_id, ordered_at, delivered_at FROM orders ORDER BY 1") == [
        ("O1", "2026-02-20 10:00:00", "2026-02-22 09:00:00"),
        ("O2", "2026-02-21 10:00:00", None),
        ("O3", "2026-02-22 09:00:00", None),
    ]


def _as_tab_separated(src: Path, dst: Path, encoding: str) -> Path:
    """``src`` re-saved as Excel's "Unicode text": the same cells, tab-separated."""
    import csv

    with open(src, encoding=encoding, newline="") as f:
        cells = list(csv.reader(f))
    with open(dst, "w", encoding=encoding, newline="") as f:
        csv.writer(f, delimiter="\t").writerows(cells)
    return dst


def test_tab_separated_platform_exports_are_recognised(
    db: sqlite_utils.Database, tmp_path: Path
) -> None:
    """A platform export saved tab-separated is recognised by its header and imports the same
    orders as the comma-separated file (the header used to be split on commas only, so it
    was taken for the canonical CSV and every row failed)."""
    from tui_agent.store.db import connect

    comma = connect(tmp_path / "comma.db")
    run(comma, "shopify_orders_export.csv")
    tabbed = _as_tab_separated(
        DATA / "shopify_orders_export.csv", tmp_path / "shopify.txt", "utf-8-sig"
    )
    done = import_platform_orders(db, [tabbed], fmt=None, shop_tz=SHANGHAI)
    assert done.preset is not None and done.preset.key == "shopify"
    assert rows(db, ORDERS) == rows(comma, ORDERS) and rows(db, LINES) == rows(comma, LINES)

    # Taobao's pair, both re-saved tab-separated (GBK, as Taobao writes them).
    pair = [
        _as_tab_separated(DATA / name, tmp_path / name.replace(".csv", ".txt"), "gbk")
        for name in ("taobao_宝贝报表.csv", "taobao_订单报表.csv")
    ]
    taobao_db = connect(tmp_path / "taobao.db")
    done = import_platform_orders(taobao_db, pair, fmt=None, shop_tz=SHANGHAI)
    assert done.preset is not None and done.preset.key.startswith("taobao")
    assert len(rows(taobao_db, LINES)) == 4
