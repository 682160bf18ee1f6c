"""Privacy: the database is private to its owner; messages never carry a phone number."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from tui_agent.cli import main
from tui_agent.core.privacy import has_phone, mask_phone, mask_phones
from tui_agent.store.db import connect

PHONE = re.compile(r"1[3-9]\d{9}")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_database_and_its_wal_files_are_created_owner_only(tmp_path: Path) -> None:
    old = os.umask(0)  # even with the most permissive umask
    try:
        path = tmp_path / "new" / "shop.db"
        db = connect(path)
        db.execute("INSERT INTO meta(key, value) VALUES ('k', 'v')")
        assert _mode(path) == 0o600
        for suffix in ("-wal", "-shm"):
            side = Path(str(path) + suffix)
            assert side.exists() and _mode(side) == 0o600
        db.conn.close()
    finally:
        os.umask(old)


def test_database_created_by_commands_is_owner_only(tmp_path: Path) -> None:
    csv = tmp_path / "c.csv"
    csv.write_text("customer_id,name,phone\nC1,王芳,13800000001\n", encoding="utf-8")
    path = tmp_path / "shop.db"
    result = CliRunner().invoke(main, ["--db", str(path), "import", "customers", str(csv)])
    assert result.exit_code == 0, result.output
    assert _mode(path) == 0o600


def test_rejects_file_holding_customer_rows_is_owner_only(tmp_path: Path) -> None:
    csv = tmp_path / "c.csv"
    csv.write_text(
        "customer_id,name,phone,birthday\nC1,王芳,13800000001,\nC2,李强,13911112222,notadate\n",
        encoding="utf-8",
    )
    rejects = tmp_path / "bad.csv"
    result = CliRunner().invoke(
        main,
        [
            "--db",
            str(tmp_path / "s.db"),
            "import",
            "customers",
            str(csv),
            "--skip-bad",
            "--rejects",
            str(rejects),
        ],
    )
    assert result.exit_code == 0, result.output
    assert _mode(rejects) == 0o600
    assert not PHONE.search(result.output)


@pytest.mark.parametrize(
    ("header", "row"),
    [
        # A phone number that slipped into the birthday column (a shifted export).
        ("customer_id,name,birthday", "C1,王芳,13812345678"),
        # Shops that key customers by phone number: the id is quoted in duplicate errors.
        ("customer_id,name", "13812345678,王芳\n13812345678,王芳"),
        # International format in a date column.
        ("customer_id,name,birthday", "C1,Emma,+44 20 7946 0958"),
    ],
)
def test_import_errors_carry_no_phone_number(tmp_path: Path, header: str, row: str) -> None:
    csv = tmp_path / "c.csv"
    csv.write_text(f"{header}\n{row}\n", encoding="utf-8")
    result = CliRunner().invoke(
        main, ["--db", str(tmp_path / "s.db"), "import", "customers", str(csv)]
    )
    assert result.exit_code == 1
    assert "Error:" in result.output
    assert not has_phone(result.output), result.output
    assert "7946 0958" not in result.output
    # Still useful: the line and the column are named, the number is recognisable.
    assert ":2" in result.output or ":3" in result.output
    assert "****" in result.output


def test_mask_phones() -> None:
    assert mask_phones("'13812345678' is not a date") == "'138****5678' is not a date"
    assert mask_phones("call +86 138-1234-5678 now") == "call +86 1**-****-5678 now"
    assert not has_phone(mask_phones("+1 415 555 0100"))
    # Ids, amounts and dates are not phone numbers and stay as they are.
    for text in ("O00012345", "C0012345", "amount 1234567.50", "2026-01-02 10:00:00"):
        assert mask_phones(text) == text


@pytest.mark.parametrize(
    ("phone", "shown"),
    [
        ("13812345678", "138****5678"),
        ("+86 138-1234-5678", "+86 1**-****-5678"),
        ("+86 138 1234 5678", "+86 1** **** 5678"),
        ("6234567", "*****67"),  # short: only the last two digits
        ("12", "12"),
        ("", ""),
        (None, ""),
    ],
)
def test_one_phone_mask_for_every_screen(phone: str | None, shown: str) -> None:
    """The card, the customer page, `customer show` and the campaign export share this mask
    (they had three that disagreed: the card hid the +86 prefix, the page showed a short
    number whole)."""
    assert mask_phone(phone) == shown
    assert not has_phone(mask_phone(phone))
