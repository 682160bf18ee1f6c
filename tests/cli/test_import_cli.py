from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from tui_agent.cli import main
from tui_agent.store.db import connect


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_import_customers_then_reimport(tmp_path: Path, db_path: Path) -> None:
    f = tmp_path / "c.csv"
    f.write_text("customer_id,name,备注\nC1,王芳,x\n", encoding="utf-8")
    code, out, err = run("import", "customers", str(f), "--db", str(db_path))
    assert code == 0, err
    assert "1 rows read, 1 inserted, 0 updated, 0 unchanged, 0 rejected" in out
    assert "ignored columns: 备注" in err
    code, out, _ = run("--db", str(db_path), "import", "customers", str(f))
    assert code == 0 and "0 inserted, 0 updated, 1 unchanged" in out


def test_bad_rows_exit_1_with_file_line_column(tmp_path: Path, db_path: Path) -> None:
    f = tmp_path / "o.csv"
    lines = ["order_id,customer_id,ordered_at,amount"]
    lines += [f"O{i},C1,2026-01-0{i % 9 + 1},x" for i in range(25)]
    f.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, out, err = run("import", "orders", str(f), "--db", str(db_path))
    assert code == 1
    assert out == ""
    assert f"{f}:2: column amount: 'x' is not a number" in err
    assert "... and 5 more errors" in err
    assert "25 bad rows, nothing imported" in err
    assert "Traceback" not in err
    assert connect(db_path).execute("SELECT count(*) FROM orders").fetchone()[0] == 0


def test_skip_bad_and_custom_rejects(tmp_path: Path, db_path: Path) -> None:
    f = tmp_path / "p.csv"
    f.write_text("sku,name,cycle_days\nS1,豆浆粉,30\nS2,面膜,soon\n", encoding="utf-8")
    rejects = tmp_path / "out" / "bad.csv"
    code, out, err = run(
        "import", "products", str(f), "--skip-bad", "--rejects", str(rejects), "--db", str(db_path)
    )
    assert code == 0
    assert "1 inserted" in out and "1 rejected" in out
    assert f"1 bad rows written to {rejects}" in err
    assert (rejects.stat().st_mode & 0o777) == 0o600
    assert "soon,3,cycle_days" in rejects.read_text(encoding="utf-8-sig")


def test_map_and_map_file(tmp_path: Path, db_path: Path) -> None:
    f = tmp_path / "t.csv"
    f.write_text("订单号,买家,下单时间,实付\nT1,B1,2026-05-05,88\n", encoding="gbk")
    m = tmp_path / "map.txt"
    m.write_text("订单号=order_id\n买家=customer_id\n", encoding="utf-8")
    code, out, err = run(
        "import", "orders", str(f), "--map-file", str(m),
        "--map", "下单时间=ordered_at", "--map", "实付=amount", "--db", str(db_path),
    )  # fmt: skip
    assert code == 0, err
    assert "1 orders, 1 new customers" in out


def test_usage_and_data_errors(tmp_path: Path, db_path: Path) -> None:
    f = tmp_path / "c.csv"
    f.write_text("name\nx\n", encoding="utf-8")
    code, _, err = run("import", "customers", str(f), "--db", str(db_path))
    assert code == 1
    assert f"{f}:1: missing required column customer_id" in err
    code, _, err = run("import", "customers", str(f), "--map", "oops", "--db", str(db_path))
    assert code == 2 and "CSV_COLUMN=FIELD" in err
    code, _, _ = run("import", "customers", str(tmp_path / "none.csv"))
    assert code == 2
    code, _, err = run("import", "customers", str(f), "--map", "name=nope", "--db", str(db_path))
    assert code == 1 and "unknown field 'nope'" in err
    code, _, err = run("import", "customers", str(f), "--encoding", "klingon", "--db", str(db_path))
    assert code == 1 and "unknown encoding" in err


def test_help_lists_canonical_columns() -> None:
    code, out, _ = run("import", "orders", "--help")
    assert code == 0
    assert "order_id,customer_id,ordered_at" in out
    assert "--skip-bad" in out


FORMATS = Path(__file__).parent.parent / "data" / "formats"


def _config(tz: str) -> None:
    from tui_agent.paths import config_file

    path = config_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'[shop]\ntimezone = "{tz}"\n', encoding="utf-8")


def test_platform_export_is_recognised_and_converted_to_the_shop_zone(db_path: Path) -> None:
    _config("America/New_York")
    code, out, err = run(
        "--db", str(db_path), "import", "orders", str(FORMATS / "shopify_orders_export.csv")
    )
    assert code == 0, err
    assert "read as a Shopify orders export" in err
    assert "(3 orders, 2 new customers, 2 cancelled/unpaid/refunded orders kept out)" in out
    db = connect(db_path)
    # 2026-02-20 10:00:00 +0800 is 21:00 the day before in New York (EST).
    assert db.execute("SELECT ordered_at FROM orders WHERE order_id = '#1001'").fetchone()[0] == (
        "2026-02-19 21:00:00"
    )


def test_taobao_two_files_with_lines_or_as_two_arguments(tmp_path: Path, db_path: Path) -> None:
    orders, items = FORMATS / "taobao_订单报表.csv", FORMATS / "taobao_宝贝报表.csv"
    code, out, err = run(
        "--db",
        str(db_path),
        "import",
        "orders",
        str(orders),
        "--lines",
        str(items),
        "--format",
        "taobao",
    )
    assert code == 0, err
    assert "read as a Taobao/Tmall 宝贝报表 joined to its 订单报表" in err
    assert "6 rows read, 6 inserted" not in out and "4 inserted" in out
    code, out, err = run("--db", str(db_path), "import", "orders", str(items), str(orders))
    assert code == 0, err
    assert "0 inserted, 0 updated, 4 unchanged" in out


def test_wrong_format_and_bad_config_are_one_line_errors(tmp_path: Path, db_path: Path) -> None:
    jd = FORMATS / "jd_orders_export.csv"
    code, _, err = run("--db", str(db_path), "import", "orders", str(jd), "--format", "shopify")
    assert code == 1
    assert f"{jd}:1: not a Shopify orders export: missing columns" in err
    assert "Traceback" not in err
    code, _, err = run(
        "--db", str(db_path), "import", "orders", str(jd), "--map", "a=order_id", "--format", "jd"
    )
    assert code == 2 and "--map is for the canonical format only" in err
    _config("Mars/Olympus")
    code, _, err = run("--db", str(db_path), "import", "orders", str(jd))
    assert code == 1 and "shop.timezone 'Mars/Olympus' is not a time zone" in err


def test_excel_mangled_id_names_the_platform_column(tmp_path: Path, db_path: Path) -> None:
    text = (FORMATS / "douyin_orders_export.csv").read_text(encoding="utf-8-sig")
    bad = tmp_path / "douyin.csv"
    bad.write_text(text.replace("'6930000000000000104", "6.93E+18"), encoding="utf-8-sig")
    code, _, err = run("--db", str(db_path), "import", "orders", str(bad))
    assert code == 1
    assert (
        f"{bad}:6: column 主订单编号 (order_id): '6.93E+18' looks like a number mangled by "
        "Excel; export the column as text"
    ) in err
