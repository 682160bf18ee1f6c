"""`tui-agent backup` while 8 processes log touches: consistent, complete, rotated."""

from __future__ import annotations

import multiprocessing as mp
import sqlite3
from datetime import datetime
from pathlib import Path

from click.testing import CliRunner

from tests.helpers import add_customer
from tests.serve.workers import touch_writer
from tui_agent.cli import main
from tui_agent.store.backup import backup_database
from tui_agent.store.db import connect, write_tx


def _committed(files: list[Path]) -> set[int]:
    ids: set[int] = set()
    for f in files:
        if f.exists():
            ids.update(int(line) for line in f.read_text().split("\n") if line.strip())
    return ids


def test_backup_while_eight_processes_log_touches(tmp_path: Path) -> None:
    shop = tmp_path / "shop.db"
    db = connect(shop)
    with write_tx(db):
        for i in range(50):
            add_customer(db, f"c{i}")
    db.conn.close()
    ctx = mp.get_context("spawn")
    stop = ctx.Event()
    files = [tmp_path / f"committed-{n}.txt" for n in range(8)]
    workers = []
    for n, f in enumerate(files):
        ready = ctx.Event()
        proc = ctx.Process(target=touch_writer, args=(str(shop), f"agent{n}", str(f), ready, stop))
        proc.start()
        workers.append((proc, ready))
    try:
        for _proc, ready in workers:
            assert ready.wait(120), "a writer never got going"
        before = _committed(files)  # each of these returned from its commit already
        result = CliRunner().invoke(main, ["--db", str(shop), "backup", str(tmp_path / "bk")])
        assert result.exit_code == 0, result.output
    finally:
        stop.set()
        for proc, _ready in workers:
            proc.join(60)
    assert all(proc.exitcode == 0 for proc, _ready in workers)
    [copy] = list((tmp_path / "bk").glob("shop-*.db"))
    assert copy.stat().st_mode & 0o777 == 0o600
    assert not list((tmp_path / "bk").glob(".*partial"))
    con = sqlite3.connect(copy)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "delete"  # one file
        in_copy = {r[0] for r in con.execute("SELECT id FROM touches")}
    finally:
        con.close()
    assert len(before) >= 160
    assert before <= in_copy  # every touch committed before the backup started
    # ... and the copy is a snapshot: only touches that really were committed.
    final = _committed(files)
    assert in_copy <= final


def test_backup_rotation_keeps_the_newest(tmp_path: Path) -> None:
    shop = tmp_path / "shop.db"
    connect(shop).conn.close()
    dest = tmp_path / "bk"
    dest.mkdir()
    (dest / "notes.txt").write_text("not a backup")
    (dest / "other-20260101-000000.db").write_text("another database's backup")
    made = [
        backup_database(shop, dest, keep=2, now=datetime(2026, 11, d, 2, 0, 0)).path
        for d in (20, 21, 22)
    ]
    left = sorted(p.name for p in dest.iterdir())
    assert left == sorted([made[1].name, made[2].name, "notes.txt", "other-20260101-000000.db"])
    # The same second twice: a second file, not an overwrite.
    again = backup_database(shop, dest, now=datetime(2026, 11, 22, 2, 0, 0)).path
    assert again != made[2] and again.exists() and made[2].exists()


def test_backup_errors_are_one_line(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["--db", str(tmp_path / "none.db"), "backup", str(tmp_path)])
    assert result.exit_code == 1 and "no such database" in result.output
    shop = tmp_path / "shop.db"
    connect(shop).conn.close()
    (tmp_path / "file").write_text("x")
    result = runner.invoke(main, ["--db", str(shop), "backup", str(tmp_path / "file")])
    assert result.exit_code in (1, 2) and "Traceback" not in result.output
    result = runner.invoke(main, ["--db", str(shop), "backup", str(tmp_path / "b"), "--keep", "0"])
    assert result.exit_code == 2
