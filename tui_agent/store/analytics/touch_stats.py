"""Which touches brought customers back (attribution against a baseline of follow-ups nobody
worked), what the agents recorded of them (outcomes), and the console's daily series."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

import sqlite_utils

from tui_agent.core import metrics as mt
from tui_agent.store.analytics.common import NONE_KEY, _hi, _lo
from tui_agent.store.outcomes import latest_outcome_sql, live_touch


def _group(
    rows: Iterable[tuple[str, int, float]],
    baseline: dict[str, mt.Baseline],
    default: mt.Baseline,
) -> tuple[mt.AttributionRow, ...]:
    acc: dict[str, list[float]] = defaultdict(lambda: [0, 0, 0.0])
    for key, n_orders, revenue in rows:
        a = acc[key]
        a[0] += 1
        a[1] += n_orders > 0
        a[2] += revenue
    out = []
    for k, a in acc.items():
        b = baseline.get(k, default)
        out.append(
            mt.AttributionRow(
                k, int(a[0]), int(a[1]), a[2], b.conversion, b.converted, b.follow_ups
            )
        )
    out.sort(key=lambda r: (-r.touches, r.key))
    return tuple(out)


def attribution(
    db: sqlite_utils.Database,
    start: date | None,
    end: date,
    window_days: int = mt.DEFAULT_WINDOW_DAYS,
    *,
    today: date | None = None,
) -> mt.Attribution:
    """For each touch in the period: did the customer order within ``window_days`` after it?

    Only touches whose window has closed by ``today`` (default ``end``) count; the others are
    reported apart as maturing, with the orders they have had so far. Orders after ``today``
    never count.

    Conversion and revenue per stage, phrase and agent, against a baseline of follow-ups due in
    the period, whose window has closed, that nobody worked (skipped by an agent), and whose
    customer had no touch from ``window_days`` before the due day to ``window_days`` after it:
    a capped follow-up (skipped because the customer had just been touched) is never a
    baseline, nor is a customer whose order a touch already claims. A stage's lift is measured
    against that stage's own baseline when it has one (a wake-up customer buys more anyway),
    phrases and agents against the overall baseline. Revenue is every order in a touch's
    window, so two touches close together both count the same order.
    """
    today = today or end
    span = f"+{int(window_days)} days"
    live = live_touch("t")  # a retracted touch (undo) is not a contact
    params = {
        "lo": _lo(start),
        "hi": _hi(end),
        "span": span,
        "back": f"-{int(window_days)} days",
        "none": NONE_KEY,
        "today_hi": _hi(today),
    }
    touches = db.execute(
        f"""
        SELECT t.agent, coalesce(t.phrase_id, :none), coalesce(t.stage, f.stage, :none),
               count(o.order_id), total(o.amount), datetime(t.at, :span) < :today_hi
        FROM touches t
        LEFT JOIN follow_ups f ON f.id = t.follow_up_id
        LEFT JOIN orders o ON o.customer_id = t.customer_id
             AND o.ordered_at > t.at AND o.ordered_at <= datetime(t.at, :span)
             AND o.ordered_at < :today_hi
        WHERE t.at >= :lo AND t.at < :hi AND t.at < :today_hi AND {live}
        GROUP BY t.id
        """,
        params,
    ).fetchall()
    base_rows = db.execute(
        f"""
        SELECT f.stage, coalesce(f.status_reason, '') LIKE 'cap%', count(o.order_id),
               total(o.amount), date(f.due_date, :span) <= :today_hi
        FROM follow_ups f
        LEFT JOIN orders o ON o.customer_id = f.customer_id
             AND o.ordered_at >= f.due_date AND o.ordered_at < date(f.due_date, :span)
             AND o.ordered_at < :today_hi
        WHERE f.status = 'skipped' AND f.due_date >= :lo AND f.due_date < :hi
          AND f.due_date < :today_hi
          AND NOT EXISTS (
              SELECT 1 FROM touches t WHERE t.customer_id = f.customer_id
              AND t.at >= date(f.due_date, :back) AND t.at < date(f.due_date, :span) AND {live})
        GROUP BY f.id
        """,
        params,
    ).fetchall()
    capped = sum(1 for r in base_rows if r[1])
    open_follow_ups = sum(1 for r in base_rows if not r[1] and not r[4])
    base_rows = [r for r in base_rows if not r[1] and r[4]]

    def baseline_of(rows: list[Any], capped: int = 0) -> mt.Baseline:
        return mt.Baseline(
            follow_ups=len(rows),
            capped=capped,
            converted=sum(1 for r in rows if r[2] > 0),
            revenue=float(sum(r[3] for r in rows)),
        )

    overall = baseline_of(base_rows, capped)
    by_stage_rows: dict[str, list[Any]] = defaultdict(list)
    for r in base_rows:
        by_stage_rows[r[0]].append(r)
    stage_baselines = {k: baseline_of(v) for k, v in by_stage_rows.items()}
    matured = [t for t in touches if t[5]]
    maturing = mt.Maturing(
        touches=len(touches) - len(matured),
        converted=sum(1 for t in touches if not t[5] and t[3] > 0),
        follow_ups=open_follow_ups,
    )
    total = _group((("all", n, rev) for *_, n, rev, _m in matured), {}, overall)
    return mt.Attribution(
        window_days=window_days,
        total=total[0]
        if total
        else mt.AttributionRow(
            "all", 0, 0, 0.0, overall.conversion, overall.converted, overall.follow_ups
        ),
        baseline=overall,
        by_stage=_group(
            ((st, n, rev) for _, _, st, n, rev, _m in matured), stage_baselines, overall
        ),
        by_phrase=mt.rank_by_conversion(
            _group(((ph, n, rev) for _, ph, _, n, rev, _m in matured), {}, overall)
        ),
        by_agent=_group(((ag, n, rev) for ag, _, _, n, rev, _m in matured), {}, overall),
        baseline_by_stage=stage_baselines,
        maturing=maturing,
    )


def _outcome_events(
    db: sqlite_utils.Database, lo: str, hi: str
) -> tuple[str, list[tuple[Any, ...]]]:
    """(source, rows of (touch id, agent, phrase, stage, outcome kind)) for the live touches of
    the period: one row per touch, with its latest outcome (None when none was recorded).

    THE ONE PLACE here that knows where outcomes live: ``touch_events`` rows of kind
    ``outcome`` (the outcome name in ``value``; the latest wins, see
    ``store.outcomes.latest_outcome_sql``), else the touch's own ``outcome`` column (touches
    logged before outcomes were events). A retracted touch (undo) is left out.
    """
    sql = f"""
        SELECT t.id, t.agent, coalesce(t.phrase_id, :none),
               coalesce(t.stage, f.stage, :none), nullif({latest_outcome_sql("t")}, '')
        FROM touches t LEFT JOIN follow_ups f ON f.id = t.follow_up_id
        WHERE t.at >= :lo AND t.at < :hi AND {live_touch("t")}
    """
    params = {"lo": lo, "hi": hi, "none": NONE_KEY}
    return "touch_events", db.execute(sql, params).fetchall()


def touch_outcomes(db: sqlite_utils.Database, start: date | None, end: date) -> mt.Outcomes:
    """What came of the period's touches (replied, problem, ordered...), per stage, phrase and
    agent, as the agents recorded it (see :func:`_outcome_events` for where it is read)."""
    source, rows = _outcome_events(db, _lo(start), _hi(end))
    groups: tuple[dict[str, dict[int, set[str]]], ...] = ({}, {}, {})
    for tid, agent, phrase, stage, kind in rows:
        for g, key in zip(groups, (stage, phrase, agent), strict=True):
            kinds = g.setdefault(key, {}).setdefault(tid, set())
            if kind:
                kinds.add(str(kind))

    def rows_of(g: dict[str, dict[int, set[str]]]) -> tuple[mt.OutcomeRow, ...]:
        out = []
        for key, touches in g.items():
            counts: dict[str, int] = defaultdict(int)
            for kinds in touches.values():
                for k in kinds:
                    counts[k] += 1
            recorded = sum(1 for kinds in touches.values() if kinds)
            out.append(mt.OutcomeRow(key, len(touches), recorded, dict(counts)))
        out.sort(key=lambda r: (-r.touches, r.key))
        return tuple(out)

    return mt.Outcomes(rows_of(groups[0]), rows_of(groups[1]), rows_of(groups[2]), source)


def daily_series(
    db: sqlite_utils.Database,
    start: date | None,
    end: date,
    *,
    window_days: int = mt.DEFAULT_WINDOW_DAYS,
    today: date | None = None,
) -> mt.DailySeries:
    """Touches and repurchases (a customer's 2nd or later order) per day, and conversion per
    stage, for the console's small charts. ``start`` None means the 30 days ending on ``end``.
    Conversion counts the touches whose window closed by ``today`` (default ``end``).
    """
    first = start or end - timedelta(days=29)
    lo, hi = first.isoformat(), _hi(end)
    touches = dict(
        db.execute(
            "SELECT date(at), count(*) FROM touches t WHERE at >= ? AND at < ? "
            f"AND {live_touch('t')} GROUP BY 1",
            [lo, hi],
        ).fetchall()
    )
    repurchases = dict(
        db.execute(
            """
            SELECT date(o.ordered_at), count(*) FROM orders o
            WHERE o.ordered_at >= ? AND o.ordered_at < ? AND EXISTS (
                SELECT 1 FROM orders p WHERE p.customer_id = o.customer_id
                AND (p.ordered_at < o.ordered_at
                     OR (p.ordered_at = o.ordered_at AND p.order_id < o.order_id)))
            GROUP BY 1
            """,
            [lo, hi],
        ).fetchall()
    )
    days = tuple(first + timedelta(days=i) for i in range((end - first).days + 1))
    a = attribution(db, first, end, window_days, today=today or end)
    return mt.DailySeries(
        days=days,
        touches=tuple(int(touches.get(d.isoformat(), 0)) for d in days),
        repurchases=tuple(int(repurchases.get(d.isoformat(), 0)) for d in days),
        stage_conversion=tuple((r.key, r.conversion) for r in a.by_stage),
    )
