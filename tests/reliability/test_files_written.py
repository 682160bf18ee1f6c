"""Issue 15 items 2 and 4, issue 9 defect 11: files tui-agent writes.

The reject file never destroys the input (same file or a symlink to it is refused before
anything is opened for writing), is written under a temporary name and renamed when
complete, keeps ``line, column, reason`` under their headers for rows with the wrong number
of cells, and is owner-only like every export, whatever the umask and also when it exists.
Error messages mask emails, landlines, ``0086`` and dotted numbers like mobile numbers.
"""

from __future__ import annotations

import csv
import io
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from tui_agent.cli import main
from tui_agent.core.privacy import has_phone, mask_phones
from tui_agent.store import csvread, importer
from tui_agent.store.db import connect

BAD = (
    "customer_id,name,phone,birthday\n"
    "C1,王芳,13800000001,\n"
    "C2,李强,13911112222,notadate\n"
    "C3,陆萍\n"  # too few cells
    "C4,钱梅,13700000000,,extra,more\n"  # too many
)


def _cli(*args: str) -> tuple[int, str]:
    r = CliRunner().invoke(main, list(args))
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    return r.exit_code, r.output


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


@pytest.mark.parametrize("how", ["same path", "symlink", "hard link", "relative"])
def test_rejects_file_that_is_the_input_is_refused(tmp_path: Path, how: str) -> None:
    src = tmp_path / "c.csv"
    src.write_text(BAD, encoding="utf-8")
    rejects = {
        "same path": src,
        "symlink": tmp_path / "link.csv",
        "hard link": tmp_path / "hard.csv",
        "relative": tmp_path / "sub" / ".." / "c.csv",
    }[how]
    if how == "symlink":
        rejects.symlink_to(src)
    if how == "hard link":
        os.link(src, rejects)
    (tmp_path / "sub").mkdir()
    db = tmp_path / "s.db"
    code, output = _cli("--db", str(db), "import", "customers", str(src), "--skip-bad",
                        "--rejects", str(rejects))  # fmt: skip
    assert code == 1
    assert "is the input file" in output and len(output.strip().splitlines()) == 1
    assert src.read_text(encoding="utf-8") == BAD
    assert connect(db).execute("SELECT count(*) FROM customers").fetchone()[0] == 0


def test_misaligned_rows_keep_line_column_reason_under_their_headers(tmp_path: Path) -> None:
    src = tmp_path / "c.csv"
    src.write_text(BAD, encoding="utf-8")
    out = tmp_path / "rejects.csv"
    importer.import_customers(connect(tmp_path / "s.db"), src, skip_bad=True, rejects=out)
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    assert [r["line"] for r in rows] == ["3", "4", "5"]
    assert rows[0]["column"] == "birthday" and "not a date" in rows[0]["reason"]
    assert rows[1]["customer_id"] == "C3" and "2 fields" in rows[1]["reason"]
    assert rows[2]["customer_id"] == "C4" and "6 fields" in rows[2]["reason"]
    # nothing is lost: the extra cells follow the reason
    raw = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    assert raw[3][-2:] == ["extra", "more"]


def test_rejects_file_is_written_whole_under_a_temporary_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = tmp_path / "c.csv"
    src.write_text(BAD, encoding="utf-8")
    out = tmp_path / "rejects.csv"
    out.write_text("an older reject file\n", encoding="utf-8")
    real_writer = csv.writer
    calls = {"n": 0}

    class Dying:
        def __init__(self, f: object) -> None:
            self.w = real_writer(f)  # type: ignore[arg-type]

        def writerow(self, row: list[object]) -> None:
            calls["n"] += 1
            if calls["n"] == 3:
                raise KeyboardInterrupt  # killed half way through
            self.w.writerow(row)

    monkeypatch.setattr(csvread.csv, "writer", Dying)
    with pytest.raises(KeyboardInterrupt):
        importer.import_customers(connect(tmp_path / "s.db"), src, skip_bad=True, rejects=out)
    assert out.read_text(encoding="utf-8") == "an older reject file\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.csv", "rejects.csv", "s.db",
                                                           "s.db-shm", "s.db-wal"]  # fmt: skip


@pytest.mark.usefixtures("umask_022")
def test_existing_rejects_file_and_exports_become_owner_only(tmp_path: Path) -> None:
    src = tmp_path / "c.csv"
    src.write_text(BAD, encoding="utf-8")
    out = tmp_path / "rejects.csv"
    out.write_text("old\n", encoding="utf-8")
    out.chmod(0o644)
    db = tmp_path / "s.db"
    code, output = _cli("--db", str(db), "import", "customers", str(src), "--skip-bad",
                        "--rejects", str(out))  # fmt: skip
    assert code == 0, output
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    for kind in ("customers", "touches", "segments"):
        target = tmp_path / f"{kind}.csv"
        if kind == "touches":
            target.write_text("old", encoding="utf-8")
            target.chmod(0o666)
        code, output = _cli("--db", str(db), "export", kind, str(target))
        assert code == 0, output
        assert stat.S_IMODE(target.stat().st_mode) == 0o600, kind


@pytest.mark.parametrize(
    ("text", "hidden"),
    [
        ("'wang.fang@example.com' is not a date", "wang.fang"),
        ("'010-62345678' is not a number", "6234"),
        ("'(021) 6234 5678' is not a date", "6234"),
        ("'0086 138 1234 5678' is not a date", "1234 5"),
        ("'008613812345678' is not a date", "381234"),
        ("'138.1234.5678' is not a date", "1234."),
        ("'0755-2345678' is bad", "2345"),
    ],
)
def test_error_messages_mask_more_kinds_of_contact(text: str, hidden: str) -> None:
    masked = mask_phones(text)
    assert hidden not in masked, masked
    assert not has_phone(masked)
    assert "*" in masked


def test_masking_leaves_ids_amounts_and_dates() -> None:
    for text in ("O00012345", "C0012345", "amount 1234567.50", "2026-01-02 10:00:00", "v1.2.3"):
        assert mask_phones(text) == text
