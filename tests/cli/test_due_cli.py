from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from tui_agent.cli import main
from tui_agent.store.db import connect


def run(*args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(main, list(args))
    return r.exit_code, r.stdout, r.stderr


def test_demo_then_due_json(tmp_path: Path) -> None:
    db = str(tmp_path / "d.db")
    code, out, _ = run("demo", "--db", db, "--today", "2026-05-04", "--customers", "60")
    assert code == 0 and "follow-ups due 2026-05-04" in out
    code, out, _ = run("due", "--db", db, "--date", "2026-05-04", "--json")
    assert code == 0
    items = json.loads(out)
    assert items
    keys = {
        "id",
        "customer_id",
        "customer_name",
        "stage",
        "reasons",
        "due_date",
        "status",
        "claimed_by",
        "suggested_tags",
    }
    assert keys <= set(items[0])
    assert all(i["status"] == "pending" and i["due_date"] <= "2026-05-04" for i in items)
    # idempotent: the same list again
    code, again, _ = run("due", "--db", db, "--date", "2026-05-04", "--json")
    assert json.loads(again) == items


def test_due_exit_codes(tmp_path: Path) -> None:
    code, _, err = run("due", "--date", "not-a-date")
    assert code == 2 and "not a date" in err
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"garbage" * 1000)
    code, _, err = run("due", "--db", str(bad))
    assert code == 1 and "not a tui-agent database" in err and "Traceback" not in err


def test_global_db_option_and_env(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # `due` never creates a database (issue 9): both exist, and each is the one used.
    db = tmp_path / "env.db"
    other = tmp_path / "flag.db"
    connect(db).close()
    monkeypatch.setenv("TUI_AGENT_DB", str(db))
    code, out, _ = run("due", "--json")
    assert code == 0 and json.loads(out) == []
    code, _, err = run("--db", str(tmp_path / "missing.db"), "due")
    assert code == 1 and "missing.db: no such database" in err
    connect(other).close()
    code, _, _ = run("--db", str(other), "due")
    assert code == 0
