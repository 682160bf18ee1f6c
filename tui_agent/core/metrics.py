"""The shop's figures: repurchase rate, LTV, attribution lift, and the dataclasses that carry them.

Pure arithmetic and types only; ``store.analytics`` computes the inputs with SQL.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from tui_agent.core.intervals import Interval, newcombe_diff, too_thin, wilson
from tui_agent.core.segments import Segment

DEFAULT_LIFETIME_YEARS = 3.0
DEFAULT_WINDOW_DAYS = 14
COHORT_DAYS = (30, 60, 90)
# A lifetime estimated from a tiny churn would be absurd (1 / 0.01 = 100 years): cap it.
MAX_LIFETIME_YEARS = 10.0
MIN_LIFETIME_BASE = 30  # customers needed before the estimate is trusted
MIN_HISTORY_DAYS = 180
# The lifetime estimate is used only when its 95% interval is this tight (high / low) and
# stays under the cap: otherwise the data cannot tell 3 years from 10.
MAX_LIFETIME_SPREAD = 2.0
MIN_RATE_CUSTOMERS = 30  # established customers needed to measure orders per year


def ratio(num: float, den: float) -> float | None:
    """``num / den``, or None when there is nothing to divide by."""
    return None if den == 0 else num / den


def repurchase_rate(customers: int, repeat_customers: int) -> float | None:
    """Customers with 2+ orders / customers with 1+ order (None without customers)."""
    return ratio(repeat_customers, customers)


def ltv_value(average_order_value: float, orders_per_year: float, lifetime_years: float) -> float:
    """PRODUCT.md's LTV: average order value x orders per year x lifetime in years."""
    return average_order_value * orders_per_year * lifetime_years


def estimate_lifetime_years(base: int, retained: int, window_days: float) -> float | None:
    """Expected customer lifetime in years from one retention measurement.

    ``base`` customers ordered in one window of ``window_days``; ``retained`` of them ordered
    again in the following window of the same length. The retention is scaled to a year
    (``r ** (365 / window_days)``) and a customer who stays each year with probability ``p``
    stays ``1 / (1 - p)`` years on average (geometric lifetime). None when ``base`` is too small
    to trust; capped at :data:`MAX_LIFETIME_YEARS`.
    """
    if base < MIN_LIFETIME_BASE or window_days <= 0:
        return None
    return lifetime_from_retention(retained / base, window_days)


def lifetime_from_retention(retention: float, window_days: float) -> float:
    """Geometric lifetime in years from a retention over ``window_days``, capped."""
    annual = float(retention ** (365.0 / window_days))
    if annual >= 1.0:
        return MAX_LIFETIME_YEARS
    return min(MAX_LIFETIME_YEARS, 1.0 / (1.0 - annual))


def lifetime_interval(base: int, retained: int, window_days: float) -> tuple[float, float] | None:
    """The lifetimes at the two ends of the retention's 95% Wilson interval."""
    ci = wilson(retained, base)
    if ci is None or window_days <= 0:
        return None
    return (
        lifetime_from_retention(ci.low, window_days),
        lifetime_from_retention(ci.high, window_days),
    )


def lift_pp(conversion: float | None, baseline: float | None) -> float | None:
    """Lift in percentage points: conversion after a touch minus conversion without one."""
    if conversion is None or baseline is None:
        return None
    return (conversion - baseline) * 100.0


def gap_days(span_days: float, gaps: int) -> float | None:
    """Average days between consecutive orders from the pooled sums.

    A customer's gaps between consecutive orders add up to (last - first), so the pooled mean
    over all customers is sum(last - first) / sum(orders - 1): no per-order pass is needed.
    """
    return ratio(span_days, gaps)


@dataclass(frozen=True, slots=True)
class Period:
    """Inclusive dates; ``start`` None means since the first order."""

    start: date | None
    end: date


@dataclass(frozen=True, slots=True)
class Repurchase:
    customers: int
    repeat_customers: int

    @property
    def rate(self) -> float | None:
        return repurchase_rate(self.customers, self.repeat_customers)


