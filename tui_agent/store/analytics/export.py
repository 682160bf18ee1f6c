"""The CSV exports: touches, customers (with RFM scores and predictions), segments."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import sqlite_utils

from tui_agent.core.segments import Segment
from tui_agent.store.analytics.common import _hi
from tui_agent.store.analytics.rfm import rfm_scores
from tui_agent.store.outcomes import latest_outcome_sql, live_touch

EXPORT_KINDS = ("touches", "customers", "segments")


def export_rows(
    db: sqlite_utils.Database, kind: str, today: date
) -> tuple[list[str], Iterator[tuple[Any, ...]]]:
    """Header and rows of one export (``touches``, ``customers`` or ``segments``)."""
    if kind == "touches":
        # outcome: the latest recorded (an event, else the touch's own column); retracted:
        # 1 when the touch was taken back (undo), which then counts nowhere.
        header = [
            "id", "at", "agent", "customer_id", "follow_up_id", "stage", "phrase_id",
            "channel", "outcome", "retracted", "text",
        ]  # fmt: skip
        cur = db.execute(
            "SELECT id, at, agent, customer_id, follow_up_id, stage, phrase_id, channel, "
            f"{latest_outcome_sql('t')}, NOT {live_touch('t')}, text FROM touches t "
            "ORDER BY at, id"
        )
        return header, (tuple(r) for r in cur)
    rfm = {r.customer_id: r for r in rfm_scores(db, today)}
    if kind == "customers":
        header = [
            "customer_id", "name", "tier", "orders", "spent", "first_order_at", "last_order_at",
            "recency_days", "r", "f", "m", "segment",
            "p_alive", "expected_purchases_365d", "clv_365d", "predicted_next_order",
        ]  # fmt: skip
        cur = db.execute(
            """
            SELECT c.customer_id, c.name, c.tier, count(o.order_id), total(o.amount),
                   min(o.ordered_at), max(o.ordered_at),
                   round(p.p_alive, 4), round(p.expected_purchases_365d, 4),
                   round(p.clv_365d, 2), p.predicted_next_order
            FROM customers c LEFT JOIN orders o
                 ON o.customer_id = c.customer_id AND o.ordered_at < ?
            LEFT JOIN customer_predictions p ON p.customer_id = c.customer_id
            GROUP BY c.customer_id ORDER BY c.customer_id
            """,
            [_hi(today)],
        )

        def customers() -> Iterator[tuple[Any, ...]]:
            for row in cur:
                base, predicted = row[:7], row[7:]
                x = rfm.get(row[0])
                if x is None:
                    yield (*base, None, None, None, None, None, *predicted)
                else:
                    yield (*base, x.recency_days, x.r, x.f, x.m, x.segment.value, *predicted)

        return header, customers()
    if kind == "segments":
        header = ["segment", "label", "label_zh", "customers", "share", "orders", "monetary"]
        acc: dict[Segment, list[float]] = {s: [0, 0, 0.0] for s in Segment}
        for x in rfm.values():
            a = acc[x.segment]
            a[0] += 1
            a[1] += x.frequency
            a[2] += x.monetary
        n = len(rfm)
        return header, (
            (
                s.value,
                s.label,
                s.label_zh,
                int(a[0]),
                round(a[0] / n, 4) if n else 0.0,
                int(a[1]),
                round(a[2], 2),
            )
            for s, a in acc.items()
        )
    raise ValueError(f"unknown export {kind!r}; choose one of {', '.join(EXPORT_KINDS)}")
