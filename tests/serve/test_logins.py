"""Agent logins: hashing, the store, the rate limiter and the `agents` commands."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlite_utils
from click.testing import CliRunner

from tui_agent.cli import main
from tui_agent.core import passwords
from tui_agent.core.passwords import PasswordError, hash_password, verify_password
from tui_agent.core.ratelimit import LoginLimiter
from tui_agent.store.agents import (
    AgentError,
    add_agent,
    authenticate,
    disable_agent,
    has_logins,
    list_agents,
    set_password,
)
from tui_agent.store.db import connect


def test_hash_is_salted_scrypt_and_verifies() -> None:
    one, two = hash_password("correct horse 9"), hash_password("correct horse 9")
    assert one != two  # a fresh salt each time
    assert one.startswith(f"scrypt${passwords.N}${passwords.R}${passwords.P}$")
    assert verify_password("correct horse 9", one)
    assert not verify_password("correct horse 8", one)
    assert not verify_password("correct horse 9", None)  # unknown agent: same work, refused
    assert not verify_password("x", "md5$abc")
    assert not verify_password("x", "scrypt$zz$8$1$00$00")


def test_names_and_passwords_are_checked() -> None:
    with pytest.raises(PasswordError):
        passwords.check_name("Lily")
    with pytest.raises(PasswordError):
        passwords.check_name("a b")
    with pytest.raises(PasswordError):
        passwords.check_password("short")
    assert passwords.check_name("lily.w-2") == "lily.w-2"


def test_store_add_authenticate_disable_passwd(db: sqlite_utils.Database) -> None:
    assert not has_logins(db)
    add_agent(db, "lily", "correct horse 9", display_name="小满")
    with pytest.raises(AgentError):
        add_agent(db, "lily", "another pass 1")
    agent = authenticate(db, "lily", "correct horse 9")
    assert agent is not None and agent.display_name == "小满" and agent.shown_name == "小满"
    assert authenticate(db, "lily", "wrong password") is None
    assert authenticate(db, "nobody", "correct horse 9") is None
    stored = db.execute("SELECT password_hash FROM agents").fetchone()[0]
    assert "correct horse" not in stored
    disable_agent(db, "lily")
    assert authenticate(db, "lily", "correct horse 9") is None
    assert not has_logins(db)
    set_password(db, "lily", "new password 2")  # enables again
    assert authenticate(db, "lily", "new password 2") is not None
    assert authenticate(db, "lily", "correct horse 9") is None
    assert [a.name for a in list_agents(db)] == ["lily"]
    with pytest.raises(AgentError):
        disable_agent(db, "nobody")


def test_limiter_locks_an_address_and_a_name_then_backs_off() -> None:
    limiter = LoginLimiter(free=3, window=600, base=30, cap=300)
    keys = ["addr:1.2.3.4", "name:lily"]
    for t in range(3):
        assert limiter.wait(keys, float(t)) == 0
        limiter.failed(keys, float(t))
    # The third failure locks both the address and the name.
    assert limiter.wait(["addr:1.2.3.4", "name:ben"], 3.0) > 0
    assert limiter.wait(["addr:5.6.7.8", "name:lily"], 3.0) > 0
    assert limiter.wait(["addr:5.6.7.8", "name:ben"], 3.0) == 0
    assert limiter.wait(keys, 40.0) == 0  # 30 s lock is over
    limiter.failed(keys, 40.0)
    assert limiter.wait(keys, 40.0) == pytest.approx(60.0)  # doubled
    limiter.succeeded("name:lily")
    assert limiter.wait(["addr:5.6.7.8", "name:lily"], 41.0) == 0
    assert limiter.wait(["addr:1.2.3.4"], 41.0) > 0  # the address stays locked


def _run(db_path: Path, *args: str, input: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["--db", str(db_path), *args], input=input)
    return result.exit_code, result.output


def test_agents_commands(db_path: Path, tmp_path: Path) -> None:
    connect(db_path).close()  # agents are added to an existing shop database
    pw = tmp_path / "pw"
    pw.write_text("correct horse 9\nignored\n", encoding="utf-8")
    code, out = _run(
        db_path, "agents", "add", "lily", "--display-name", "小满", "--password-file", str(pw)
    )
    assert code == 0 and "lily added" in out
    code, out = _run(db_path, "agents", "add", "ben", input="ben password\nben password\n")
    assert code == 0, out
    code, out = _run(db_path, "agents", "list")
    assert code == 0 and "小满" in out and "ben" in out and "enabled" in out
    code, out = _run(db_path, "agents", "add", "lily", "--password-file", str(pw))
    assert code == 1 and "exists already" in out
    code, out = _run(db_path, "agents", "add", "Lily", "--password-file", str(pw))
    assert code == 2 and "not a login name" in out
    (tmp_path / "short").write_text("abc\n")
    code, out = _run(db_path, "agents", "add", "amy", "--password-file", str(tmp_path / "short"))
    assert code == 1 and "at least 8" in out and "Traceback" not in out
    code, out = _run(db_path, "agents", "disable", "ben")
    assert code == 0
    code, out = _run(db_path, "agents", "list")
    assert "disabled" in out
    code, out = _run(
        db_path, "agents", "passwd", "ben", "--password-file", "-", input="newer pass 3\n"
    )
    assert code == 0, out
    code, out = _run(db_path, "agents", "passwd", "nobody", "--password-file", str(pw))
    assert code == 1 and "no agent named" in out
    code, out = _run(db_path, "agents", "add", "amy", "--password-file", str(tmp_path / "missing"))
    assert code == 1 and "missing" in out
    db = sqlite_utils.Database(db_path)
    assert authenticate(db, "ben", "newer pass 3") is not None
    assert authenticate(db, "lily", "correct horse 9") is not None


def test_release_claims_frees_only_that_agents_open_claims(tmp_path: Path) -> None:
    from tests.ui.seed import build_shop
    from tui_agent.store.agents import release_claims
    from tui_agent.store.db import connect

    db = connect(build_shop(tmp_path / "shop.db"))
    ids = [r[0] for r in db.execute("SELECT id FROM follow_ups ORDER BY id LIMIT 3")]
    for fid, who in zip(ids, ["lily", "lily", "ben"], strict=True):
        db.execute(
            "UPDATE follow_ups SET claimed_by = ?, claimed_at = '2026-11-20 09:00:00' WHERE id = ?",
            [who, fid],
        )
    db.execute("UPDATE follow_ups SET status = 'done' WHERE id = ?", [ids[1]])
    assert release_claims(db, "lily") == 1
    held = dict(db.execute("SELECT id, claimed_by FROM follow_ups WHERE id IN (?, ?, ?)", ids))
    assert held == {ids[0]: None, ids[1]: "lily", ids[2]: "ben"}  # a done one keeps its record