@dataclass(frozen=True, slots=True)
class CohortRow:
    """Customers whose first order fell in ``month``, and who bought again within N days.

    ``repeat[i]`` counts those with a 2nd order within ``COHORT_DAYS[i]`` days of the first;
    ``rates[i]`` is None while the cohort is too young to tell (month end + N days > today).
    """

    month: str  # YYYY-MM
    customers: int
    repeat: tuple[int, ...]
    rates: tuple[float | None, ...]


@dataclass(frozen=True, slots=True)
class CategoryRow:
    category: str
    customers: int
    repeat_customers: int
    avg_gap_days: float | None

    @property
    def rate(self) -> float | None:
        return repurchase_rate(self.customers, self.repeat_customers)


@dataclass(frozen=True, slots=True)
class SegmentRow:
    """Customers of one RFM segment (as of ``today``) and their repurchase in the period."""

    segment: Segment
    customers: int
    period_customers: int
    period_repeat_customers: int
    monetary: float

    @property
    def rate(self) -> float | None:
        return repurchase_rate(self.period_customers, self.period_repeat_customers)


@dataclass(frozen=True, slots=True)
class LtvFigures:
    """LTV and its inputs, measured over the year ending on the period's last day."""

    window_start: date
    window_end: date
    average_order_value: float
    orders_per_year: float
    lifetime_years: float
    lifetime_source: str  # "configured", "estimated" or "default"
    estimated_lifetime_years: float | None
    estimate_base: int
    estimate_retained: int
    estimate_window_days: int
    # The lifetimes at the ends of the retention's 95% interval (None without an estimate).
    lifetime_interval: tuple[float, float] | None = None
    # Customers whose orders measured orders_per_year (customers before the year began).
    orders_per_year_customers: int = 0
    notes: tuple[str, ...] = ()  # what was too thin to measure, and what was used instead

    @property
    def value(self) -> float:
        return ltv_value(self.average_order_value, self.orders_per_year, self.lifetime_years)


def ltv_figures(
    window_start: date,
    window_end: date,
    orders: int,
    revenue: float,
    customers: int,
    estimate: tuple[int, int, int] | None,
    lifetime_years: float | None = None,
    established: tuple[int, int] | None = None,
) -> LtvFigures:
    """LTV from the year window's counts and an optional retention ``(base, retained, days)``.

    Average order value: the year's revenue / its orders. Orders per year: the year's orders of
    the customers who were already customers when it began (``established``: their orders and
    their number, each had the whole year to order in), when there are at least
    :data:`MIN_RATE_CUSTOMERS` of them; else every customer who ordered in the year, with a
    note. The lifetime is the configured one when given, else the estimate when its 95%
    interval is tight enough (see :data:`MAX_LIFETIME_SPREAD`), else
    :data:`DEFAULT_LIFETIME_YEARS` with a note saying why; ``lifetime_source`` says which.
    """
    notes: list[str] = []
    base, retained, days = estimate or (0, 0, 0)
    estimated = estimate_lifetime_years(base, retained, days) if estimate else None
    interval = lifetime_interval(base, retained, days) if estimate and base else None
    if estimated is None and estimate:
        notes.append(
            f"lifetime: {base} customers in the retention window is too thin "
            f"(need {MIN_LIFETIME_BASE}); default {DEFAULT_LIFETIME_YEARS:g} years used"
        )
    elif estimated is not None and interval is not None:
        low, high = interval
        if high >= MAX_LIFETIME_YEARS or high > MAX_LIFETIME_SPREAD * low:
            notes.append(
                f"lifetime: {retained}/{base} retained gives {low:.1f}-{high:.1f} years "
                f"(95%): too thin to estimate; default {DEFAULT_LIFETIME_YEARS:g} years used"
            )
            estimated = None
    elif not estimate:
        notes.append(f"lifetime: under {MIN_HISTORY_DAYS} days of history to estimate it")
    if lifetime_years is not None:
        years, source = lifetime_years, "configured"
    elif estimated is not None:
        years, source = estimated, "estimated"
    else:
        years, source = DEFAULT_LIFETIME_YEARS, "default"
    est_orders, est_customers = established or (0, 0)
    if est_customers >= MIN_RATE_CUSTOMERS:
        per_year = est_orders / est_customers
        rate_customers = est_customers
    else:
        per_year = ratio(orders, customers) or 0.0
        rate_customers = customers
        notes.append(
            f"orders per year: {est_customers} customers were customers for the whole year "
            f"(need {MIN_RATE_CUSTOMERS}); measured on every customer who ordered in it"
        )
    return LtvFigures(
        window_start=window_start,
        window_end=window_end,
        average_order_value=ratio(revenue, orders) or 0.0,
        orders_per_year=per_year,
        lifetime_years=years,
        lifetime_source=source,
        estimated_lifetime_years=estimated,
        estimate_base=base,
        estimate_retained=retained,
        estimate_window_days=days,
        lifetime_interval=interval,
        orders_per_year_customers=rate_customers,
        notes=tuple(notes),
    )


