"""The shop platforms' own order exports, each a small declarative preset (one module each).

:func:`recognise` names the export from its header row; :class:`~.base.Translator` turns its
rows into the canonical order rows the importer checks. Pure: no file or database access.
"""

from __future__ import annotations

from collections.abc import Sequence

from tui_agent.core.formats import douyin, jd, shopify, taobao, woocommerce
from tui_agent.core.formats.base import (
    EXCLUDED,
    STATUSES,
    FormatError,
    Preset,
    Translator,
    shop_time,
    unescape,
    zone,
)

__all__ = [
    "EXCLUDED",
    "FORMATS",
    "PRESETS",
    "STATUSES",
    "FormatError",
    "Preset",
    "Translator",
    "recognise",
    "shop_time",
    "unescape",
    "zone",
]

# --format values; "canonical" is the project's own CSV (no translation).
FORMATS = ("shopify", "taobao", "jd", "douyin", "woocommerce", "canonical")

PRESETS: dict[str, Preset] = {
    p.key: p
    for p in (
        shopify.PRESET,
        taobao.PRESET,
        taobao.LINES,
        jd.PRESET,
        douyin.PRESET,
        woocommerce.PRESET,
    )
}


def recognise(header: Sequence[str]) -> Preset | None:
    """The platform export whose signature columns the header has, or None (canonical/other)."""
    for preset in PRESETS.values():
        if preset.matches(header):
            return preset
    return None
