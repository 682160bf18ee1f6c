"""Bad input: each case gives a clear one-line error and leaves nothing half-written.

CSV files go through the importer's public functions and the ``import`` command; phrase files
through the loader and ``phrases check``; database files through ``connect`` and commands.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest
import sqlite_utils
from click.testing import CliRunner

from tui_agent.cli import main
from tui_agent.core.csvrows import BadRowsError, CsvFileError
from tui_agent.core.phrases import load_library
from tui_agent.core.render import render
from tui_agent.store import importer
from tui_agent.store.db import SCHEMA_VERSION, DatabaseError, connect

TABLES = ("customers", "orders", "order_lines", "products", "follow_ups", "touches", "meta")

GOOD_CUSTOMERS = "customer_id,name,phone\nC1,王芳,13800000001\nC2,Liam Wong,\n"
GOOD_ORDERS = (
    "order_id,customer_id,ordered_at,delivered_at,sku,product,category,quantity,amount\n"
    "O1,C1,2026-01-02 10:00:00,2026-01-04,S1,挂耳咖啡,food,1,39.90\n"
    "O2,C2,2026-01-03 11:00:00,,S2,防晒霜,beauty,2,120\n"
)


def snapshot(db: sqlite_utils.Database) -> dict[str, list[tuple[object, ...]]]:
    return {t: sorted(db.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in TABLES}


@pytest.fixture
def shop(tmp_path: Path, db: sqlite_utils.Database) -> sqlite_utils.Database:
    """A small shop already imported: a bad file must leave it exactly as it is."""
    (tmp_path / "c.csv").write_text(GOOD_CUSTOMERS, encoding="utf-8")
    (tmp_path / "o.csv").write_text(GOOD_ORDERS, encoding="utf-8")
    importer.import_customers(db, tmp_path / "c.csv")
    importer.import_orders(db, tmp_path / "o.csv")
    return db


def _cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    assert "Traceback" not in result.output
    assert not isinstance(result.exception, Exception) or isinstance(
        result.exception, SystemExit
    ), result.exception
    return result.exit_code, result.output


HEADER = "order_id,customer_id,ordered_at,delivered_at,sku,product,category,quantity,amount\n"

# (name, kind, file bytes, words the message must hold)
CSV_CASES: list[tuple[str, str, bytes, tuple[str, ...]]] = [
    (
        "missing column",
        "orders",
        b"order_id,customer_id,amount\nO9,C1,10\n",
        ("missing required column ordered_at",),
    ),
    (
        "bad date",
        "orders",
        (HEADER + "O9,C1,2026-02-30 10:00:00,,S1,x,food,1,10\n").encode(),
        (":2:", "ordered_at", "not a real date"),
    ),
    (
        "negative amount",
        "orders",
        (HEADER + "O9,C1,2026-01-05,,S1,x,food,1,-10\n").encode(),
        (":2:", "amount", "negative amount"),
    ),
    (
        "duplicate id",
        "customers",
        "customer_id,name\nC9,甲\nC9,乙\n".encode(),
        (":3:", "duplicate customer_id C9", "line 2"),
    ),
    # A UTF-16 export with its BOM is read since issue 15 (tests/reliability/test_encodings).
    (
        "10 MB single field",
        "customers",
        b'customer_id,name\nC9,"' + b"x" * 10_000_000 + b'"\n',
        (":2:", "field larger than field limit"),
    ),
    (
        "formula cell in a number column",
        "orders",
        (HEADER + "O9,C1,2026-01-05,,S1,x,food,1,=SUM(A1:A9)\n").encode(),
        (":2:", "amount", "is not a number"),
    ),
]

FUNCTIONS = {
    "customers": importer.import_customers,
    "orders": importer.import_orders,
    "products": importer.import_products,
}


@pytest.mark.parametrize(
    ("name", "kind", "data", "words"), CSV_CASES, ids=[c[0] for c in CSV_CASES]
)
def test_bad_csv_public_function(
    tmp_path: Path,
    shop: sqlite_utils.Database,
    name: str,
    kind: str,
    data: bytes,
    words: tuple[str, ...],
) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(data)
    before = snapshot(shop)
    with pytest.raises((CsvFileError, BadRowsError)) as info:
        FUNCTIONS[kind](shop, path)
    exc = info.value
    if isinstance(exc, BadRowsError):
        message = "\n".join(e.format(path) for e in exc.result.errors)
    else:
        assert isinstance(exc, CsvFileError)
        message = exc.format(path)
    for word in words:
        assert word in message
    assert snapshot(shop) == before
    # The connection is not left inside a transaction.
    assert not shop.conn.in_transaction


@pytest.mark.parametrize(
    ("name", "kind", "data", "words"), CSV_CASES, ids=[c[0] for c in CSV_CASES]
)
def test_bad_csv_command(
    tmp_path: Path,
    db_path: Path,
    shop: sqlite_utils.Database,
    name: str,
    kind: str,
    data: bytes,
    words: tuple[str, ...],
) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(data)
    before = snapshot(shop)
    code, output = _cli("--db", str(db_path), "import", kind, str(path))
    assert code == 1
    assert output.strip().splitlines()[-1].startswith("Error: ")
    for word in words:
        assert word in output
    assert len(output) < 2000  # a 10 MB cell is never echoed back
    assert snapshot(shop) == before


def test_formula_cell_in_text_is_kept_as_text_and_exported_inert(
    tmp_path: Path, db_path: Path, shop: sqlite_utils.Database
) -> None:
    """A name such as =HYPERLINK(...) is a customer's (odd) name, not an error: it is stored
    as plain text, never evaluated, and written with a leading apostrophe on export so a
    spreadsheet does not run it."""
    path = tmp_path / "f.csv"
    path.write_text('customer_id,name\nC7,"=HYPERLINK(""http://x"",""hi"")"\n', encoding="utf-8")
    importer.import_customers(shop, path)
    name = shop.execute("SELECT name FROM customers WHERE customer_id = 'C7'").fetchone()[0]
    assert name == '=HYPERLINK("http://x","hi")'
    out = tmp_path / "export.csv"
    code, output = _cli("--db", str(db_path), "export", "customers", str(out))
    assert code == 0, output
    text = out.read_text(encoding="utf-8-sig")
    assert "'=HYPERLINK" in text
    assert "\n=HYPERLINK" not in text and ",=HYPERLINK" not in text


# --- phrase files ------------------------------------------------------------------------------

GOOD_PHRASE = """
[[phrase]]
id = "ok-one"
stage = "satisfaction"
tags = ["care"]
title = "好的话术"
body = "{name|亲}，您好"
"""

PHRASE_CASES: list[tuple[str, str, tuple[str, ...]]] = [
    ("toml syntax error", '[[phrase]]\nid = "x\n', ("bad.toml:", "not valid TOML")),
    (
        "duplicate id",
        GOOD_PHRASE.replace("ok-one", "dup") + GOOD_PHRASE.replace("ok-one", "dup"),
        ("bad.toml:", "duplicate id 'dup'"),
    ),
    (
        "unknown placeholder",
        GOOD_PHRASE.replace("ok-one", "unk").replace("{name|亲}", "{nmae}"),
        ("bad.toml:", "unknown placeholder 'nmae'"),
    ),
    (
        "injection: attribute access",
        GOOD_PHRASE.replace("ok-one", "inj1").replace("{name|亲}", "{name.__class__}"),
        ("bad.toml:", "not allowed"),
    ),
    (
        "injection: index access",
        GOOD_PHRASE.replace("ok-one", "inj2").replace("{name|亲}", "{name[0]}"),
        ("bad.toml:", "not allowed"),
    ),
    (
        "injection: positional field",
        GOOD_PHRASE.replace("ok-one", "inj3").replace("{name|亲}", "{0}"),
        ("bad.toml:", "positional"),
    ),
    (
        "injection: conversion",
        GOOD_PHRASE.replace("ok-one", "inj4").replace("{name|亲}", "{name!r}"),
        ("bad.toml:", "not allowed"),
    ),
    (
        "injection: format spec on text",
        GOOD_PHRASE.replace("ok-one", "inj5").replace("{name|亲}", "{name:>99999999}"),
        ("bad.toml:", "format is only allowed on dates"),
    ),
]


@pytest.mark.parametrize(("name", "text", "words"), PHRASE_CASES, ids=[c[0] for c in PHRASE_CASES])
def test_bad_phrase_file(tmp_path: Path, name: str, text: str, words: tuple[str, ...]) -> None:
    folder = tmp_path / "phrases"
    folder.mkdir()
    (folder / "bad.toml").write_text(text, encoding="utf-8")
    (folder / "good.toml").write_text(GOOD_PHRASE, encoding="utf-8")
    result = load_library([folder])
    shown = "\n".join(str(p) for p in result.problems)
    for word in words:
        assert word in shown
    assert all(p.line >= 1 for p in result.problems)
    # The rest of the library still loads; the bad phrase is left out, never half-loaded.
    assert "ok-one" in [p.id for p in result.library]
    assert not any(p.id.startswith("inj") or p.id == "unk" for p in result.library)

    code, output = _cli("phrases", "check", str(folder))
    assert code == 1
    assert output.strip().splitlines()[-1].startswith("Error: ")
    for word in words:
        assert word in output


def test_values_are_never_interpreted_again() -> None:
    """A customer record holding template syntax is inserted as text, not expanded."""
    done = render(
        "{name}，券：{coupon|无}", {"name": "{coupon}{0}{name.__class__}", "coupon": None}
    )
    assert done.text == "{coupon}{0}{name.__class__}，券：无"
    assert done.missing == ()


# --- database files ----------------------------------------------------------------------------


def test_database_that_is_not_sqlite(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_bytes(b"these are my notes, not a database\n" * 200)
    before = path.read_bytes()
    with pytest.raises(DatabaseError, match="not a tui-agent database"):
        connect(path)
    code, output = _cli("--db", str(path), "due")
    assert code == 1
    assert "not a tui-agent database" in output
    assert path.read_bytes() == before
    assert not Path(str(path) + "-wal").exists() or Path(str(path) + "-wal").stat().st_size == 0


def test_database_from_a_newer_schema(db_path: Path, db: sqlite_utils.Database) -> None:
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    db.conn.close()
    with pytest.raises(DatabaseError, match="newer than this tui-agent"):
        connect(db_path)
    code, output = _cli("--db", str(db_path), "stats")
    assert code == 1
    assert "upgrade tui-agent" in output
    check = sqlite3.connect(db_path)
    assert check.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION + 5
    check.close()


def _run_unprivileged(target: object, *args: object) -> object:
    """Run ``target(*args)`` where the file's permissions really apply.

    As root (CI containers) permissions do not stop writes, so a forked child drops to the
    'nobody' user first; otherwise it runs here.
    """
    if os.geteuid() != 0:
        return target(*args)  # type: ignore[operator]
    import multiprocessing as mp

    ctx = mp.get_context("fork")
    queue = ctx.Queue()

    def child() -> None:
        os.setgid(65534)
        os.setuid(65534)
        # The test's isolated config dirs belong to root; nobody gets its own (absent) ones.
        os.environ["TUI_AGENT_CONFIG_DIR"] = "/nonexistent/tui-agent-config"
        os.environ["XDG_DATA_HOME"] = "/nonexistent/tui-agent-data"
        try:
            queue.put(("ok", target(*args)))  # type: ignore[operator]
        except BaseException as exc:
            queue.put(("raised", f"{type(exc).__name__}: {exc}"))

    proc = ctx.Process(target=child)
    proc.start()
    status, value = queue.get(timeout=60)
    proc.join(10)
    if status == "raised":
        raise AssertionError(value)
    return value


def _try_read_only(path: str) -> dict[str, object]:
    out: dict[str, object] = {}
    try:
        connect(path)
        out["connect"] = "opened"
    except DatabaseError as exc:
        out["connect"] = str(exc)
    for name, args in {
        "due": ["due"],
        "import": ["import", "customers", path + ".csv"],
    }.items():
        result = CliRunner().invoke(main, ["--db", path, *args])
        out[name] = (result.exit_code, result.output)
    return out


def test_read_only_database(tmp_path_factory: pytest.TempPathFactory) -> None:
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="tui-agent-ro-"))
    try:
        path = folder / "shop.db"
        db = connect(path)
        (folder / "shop.db.csv").write_text("customer_id,name\nC1,甲\n", encoding="utf-8")
        db.conn.close()
        before = path.read_bytes()
        path.chmod(0o444)
        (folder / "shop.db.csv").chmod(0o444)
        folder.chmod(0o555)
        seen = _run_unprivileged(_try_read_only, str(path))
        assert isinstance(seen, dict)
        assert "database is read-only" in str(seen["connect"])
        for name in ("due", "import"):
            code, output = seen[name]
            assert code == 1, (name, output)
            assert "read-only" in output and "Traceback" not in output
            assert len(output.strip().splitlines()) == 1
        assert path.read_bytes() == before
    finally:
        folder.chmod(0o755)
        for p in folder.iterdir():
            p.chmod(0o644)
            p.unlink()
        folder.rmdir()