@dataclass(frozen=True, slots=True)
class AttributionRow:
    """Matured touches of one stage, phrase or agent and the orders that followed in the window.

    ``baseline_converted`` of ``baseline_follow_ups`` is the baseline it is compared with
    (``baseline_conversion`` their ratio); the intervals are 95% Wilson (conversion) and
    Newcombe's hybrid score interval (lift, as a difference of proportions).
    """

    key: str
    touches: int
    converted: int
    revenue: float
    baseline_conversion: float | None
    baseline_converted: int = 0
    baseline_follow_ups: int = 0

    @property
    def conversion(self) -> float | None:
        return ratio(self.converted, self.touches)

    @property
    def lift_pp(self) -> float | None:
        return lift_pp(self.conversion, self.baseline_conversion)

    @property
    def conversion_interval(self) -> Interval | None:
        return wilson(self.converted, self.touches)

    @property
    def lift_interval(self) -> Interval | None:
        """95% interval of conversion - baseline conversion (a fraction, not pp)."""
        return newcombe_diff(
            self.converted, self.touches, self.baseline_converted, self.baseline_follow_ups
        )

    @property
    def too_thin(self) -> bool:
        """Too few touches or baseline follow-ups for the comparison to say much."""
        return too_thin(self.converted, self.touches) or too_thin(
            self.baseline_converted, self.baseline_follow_ups
        )

    @property
    def lift_is_clear(self) -> bool:
        """The lift's interval excludes zero (the touches did make a difference, or harm)."""
        ci = self.lift_interval
        return ci is not None and ci.excludes_zero()


def rank_by_conversion(rows: tuple[AttributionRow, ...]) -> tuple[AttributionRow, ...]:
    """Rows whose lift interval excludes zero and that are not too thin first, by conversion
    (best first); then the rest, which the data cannot rank, by number of touches. A phrase is
    ranked above another only when its interval says something."""

    def ranked(r: AttributionRow) -> bool:
        return r.lift_is_clear and not r.too_thin

    clear = sorted((r for r in rows if ranked(r)), key=lambda r: (-(r.conversion or 0.0), r.key))
    unclear = sorted((r for r in rows if not ranked(r)), key=lambda r: (-r.touches, r.key))
    return (*clear, *unclear)


