from __future__ import annotations

from pathlib import Path

import pytest
import sqlite_utils

from tui_agent.store.db import connect


@pytest.fixture(autouse=True)
def _isolated_dirs(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No test reads or writes the real user's config, data or phrase directories."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("TUI_AGENT_CONFIG_DIR", str(home / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("TUI_AGENT_CACHE_DIR", str(home / "cache"))
    monkeypatch.delenv("TUI_AGENT_DB", raising=False)
    monkeypatch.delenv("TUI_AGENT_PHRASES", raising=False)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "shop.db"


@pytest.fixture
def db(db_path: Path) -> sqlite_utils.Database:
    return connect(db_path)
