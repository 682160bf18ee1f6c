"""The user's config file (``config.toml`` in the config dir): shop, agent, keymap, theme.

Example::

    [shop]
    name = "小满生活馆"
    coupon = "满199减20"
    timezone = "Asia/Shanghai"   # order times are stored in it (default: the machine's)

    [agent]
    name = "lily"
    display_name = "小满"   # what {agent_name} says to customers (default: the agent name)

    [skip]
    # reasons offered on the number keys 1-9 of the skip dialog
    presets = ["已在聊天中沟通", "客户近期已联系过", "订单售后处理中"]

    [keymap]
    # binding id = keys (comma separated), see `?` in the console for the ids
    copy_and_log = "enter,ctrl+y"

    [ui]
    theme = "textual-light"

    [work]
    undo_minutes = 10   # how long after logging a touch its agent may take it back (u)
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from tui_agent.core import tomltext
from tui_agent.paths import config_file

DEFAULT_SKIP_PRESETS = (
    "已在聊天中沟通 talked in chat already",
    "近期已联系过 contacted recently",
    "售后处理中 after-sales case open",
)


class ConfigError(ValueError):
    """A config file that cannot be read or has a wrong value; the message names the file."""


@dataclass(frozen=True, slots=True)
class Config:
    """Settings read from ``config.toml``; ``None`` means "not set, use the default"."""

    shop_name: str | None = None
    coupon: str | None = None
    agent: str | None = None
    keymap: dict[str, str] = field(default_factory=dict)
    theme: str | None = None
    undo_minutes: int = 10
    display_name: str | None = None
    skip_presets: tuple[str, ...] = DEFAULT_SKIP_PRESETS
    timezone: str | None = None  # IANA name; None = the machine's own
    max_line_amount: float | None = None  # [import] max_line_amount

    def shop_name_for(self, language: str) -> str:
        """The shop name, or a neutral default in the customer's language."""
        if self.shop_name:
            return self.shop_name
        return "本店" if language.startswith("zh") else "our shop"


def load_config(path: Path | None = None) -> Config:
    """Read the config file; a missing file gives the defaults."""
    path = path or config_file()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Config()
    except OSError as exc:
        raise ConfigError(f"{path}: {exc.strerror or exc}") from None
    try:
        data = tomltext.loads(text)
    except tomltext.TooDeeplyNested:
        raise ConfigError(f"{path}: {tomltext.TOO_DEEP}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    keymap = data.get("keymap", {})
    if not isinstance(keymap, dict) or not all(isinstance(v, str) for v in keymap.values()):
        raise ConfigError(f"{path}: [keymap] values must be strings of keys")
    return Config(
        shop_name=_str(data, "shop", "name", path),
        coupon=_str(data, "shop", "coupon", path),
        agent=_str(data, "agent", "name", path),
        keymap={str(k): str(v) for k, v in keymap.items()},
        theme=_str(data, "ui", "theme", path),
        undo_minutes=_minutes(data, "work", "undo_minutes", 10, path),
        display_name=_str(data, "agent", "display_name", path),
        skip_presets=_presets(data, path),
        timezone=_timezone(data, path),
        max_line_amount=_positive(data, "import", "max_line_amount", path),
    )


def _table(data: dict[str, object], table: str, path: Path) -> dict[str, object] | None:
    """The ``[table]`` section, None when absent; anything else than a table is an error."""
    section = data.get(table)
    if section is None:
        return None
    if not isinstance(section, dict):
        raise ConfigError(f"{path}: [{table}] must be a table")
    return section


def _presets(data: dict[str, object], path: Path) -> tuple[str, ...]:
    section = _table(data, "skip", path)
    if section is None:
        return DEFAULT_SKIP_PRESETS
    value = section.get("presets", list(DEFAULT_SKIP_PRESETS))
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ConfigError(f"{path}: skip.presets must be a list of non-empty strings")
    if len(value) > 9:
        raise ConfigError(f"{path}: skip.presets: at most 9 (one per number key)")
    return tuple(v.strip() for v in value)


def _minutes(data: dict[str, object], table: str, key: str, default: int, path: Path) -> int:
    section = _table(data, table, path)
    if section is None:
        return default
    value = section.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 24 * 60:
        raise ConfigError(f"{path}: {table}.{key} must be a whole number of minutes (0-1440)")
    return value


def _timezone(data: dict[str, object], path: Path) -> str | None:
    name = _str(data, "shop", "timezone", path)
    if name is None:
        return None
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"{path}: shop.timezone {name!r} is not a time zone (use a name such as Asia/Shanghai)"
        ) from None
    return name


def _positive(data: dict[str, object], table: str, key: str, path: Path) -> float | None:
    section = _table(data, table, path)
    if section is None or section.get(key) is None:
        return None
    value = section[key]
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1e15:
        raise ConfigError(f"{path}: {table}.{key} must be a positive number")
    return float(value)


def _str(data: dict[str, object], table: str, key: str, path: Path) -> str | None:
    section = _table(data, table, path)
    if section is None:
        return None
    value = section.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ConfigError(f"{path}: {table}.{key} must be a string")
    return value.strip() or None
