"""Issue 15 item 8: encodings and delimiters.

A GBK file whose bytes happen to be valid UTF-8 (卢强, 陆萍, 钱梅) is read as GBK, not as
mojibake; a file that reads as implausible text both ways stops and asks for --encoding;
UTF-16 files (Excel "Unicode text", tab-separated) are recognised by their BOM; tab-separated
files are sniffed, or named with --delimiter; a duplicate header column is an error.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from tui_agent.cli import main
from tui_agent.core.csvrows import CsvFileError
from tui_agent.core.textcodec import plausibility
from tui_agent.store import importer
from tui_agent.store.db import connect

NAMES = ["卢强", "陆萍", "钱梅"]


def _names(tmp_path: Path) -> list[str]:
    db = connect(tmp_path / "s.db")
    return [r[0] for r in db.execute("SELECT name FROM customers ORDER BY customer_id")]


def test_gbk_that_is_valid_utf8_is_read_as_gbk(tmp_path: Path) -> None:
    text = "customer_id,name\n" + "".join(f"C{i},{n}\n" for i, n in enumerate(NAMES))
    data = text.encode("gbk")
    data.decode("utf-8")  # the trap: these bytes are valid UTF-8 too
    src = tmp_path / "c.csv"
    src.write_bytes(data)
    result = importer.import_customers(connect(tmp_path / "s.db"), src)
    assert result.encoding in ("gb18030", "gbk")
    assert _names(tmp_path) == NAMES


def test_plain_utf8_chinese_stays_utf8(tmp_path: Path) -> None:
    src = tmp_path / "c.csv"
    src.write_text("customer_id,name,tier\nC1,王芳,金卡会员\nC2,José Núñez,vip\n", encoding="utf-8")
    result = importer.import_customers(connect(tmp_path / "s.db"), src)
    assert result.encoding == "utf-8-sig"
    assert _names(tmp_path) == ["王芳", "José Núñez"]


def test_doubtful_text_stops_and_asks_for_an_encoding(tmp_path: Path) -> None:
    src = tmp_path / "c.csv"
    # Valid UTF-8 whose text is neither plausible Chinese nor plausible as GBK.
    src.write_bytes("customer_id,name\nC1,ЖЖЖЖ Ωμέγα\n".encode())
    db = connect(tmp_path / "s.db")
    with pytest.raises(CsvFileError, match="--encoding"):
        importer.import_customers(db, src)
    assert db.execute("SELECT count(*) FROM customers").fetchone()[0] == 0
    importer.import_customers(db, src, encoding="utf-8")  # told: imported as is
    assert _names(tmp_path) == ["ЖЖЖЖ Ωμέγα"]


def test_plausibility() -> None:
    assert plausibility("王芳 李强 卢强，您好！") > 0.95
    assert plausibility("¬ǿ½Ƽ") < 0.2
    assert plausibility("鍗㈠己") < 0.7
    assert plausibility("abc") == 1.0


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_unicode_text_from_excel(tmp_path: Path, codec: str) -> None:
    text = "customer_id\tname\tphone\r\nC1\t王芳\t13800000001\r\nC2\t李强\t\r\n"
    bom = {"utf-16": b"", "utf-16-le": b"\xff\xfe", "utf-16-be": b"\xfe\xff"}[codec]
    src = tmp_path / "unicode.txt"
    src.write_bytes(bom + text.encode(codec))
    result = importer.import_customers(connect(tmp_path / "s.db"), src)
    assert result.inserted == 2
    assert _names(tmp_path) == ["王芳", "李强"]


def test_tab_separated_is_sniffed_and_delimiter_option(tmp_path: Path) -> None:
    src = tmp_path / "c.tsv"
    src.write_text("customer_id\tname\nC1\t王芳, 小王\nC2\t李强\n", encoding="utf-8")
    importer.import_customers(connect(tmp_path / "s.db"), src)
    assert _names(tmp_path) == ["王芳, 小王", "李强"]
    semi = tmp_path / "c2.csv"
    semi.write_text("customer_id;name\nC3;钱梅\n", encoding="utf-8")
    r = CliRunner().invoke(
        main,
        ["--db", str(tmp_path / "s.db"), "import", "customers", str(semi), "--delimiter", ";"],
    )
    assert r.exit_code == 0, r.output
    assert _names(tmp_path)[-1] == "钱梅"
    r = CliRunner().invoke(
        main,
        ["--db", str(tmp_path / "s.db"), "import", "customers", str(semi), "--delimiter", "ab"],
    )
    assert r.exit_code == 2


def test_duplicate_header_column_is_an_error(tmp_path: Path) -> None:
    src = tmp_path / "c.csv"
    src.write_text("customer_id,name,phone,name\nC1,王芳,138,王小芳\n", encoding="utf-8")
    db = connect(tmp_path / "s.db")
    with pytest.raises(CsvFileError) as info:
        importer.import_customers(db, src)
    assert info.value.line == 1
    assert "duplicate column 'name'" in info.value.message
    assert "2 and 4" in info.value.message
