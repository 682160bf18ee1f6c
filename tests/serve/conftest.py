from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.serve.served import PASSWORD, SHOP, TODAY, Served, start_server
from tui_agent.core.rules import load_rules
from tui_agent.paths import rules_path
from tui_agent.store.agents import add_agent
from tui_agent.store.db import connect
from tui_agent.store.demo import build_demo


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    """A demo shop with two logins and a config naming the shop (and the coupon, so no
    phrase asks for a value)."""
    path = tmp_path / "shop.db"
    build_demo(path, today=TODAY, rules=load_rules(rules_path()), customers=120)
    db = connect(path)
    add_agent(db, "lily", PASSWORD, display_name="小满")
    add_agent(db, "ben", PASSWORD)
    db.conn.close()
    config = Path(os.environ["TUI_AGENT_CONFIG_DIR"])
    config.mkdir(parents=True, exist_ok=True)
    (config / "config.toml").write_text(
        f'[shop]\nname = "{SHOP}"\ncoupon = "满199减20"\n', encoding="utf-8"
    )
    return path


@pytest.fixture
def served(shop: Path) -> Iterator[Served]:
    server = start_server(shop)
    try:
        yield server
    finally:
        server.stop()
