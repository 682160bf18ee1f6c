"""Issue 15 item 1: hostile text in a CSV never reaches a terminal raw.

A customer name or product carrying ``ESC ] 52 ; c ; <base64> BEL`` (set the clipboard),
``ESC ] 0 ; title BEL`` (set the window title), C1 controls or bidi overrides is cleaned at
import: what is stored (and so what every command and the console show, and what a touch
logs) holds no control character.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import sqlite_utils
from click.testing import CliRunner

from tui_agent.cli import main
from tui_agent.core.safetext import clean_cell, visible
from tui_agent.store import importer

OSC52 = "\x1b]52;c;aGFja2Vk\x07"  # base64 of "hacked"
TITLE = "\x1b]0;pwned\x07"
CSI = "\x1b[2J\x1b[31m"
C1 = "\x9b31m\x9d0;x\x9c"
BIDI = "\u202egnp.exe\u202c\u2066x\u2069"
HOSTILE_NAME = f"王{OSC52}芳{TITLE}{CSI}{C1}{BIDI}"
HOSTILE_PRODUCT = f"挂耳{OSC52}咖啡\r\n{TITLE}"

# Anything a terminal would act on: C0 (all of it here: these are one-line fields), DEL, C1,
# and the bidi controls that reorder what is shown.
RAW = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _hostile_files(tmp_path: Path) -> tuple[Path, Path]:
    customers = tmp_path / "customers.csv"
    customers.write_text(
        f'customer_id,name,phone,tier,tags\nC1,"{HOSTILE_NAME}",13800000001,gold{OSC52},'
        f'"vip,{TITLE}"\n',
        encoding="utf-8",
    )
    orders = tmp_path / "orders.csv"
    orders.write_text(
        "order_id,customer_id,ordered_at,delivered_at,sku,product,category,quantity,amount\n"
        f'O1,C1,2026-01-02 10:00:00,2026-01-04,S1,"{HOSTILE_PRODUCT}",food{C1},1,39.90\n',
        encoding="utf-8",
    )
    return customers, orders


def _all_text(db: sqlite_utils.Database) -> list[str]:
    out: list[str] = []
    for table in ("customers", "orders", "order_lines", "products"):
        for row in db.execute(f"SELECT * FROM {table}").fetchall():
            out.extend(v for v in row if isinstance(v, str))
    return out


def test_control_characters_are_cleaned_at_import(
    tmp_path: Path, db: sqlite_utils.Database
) -> None:
    customers, orders = _hostile_files(tmp_path)
    importer.import_customers(db, customers)
    importer.import_orders(db, orders)
    texts = _all_text(db)
    assert texts
    assert not [t for t in texts if RAW.search(t)]
    name = db.execute("SELECT name FROM customers WHERE customer_id = 'C1'").fetchone()[0]
    # made visible, not silently hidden: the agent sees that the export carried escapes
    assert name.startswith("王") and "芳" in name and "␛]52;c;aGFja2Vk" in name
    product = db.execute("SELECT product FROM order_lines").fetchone()[0]
    assert "咖啡" in product and "\n" not in product


def test_clean_cell_and_visible() -> None:
    assert clean_cell("a\tb") == "a b"
    assert clean_cell(OSC52) == "␛]52;c;aGFja2Vk␇"
    assert clean_cell("x\u202ey") == "xy"
    assert clean_cell("x\x9by") == "x�y"
    assert visible("line1\nline2\x1b]0;t\x07") == "line1\nline2␛]0;t␇"
    assert not RAW.search(clean_cell("".join(map(chr, range(0x00, 0xA0)))))


def _run(*args: str) -> str:
    result = CliRunner().invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.output


@pytest.mark.parametrize("stage", ["imported", "stored raw before the fix"])
def test_no_command_writes_hostile_text_raw(tmp_path: Path, stage: str) -> None:
    db_file = tmp_path / "shop.db"
    customers, orders = _hostile_files(tmp_path)
    _run("import", "customers", str(customers), "--db", str(db_file))
    _run("import", "orders", str(orders), "--db", str(db_file))
    if stage != "imported":
        # A database filled before the fix (or by another tool): commands still show it safely.
        db = sqlite_utils.Database(db_file)
        db.execute("UPDATE customers SET name = ?", [HOSTILE_NAME])
        db.execute("UPDATE order_lines SET product = ?", [HOSTILE_PRODUCT])
        db.execute("UPDATE products SET name = ?, category = ?", [HOSTILE_PRODUCT, "x" + TITLE])
        db.conn.commit()
        db.close()
    outputs = [
        _run(
            "render", "order-confirm", "--customer", "C1", "--db", str(db_file), "--set", "coupon=X"
        ),
        _run("render", "order-confirm", "--customer", "C1", "--db", str(db_file), "--json"),
        _run("due", "--db", str(db_file), "--date", "2026-01-05"),
        _run("due", "--db", str(db_file), "--date", "2026-01-05", "--json"),
        _run("--today", "2026-01-05", "stats", "--db", str(db_file), "--categories"),
        _run("--today", "2026-01-05", "stats", "--db", str(db_file), "--json"),
        _run("export", "customers", "/dev/stdout", "--db", str(db_file)),
    ]
    for out in outputs:
        assert "\x1b]" not in out and "\x07" not in out and "\x9b" not in out
        assert "\u202e" not in out
    # JSON escapes control characters, and stays valid
    json.loads(outputs[1])


def test_text_stored_before_the_fix_is_cleaned_by_the_migration(tmp_path: Path) -> None:
    from tui_agent.store.db import (
        MIGRATIONS,
        SCHEMA_VERSION,
        _clean_imported_text,
        connect,
        write_tx,
    )

    path = tmp_path / "old.db"
    db = connect(path)
    db.execute(
        "INSERT INTO customers (customer_id, name, tags) VALUES ('C1', ?, ?)",
        [HOSTILE_NAME, "vip," + TITLE],
    )
    db.execute(
        "INSERT INTO products (sku, name, category) VALUES ('S1', ?, 'food')", [HOSTILE_PRODUCT]
    )
    # the cleaning migration, as it runs on a database that predates it (later migrations,
    # such as the customer desk's, are not re-run: they cannot be applied twice)
    assert _clean_imported_text in MIGRATIONS
    with write_tx(db):
        _clean_imported_text(db)
    db.close()
    db = connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    texts = _all_text(db)
    assert not [t for t in texts if RAW.search(t)]
    name = db.execute("SELECT name FROM customers").fetchone()[0]
    assert name == clean_cell(HOSTILE_NAME).strip()
