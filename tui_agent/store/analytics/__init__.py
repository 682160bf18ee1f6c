"""SQL behind the shop's figures; returns ``core.metrics`` dataclasses.

Everything is computed from ``orders``, ``order_lines``, ``touches`` and ``follow_ups`` (and
the customers' derived columns when they are current: see :mod:`.passes`). One module per
capability:

- :mod:`.shop`: every figure of a period in one call (:func:`shop_stats`), and the LTV inputs;
- :mod:`.passes`: the per-customer passes those figures are folded from; :mod:`.ltv` the LTV
  year's sums they cannot give on the way;
- :mod:`.repurchase`: the repurchase by month, days between orders, per category;
- :mod:`.rfm`: RFM scores and segments, computed or stored;
- :mod:`.touch_stats`: touches against the baseline, recorded outcomes, the daily series;
- :mod:`.export`: the CSV exports;
- :mod:`.common`: time windows, the memory map, parallel reads, the derived columns' check.

This package offers what its callers use; import from here.
"""

from tui_agent.store.analytics.common import NONE_KEY, REPURCHASE_MONTHS, _derived_current
from tui_agent.store.analytics.export import EXPORT_KINDS, export_rows
from tui_agent.store.analytics.repurchase import avg_gap_days, category_stats, repurchase_by_month
from tui_agent.store.analytics.rfm import (
    _SEGMENT_CACHE,
    SEGMENTS_KIND,
    all_segments,
    refresh_segments,
    rfm_scores,
    segment_of,
    segments_for,
    stored_segments_current,
)
from tui_agent.store.analytics.shop import ltv_figures, shop_stats
from tui_agent.store.analytics.touch_stats import attribution, daily_series, touch_outcomes

__all__ = [
    "EXPORT_KINDS",
    "NONE_KEY",
    "REPURCHASE_MONTHS",
    "SEGMENTS_KIND",
    "_SEGMENT_CACHE",
    "_derived_current",
    "all_segments",
    "attribution",
    "avg_gap_days",
    "category_stats",
    "daily_series",
    "export_rows",
    "ltv_figures",
    "refresh_segments",
    "repurchase_by_month",
    "rfm_scores",
    "segment_of",
    "segments_for",
    "shop_stats",
    "stored_segments_current",
    "touch_outcomes",
]