OUTCOME_KINDS = (
    "replied", "satisfied", "problem", "question", "no_reply", "ordered", "unreachable",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class OutcomeRow:
    """Touches of one stage, phrase or agent and what came of them, as the agents recorded it
    (a touch counts once per outcome kind it had)."""

    key: str
    touches: int
    recorded: int  # touches with at least one outcome
    counts: dict[str, int]

    def rate(self, kind: str) -> float | None:
        """Share of the touches with an outcome recorded that had ``kind``."""
        return ratio(self.counts.get(kind, 0), self.recorded)


@dataclass(frozen=True, slots=True)
class Outcomes:
    by_stage: tuple[OutcomeRow, ...] = ()
    by_phrase: tuple[OutcomeRow, ...] = ()
    by_agent: tuple[OutcomeRow, ...] = ()
    source: str = "touches.outcome"  # or "touch_events"


@dataclass(frozen=True, slots=True)
class MonthRepurchase:
    """Customers who ordered in ``month`` and how many of them had ordered before."""

    month: str
    customers: int
    returning: int

    @property
    def rate(self) -> float | None:
        return ratio(self.returning, self.customers)


@dataclass(frozen=True, slots=True)
class Baseline:
    """Follow-ups due whose window has closed, that nobody worked and whose customer had no
    touch within the window before or after the due day; frequency-capped follow-ups (their
    customer had just been touched) are left out and counted in ``capped``.
    """

    follow_ups: int
    capped: int
    converted: int
    revenue: float

    @property
    def conversion(self) -> float | None:
        return ratio(self.converted, self.follow_ups)

    @property
    def conversion_interval(self) -> Interval | None:
        return wilson(self.converted, self.follow_ups)


@dataclass(frozen=True, slots=True)
class Maturing:
    """Touches and baseline follow-ups whose window has not closed yet (not counted above).

    ``converted`` counts the touches followed by an order so far (up to today).
    """

    touches: int = 0
    converted: int = 0
    follow_ups: int = 0


@dataclass(frozen=True, slots=True)
class Attribution:
    window_days: int
    total: AttributionRow
    baseline: Baseline
    by_stage: tuple[AttributionRow, ...]
    by_phrase: tuple[AttributionRow, ...]
    by_agent: tuple[AttributionRow, ...]
    baseline_by_stage: dict[str, Baseline] = field(default_factory=dict)
    maturing: Maturing = field(default_factory=Maturing)


@dataclass(frozen=True, slots=True)
class ShopStats:
    """Everything ``tui-agent stats`` and the console's stats screen show."""

    period: Period
    today: date
    customers: int
    orders: int
    revenue: float
    repurchase: Repurchase
    avg_gap_days: float | None
    ltv: LtvFigures
    cohorts: tuple[CohortRow, ...]
    by_category: tuple[CategoryRow, ...] | None  # None: not computed (see shop_stats)
    by_segment: tuple[SegmentRow, ...]
    attribution: Attribution
    by_month: tuple[MonthRepurchase, ...] = ()
    outcomes: Outcomes = field(default_factory=Outcomes)

    @property
    def repurchase_rate(self) -> float | None:
        return self.repurchase.rate


@dataclass(frozen=True, slots=True)
class DailySeries:
    """Per-day counts for small charts, plus conversion per stage."""

    days: tuple[date, ...]
    touches: tuple[int, ...]
    repurchases: tuple[int, ...]  # orders that were a customer's 2nd or later
    stage_conversion: tuple[tuple[str, float | None], ...]


def _r(x: float | None, digits: int = 4) -> float | None:
    return None if x is None else round(x, digits)


def _outcome_row(row: OutcomeRow) -> dict[str, Any]:
    return {
        "key": row.key,
        "touches": row.touches,
        "recorded": row.recorded,
        **{k: row.counts.get(k, 0) for k in OUTCOME_KINDS},
        "reply_rate": _r(row.rate("replied")),
        "reply_rate_ci95": _interval(wilson(row.counts.get("replied", 0), row.recorded)),
        "problem_rate": _r(row.rate("problem")),
        "problem_rate_ci95": _interval(wilson(row.counts.get("problem", 0), row.recorded)),
    }


def _interval(ci: Interval | None, digits: int = 4) -> list[float] | None:
    return None if ci is None else [round(ci.low, digits), round(ci.high, digits)]


def _attr_row(row: AttributionRow) -> dict[str, Any]:
    lift_ci = row.lift_interval
    return {
        "key": row.key,
        "touches": row.touches,
        "converted": row.converted,
        "conversion": _r(row.conversion),
        "revenue": round(row.revenue, 2),
        "baseline_conversion": _r(row.baseline_conversion),
        "lift_pp": _r(row.lift_pp, 2),
        "lift_is_clear": row.lift_is_clear,
        "conversion_ci95": _interval(row.conversion_interval),
        "lift_pp_ci95": None
        if lift_ci is None
        else [round(lift_ci.low * 100, 2), round(lift_ci.high * 100, 2)],
        "baseline_follow_ups": row.baseline_follow_ups,
        "too_thin": row.too_thin,
    }


def _baseline(b: Baseline) -> dict[str, Any]:
    return {
        "follow_ups": b.follow_ups,
        "capped": b.capped,
        "converted": b.converted,
        "conversion": _r(b.conversion),
        "conversion_ci95": _interval(b.conversion_interval),
        "revenue": round(b.revenue, 2),
    }


def stats_to_dict(s: ShopStats) -> dict[str, Any]:
    """The stable JSON form of :class:`ShopStats` (keys are part of the CLI's contract)."""
    ltv = s.ltv
    a = s.attribution
    return {
        "period": {
            "from": s.period.start.isoformat() if s.period.start else None,
            "to": s.period.end.isoformat(),
        },
        "today": s.today.isoformat(),
        "customers": s.customers,
        "orders": s.orders,
        "revenue": round(s.revenue, 2),
        "repeat_customers": s.repurchase.repeat_customers,
        "repurchase_rate": _r(s.repurchase_rate),
        "repurchase_rate_ci95": _interval(
            wilson(s.repurchase.repeat_customers, s.repurchase.customers)
        ),
        "avg_gap_days": _r(s.avg_gap_days, 2),
        "ltv": {
            "value": round(ltv.value, 2),
            "average_order_value": round(ltv.average_order_value, 2),
            "orders_per_year": round(ltv.orders_per_year, 4),
            "lifetime_years": round(ltv.lifetime_years, 4),
            "lifetime_source": ltv.lifetime_source,
            "estimated_lifetime_years": _r(ltv.estimated_lifetime_years),
            "estimate": {
                "base": ltv.estimate_base,
                "retained": ltv.estimate_retained,
                "window_days": ltv.estimate_window_days,
            },
            "window": {"from": ltv.window_start.isoformat(), "to": ltv.window_end.isoformat()},
            "lifetime_ci95": None
            if ltv.lifetime_interval is None
            else [round(x, 4) for x in ltv.lifetime_interval],
            "orders_per_year_customers": ltv.orders_per_year_customers,
            "notes": list(ltv.notes),
        },
        "cohorts": [
            {
                "month": c.month,
                "customers": c.customers,
                **{f"repeat_{d}d": c.repeat[i] for i, d in enumerate(COHORT_DAYS)},
                **{f"rate_{d}d": _r(c.rates[i]) for i, d in enumerate(COHORT_DAYS)},
                **{
                    f"rate_{d}d_ci95": None
                    if c.rates[i] is None
                    else _interval(wilson(c.repeat[i], c.customers))
                    for i, d in enumerate(COHORT_DAYS)
                },
            }
            for c in s.cohorts
        ],
        "categories": None
        if s.by_category is None
        else [
            {
                "category": c.category,
                "customers": c.customers,
                "repeat_customers": c.repeat_customers,
                "repurchase_rate": _r(c.rate),
                "repurchase_rate_ci95": _interval(wilson(c.repeat_customers, c.customers)),
                "avg_gap_days": _r(c.avg_gap_days, 2),
            }
            for c in s.by_category
        ],
        "segments": [
            {
                "segment": g.segment.value,
                "label": g.segment.label,
                "label_zh": g.segment.label_zh,
                "customers": g.customers,
                "monetary": round(g.monetary, 2),
                "period_customers": g.period_customers,
                "period_repeat_customers": g.period_repeat_customers,
                "repurchase_rate": _r(g.rate),
                "repurchase_rate_ci95": _interval(
                    wilson(g.period_repeat_customers, g.period_customers)
                ),
            }
            for g in s.by_segment
        ],
        "repurchase_by_month": [
            {
                "month": m.month,
                "customers": m.customers,
                "returning": m.returning,
                "rate": _r(m.rate),
                "rate_ci95": _interval(wilson(m.returning, m.customers)),
            }
            for m in s.by_month
        ],
        "outcomes": {
            "source": s.outcomes.source,
            "by_stage": [_outcome_row(r) for r in s.outcomes.by_stage],
            "by_phrase": [_outcome_row(r) for r in s.outcomes.by_phrase],
            "by_agent": [_outcome_row(r) for r in s.outcomes.by_agent],
        },
        "attribution": {
            "window_days": a.window_days,
            "total": _attr_row(a.total),
            "baseline": _baseline(a.baseline),
            "baseline_by_stage": {k: _baseline(v) for k, v in sorted(a.baseline_by_stage.items())},
            "by_stage": [_attr_row(r) for r in a.by_stage],
            "by_phrase": [_attr_row(r) for r in a.by_phrase],
            "by_agent": [_attr_row(r) for r in a.by_agent],
            "maturing": {
                "touches": a.maturing.touches,
                "converted_so_far": a.maturing.converted,
                "follow_ups": a.maturing.follow_ups,
            },
        },
    }
