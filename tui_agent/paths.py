"""Where the database, the config and the phrase directories live.

Resolved in one place so tests patch one module. Nothing here creates a file or directory;
callers that write make the parent themselves.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "tui-agent"
DB_ENV = "TUI_AGENT_DB"
PHRASES_ENV = "TUI_AGENT_PHRASES"
CONFIG_ENV = "TUI_AGENT_CONFIG_DIR"
CACHE_ENV = "TUI_AGENT_CACHE_DIR"


def config_dir() -> Path:
    """The user's config directory (``TUI_AGENT_CONFIG_DIR`` overrides platformdirs)."""
    override = os.environ.get(CONFIG_ENV)
    if override:
        return Path(override).expanduser()
    return Path(platformdirs.user_config_dir(APP_NAME))


def data_dir() -> Path:
    """The user's data directory, home of the default database."""
    return Path(platformdirs.user_data_dir(APP_NAME))


def cache_dir() -> Path:
    """The user's cache directory (``TUI_AGENT_CACHE_DIR`` overrides platformdirs).

    Holds derived data only (the pinyin of phrase titles); deleting it is always safe.
    """
    override = os.environ.get(CACHE_ENV)
    if override:
        return Path(override).expanduser()
    return Path(platformdirs.user_cache_dir(APP_NAME))


def resolve_db_path(flag: str | os.PathLike[str] | None = None) -> Path:
    """``--db`` beats ``TUI_AGENT_DB`` beats the platformdirs default."""
    if flag:
        return Path(flag).expanduser()
    env = os.environ.get(DB_ENV)
    if env:
        return Path(env).expanduser()
    return data_dir() / "shop.db"


def shipped_phrases_dir() -> Path:
    """The phrase library shipped with the package.

    In a source checkout that is the top-level ``phrases/`` directory; an installed wheel
    carries the same files as the ``tui_agent.shipped_phrases`` package.
    """
    here = Path(__file__).resolve().parent
    checkout = here.parent / "phrases"
    if checkout.is_dir() and (here.parent / "pyproject.toml").is_file():
        return checkout
    return here / "shipped_phrases"


def phrase_dirs(flag: str | os.PathLike[str] | None = None) -> list[Path]:
    """Phrase directories in load order: shipped, user config, ``TUI_AGENT_PHRASES``, ``--phrases``.

    A later directory's phrase with the same id overrides an earlier one. Directories that
    do not exist are left out.
    """
    candidates: list[Path] = [shipped_phrases_dir(), config_dir() / "phrases"]
    env = os.environ.get(PHRASES_ENV)
    if env:
        candidates.extend(Path(p).expanduser() for p in env.split(os.pathsep) if p)
    if flag:
        candidates.append(Path(flag).expanduser())
    seen: set[Path] = set()
    result: list[Path] = []
    for c in candidates:
        r = c.resolve()
        if r not in seen and c.is_dir():
            seen.add(r)
            result.append(c)
    return result


def rules_path() -> Path:
    """The lifecycle rules file: the user's copy in the config dir, else the shipped default."""
    user = config_dir() / "rules.toml"
    if user.is_file():
        return user
    return Path(__file__).resolve().parent / "data" / "rules.toml"


def config_file() -> Path:
    """The user's ``config.toml`` (agent name, shop name, keymap)."""
    return config_dir() / "config.toml"
