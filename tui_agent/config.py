"""The user's config file (``config.toml`` in the config dir): shop, agent, keymap, theme.

Example::

    [shop]
    name = "小满生活馆"
    coupon = "满199减20"

    [agent]
    name = "lily"

    [keymap]
    # binding id = keys (comma separated), see `?` in the console for the ids
    copy_and_log = "enter,ctrl+y"

    [ui]
    theme = "textual-light"
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from tui_agent.paths import config_file

DEFAULT_SHOP_NAME = "本店"


class ConfigError(ValueError):
    """A config file that cannot be read; the message names the file."""


@dataclass(frozen=True, slots=True)
class Config:
    shop_name: str = DEFAULT_SHOP_NAME
    coupon: str | None = None
    agent: str | None = None
    keymap: dict[str, str] = field(default_factory=dict)
    theme: str | None = None


def load_config(path: Path | None = None) -> Config:
    """Read the config file; a missing file gives the defaults."""
    path = path or config_file()
    if not path.is_file():
        return Config()
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from None
    shop = data.get("shop", {})
    agent = data.get("agent", {})
    keymap = data.get("keymap", {})
    ui = data.get("ui", {})
    if not all(isinstance(v, str) for v in keymap.values()):
        raise ConfigError(f"{path}: [keymap] values must be strings of keys")
    return Config(
        shop_name=str(shop.get("name", DEFAULT_SHOP_NAME)),
        coupon=shop.get("coupon"),
        agent=agent.get("name"),
        keymap={str(k): str(v) for k, v in keymap.items()},
        theme=ui.get("theme"),
    )
