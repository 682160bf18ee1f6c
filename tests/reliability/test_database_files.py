"""Issue 15 items 3 and 6, issue 9 defect 3: which files tui-agent opens, and how it refuses.

A missing file is created only by ``import`` and ``demo``; a file that is not a tui-agent
database is refused untouched; a corrupt one is refused by ``import`` before anything is
written; a read-only database and a full disk give one line, never a traceback.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from pathlib import Path

import pytest
import sqlite_utils
from click.testing import CliRunner

from tests.reliability.test_bad_input import _run_unprivileged
from tui_agent.cli import main
from tui_agent.store import db as dbmod
from tui_agent.store.db import DatabaseError, connect

CUSTOMERS = "customer_id,name\nC1,王芳\nC2,李强\n"


def _cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize(
    "args",
    [
        ["due"],
        ["stats"],
        ["export", "customers", "OUT"],
        ["render", "order-confirm", "--customer", "C1"],
        ["console"],
    ],
)
def test_a_mistyped_db_is_not_created(tmp_path: Path, args: list[str]) -> None:
    path = tmp_path / "no-such-dir" / "x.db"
    args = [str(tmp_path / "out.csv") if a == "OUT" else a for a in args]
    code, output = _cli("--db", str(path), *args)
    assert code == 1
    lines = output.strip().splitlines()
    assert len(lines) == 1, output
    assert str(path) in lines[0] and "no such database" in lines[0]
    assert "tui-agent import" in lines[0] and "tui-agent demo" in lines[0]
    assert not path.exists() and not path.parent.exists()


def test_import_and_demo_create_the_database(tmp_path: Path) -> None:
    csv = tmp_path / "c.csv"
    csv.write_text(CUSTOMERS, encoding="utf-8")
    code, _ = _cli("--db", str(tmp_path / "new" / "a.db"), "import", "customers", str(csv))
    assert code == 0 and (tmp_path / "new" / "a.db").exists()


def _foreign(path: Path, customers_table: bool) -> None:
    conn = sqlite3.connect(path)
    if customers_table:
        conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT)")
        conn.execute("INSERT INTO customers (email) VALUES ('a@b.c')")
    conn.execute("CREATE TABLE notes (body TEXT)")
    conn.execute("INSERT INTO notes VALUES ('my notes')")
    conn.commit()
    conn.close()


@pytest.mark.parametrize("customers_table", [False, True])
@pytest.mark.parametrize(
    "args", [["due"], ["import", "customers", "CSV"], ["stats"], ["export", "touches", "OUT"]]
)
def test_a_foreign_sqlite_file_is_refused_untouched(
    tmp_path: Path, customers_table: bool, args: list[str]
) -> None:
    path = tmp_path / "other-app.db"
    _foreign(path, customers_table)
    before = _digest(path)
    csv = tmp_path / "c.csv"
    csv.write_text(CUSTOMERS, encoding="utf-8")
    args = [str(csv) if a == "CSV" else str(tmp_path / "o.csv") if a == "OUT" else a for a in args]
    code, output = _cli("--db", str(path), *args)
    assert code == 1
    assert len(output.strip().splitlines()) == 1, output
    assert "not a tui-agent database" in output
    assert _digest(path) == before
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert tables == ({"customers", "notes"} if customers_table else {"notes"})
    conn.close()


def test_an_empty_new_file_becomes_a_database(tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    path.touch()
    connect(path).close()
    code, output = _cli("--db", str(path), "due", "--date", "2026-01-05")
    assert code == 0, output


def _corrupt(tmp_path: Path) -> Path:
    path = tmp_path / "shop.db"
    db = connect(path)
    db.conn.executemany(
        "INSERT INTO customers (customer_id, name) VALUES (?, ?)",
        [(f"C{i:05d}", "王芳" * 20) for i in range(3000)],
    )
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    # Scribble over the headers of pages in the middle of the customers table.
    with path.open("r+b") as f:
        for page in range(20, 30):
            f.seek(4096 * page)
            f.write(b"\x07" + b"\xff" * 11)
    return path


def test_import_into_a_corrupt_database_is_refused(tmp_path: Path) -> None:
    path = _corrupt(tmp_path)
    before = _digest(path)
    csv = tmp_path / "c.csv"
    csv.write_text(CUSTOMERS, encoding="utf-8")
    code, output = _cli("--db", str(path), "import", "customers", str(csv))
    assert code == 1, output
    assert "corrupt" in output and len(output.strip().splitlines()) == 1
    assert _digest(path) == before


@pytest.mark.parametrize("args", [["due", "--date", "2026-01-05"], ["stats"]])
def test_reading_a_corrupt_database_gives_one_line(tmp_path: Path, args: list[str]) -> None:
    path = _corrupt(tmp_path)
    code, output = _cli("--db", str(path), *args)
    if code != 0:  # the damaged page may be one this command never reads
        assert len(output.strip().splitlines()) == 1 and "corrupt" in output, output


def _read_only_file(path: str) -> dict[str, object]:
    # As root the test runs this in a child that is 'nobody', which cannot read modules
    # under root's home: everything the commands import is imported before the fork.
    out: dict[str, object] = {}
    for name, args in {
        "due": ["due", "--date", "2026-01-05"],
        "import": ["import", "customers", path + ".csv"],
    }.items():
        result = CliRunner().invoke(main, ["--db", path, *args])
        out[name] = (result.exit_code, result.output, repr(result.exception))
    return out


def test_read_only_wal_database_file() -> None:
    import encodings.gb2312
    import encodings.gb18030
    import encodings.gbk
    import encodings.utf_8_sig  # noqa: F401
    import tempfile

    import tui_agent.cli.due
    import tui_agent.cli.importing
    import tui_agent.store.importer  # noqa: F401

    folder = Path(tempfile.mkdtemp(prefix="tui-agent-ro-file-"))
    folder.chmod(0o777)  # the folder stays writable: only the file is read-only
    path = folder / "shop.db"
    db = connect(path)
    db.close()
    (folder / "shop.db.csv").write_text(CUSTOMERS, encoding="utf-8")
    (folder / "shop.db.csv").chmod(0o644)
    before = _digest(path)
    path.chmod(0o444)
    seen = _run_unprivileged(_read_only_file, str(path))
    assert isinstance(seen, dict)
    for name in ("due", "import"):
        code, output, exc = seen[name]
        assert code == 1, (name, output, exc)
        assert "read-only" in output and "Traceback" not in output, (name, output, exc)
        assert len(output.strip().splitlines()) == 1, (name, output)
    assert _digest(path) == before


def _full_disk_connect(real: object, pages: int) -> object:
    def fake(*args: object, **kwargs: object) -> sqlite_utils.Database:
        db = real(*args, **kwargs)  # type: ignore[operator]
        db.execute(f"PRAGMA max_page_count = {pages}")
        return db

    return fake


def test_disk_full_during_import_is_one_line_and_nothing_imported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "shop.db"
    connect(path).close()
    before = sqlite3.connect(path).execute("PRAGMA page_count").fetchone()[0]
    csv = tmp_path / "c.csv"
    csv.write_text(
        "customer_id,name\n" + "".join(f"C{i},{'王芳' * 50}\n" for i in range(5000)),
        encoding="utf-8",
    )
    monkeypatch.setattr(dbmod, "connect", _full_disk_connect(dbmod.connect, before + 2))
    monkeypatch.setattr("tui_agent.cli.common.connect", dbmod.connect)
    code, output = _cli("--db", str(path), "import", "customers", str(csv))
    assert code == 1, output
    assert len(output.strip().splitlines()) == 1, output
    assert "disk full" in output and "nothing was imported" in output
    monkeypatch.undo()
    db = connect(path)
    assert db.execute("SELECT count(*) FROM customers").fetchone()[0] == 0


def test_connect_reports_a_full_disk_as_such(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = sqlite3.connect

    class Full:
        def __init__(self, *a: object, **k: object) -> None:
            self.conn = real(*a, **k)  # type: ignore[arg-type]

        def execute(self, sql: str, *a: object) -> object:
            if "journal_mode" in sql:
                raise sqlite3.OperationalError("database or disk is full")
            return self.conn.execute(sql, *a)  # type: ignore[arg-type]

        def close(self) -> None:
            self.conn.close()

    path = tmp_path / "shop.db"
    monkeypatch.setattr(dbmod.sqlite3, "connect", Full)
    with pytest.raises(DatabaseError, match="disk full"):
        connect(path)
    assert os.path.exists(path)
