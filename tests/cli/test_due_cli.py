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


def test_due_filters(tmp_path: Path) -> None:
    db = str(tmp_path / "d.db")
    assert run("demo", "--db", db, "--today", "2026-05-04", "--customers", "300")[0] == 0
    day = ("--db", db, "--date", "2026-05-04", "--json")
    everything = json.loads(run("due", *day)[1])
    stages = {i["stage"] for i in everything}
    assert len(stages) >= 3
    code, out, _ = run("due", *day, "--stage", "repurchase")
    picked = json.loads(out)
    assert code == 0 and picked
    assert picked == [i for i in everything if i["stage"] == "repurchase"]
    code, out, _ = run("due", *day, "--overdue")
    assert code == 0 and all(i["overdue_days"] > 0 for i in json.loads(out))
    rule = everything[0]["reason_rules"][0]
    code, out, _ = run("due", *day, "--rule", rule)
    assert code == 0 and all(rule in i["reason_rules"] for i in json.loads(out))
    tag = next(t for i in everything for t in i["suggested_tags"])
    code, out, _ = run("due", *day, "--tag", tag, "--stage", everything[0]["stage"])
    assert code == 0
    code, out, _ = run("due", *day, "--segment", "lost")
    assert code == 0 and len(json.loads(out)) < len(everything)
    code, out, _ = run("due", *day, "--mine", "--agent", "nobody-here")
    assert code == 0 and json.loads(out) == []
    code, out, _ = run("due", "--db", db, "--date", "2026-05-04", "--stage", "upkeep")
    assert code == 0 and "(stage=upkeep)" in out


def test_due_filter_usage_errors(tmp_path: Path) -> None:
    db = str(tmp_path / "d.db")
    code, _, err = run("due", "--db", db, "--stage", "nope")
    assert code == 2 and "'nope' is not one of" in err
    code, _, err = run("due", "--db", db, "--segment", "vip")
    assert code == 2 and "not a segment" in err


def test_due_prints_hostile_names_as_plain_text(tmp_path: Path) -> None:
    from tests.helpers import add_customer

    db = tmp_path / "d.db"
    conn = connect(db)
    add_customer(conn, "C1", name="坏\x1b[2J[bold red]人[/]\x9b")
    conn.execute(
        "INSERT INTO follow_ups (customer_id, stage, rule, due_date, created_at, updated_at) "
        "VALUES ('C1', 'upkeep', 'care+15', '2026-05-04', 'x', 'x')"
    )
    conn.conn.commit()
    code, out, _ = run("--db", str(db), "due", "--date", "2026-05-04")
    assert code == 0
    assert "坏␛[2J[bold red]人[/]\ufffd" in out  # controls shown, no markup applied
    assert "\x1b" not in out and "\x9b" not in out
    code, out, _ = run("--db", str(db), "due", "--date", "2026-05-04", "--json")
    assert "\x1b" not in out and "\x9b" not in out
    assert json.loads(out)[0]["customer_name"] == "坏\x1b[2J[bold red]人[/]\x9b"
