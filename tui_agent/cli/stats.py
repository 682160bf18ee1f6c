"""``tui-agent stats`` and ``tui-agent export``: what the shop learns, for people and scripts."""

from __future__ import annotations

import csv
import sqlite3
from datetime import date
from pathlib import Path
from typing import Any

import click

from tui_agent.cli.common import DATE, UserError, db_option, echo_json, open_database
from tui_agent.cli.common import today as cli_today
from tui_agent.core import metrics as mt
from tui_agent.core.export import private_file, safe_cell
from tui_agent.core.intervals import Interval
from tui_agent.core.safetext import visible
from tui_agent.store import analytics


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x * 100:.1f}%"


def _num(x: float | None, digits: int = 1) -> str:
    return "-" if x is None else f"{x:,.{digits}f}"


def _lift(x: float | None) -> str:
    return "-" if x is None else f"{x:+.1f} pp"


@click.command("stats")
@click.option("--from", "start", type=DATE, default=None, help="First day (default: all history).")
@click.option("--to", "end", type=DATE, default=None, help="Last day (default: today).")
@click.option("--json", "as_json", is_flag=True, help="Print stable JSON for scripts.")
@click.option(
    "--lifetime-years",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Customer lifetime for LTV (default: estimated from the data, else 3).",
)
@click.option(
    "--window-days",
    type=click.IntRange(min=1),
    default=mt.DEFAULT_WINDOW_DAYS,
    show_default=True,
    help="Attribution window: an order within N days after a touch counts for it.",
)
@click.option(
    "--categories",
    is_flag=True,
    help="Also break repurchase down by category (reads every order line: slower).",
)
@click.option(
    "--refresh-model",
    is_flag=True,
    help="Refit the BTYD predictions (P(alive), expected orders, CLV) on today's orders first.",
)
@db_option
def stats_cmd(
    start: date | None,
    end: date | None,
    as_json: bool,
    lifetime_years: float | None,
    window_days: int,
    categories: bool,
    refresh_model: bool,
    db_path: Path | None,
) -> None:
    """Repurchase rate, LTV, RFM segments, cohorts and which touches brought customers back.

    Figures are computed from orders, touches and follow-ups over the period --from..--to
    (inclusive). Segments are RFM scores as of today (--today on the main command). The
    BTYD predictions are fitted on the first run and cached; --refresh-model refits them
    (the console refits in the background when the orders or the day change).
    """
    from tui_agent.store import predictions

    today = cli_today()
    until = f"--to {end}" if end else f"today ({today})"
    end = end or today
    if start is not None and start > end:
        raise click.UsageError(f"--from {start} is after {until}")
    db = open_database(db_path, create=False)
    from tui_agent.store.order_status import excluded_counts

    fit_first = refresh_model or predictions.model_summary(db) is None
    s = analytics.shop_stats(
        db,
        start,
        end,
        today,
        lifetime_years=lifetime_years,
        window_days=window_days,
        categories=categories,
    )
    left_out = excluded_counts(db, start, end)  # no purchase: never in the figures above
    clv_error = None
    if not fit_first:
        clv = predictions.clv_summary(db, today)
    else:
        try:
            predictions.refresh(db, today)
            if not analytics.stored_segments_current(db, today):
                # Stored with the fit, as the console's background refresh does: later runs
                # read each customer's scores instead of scoring everyone.
                analytics.refresh_segments(db, today)
        except sqlite3.OperationalError as exc:  # read-only or busy: the figures still print
            clv_error = f"could not store the fit ({exc})"
        clv = predictions.clv_summary(db, today)
    if clv_error:
        clv["missing"] = [*clv.get("missing", []), clv_error]
    if as_json:
        echo_json(mt.stats_to_dict(s) | {"orders_left_out": left_out, "clv": clv}, sort_keys=True)
        return
    _print_tables(s, clv)
    partly = left_out.pop("partially_refunded", 0)
    if left_out:
        why = ", ".join(f"{n} {status}" for status, n in sorted(left_out.items()))
        click.echo(f"{sum(left_out.values())} orders left out of every figure: {why}")
    if partly:
        click.echo(f"{partly} partly refunded orders counted at their amount after the refund")


def _ci(low_high: tuple[float, float] | None, scale: float = 100.0, unit: str = "%") -> str:
    if low_high is None:
        return "-"
    return f"{low_high[0] * scale:.1f}-{low_high[1] * scale:.1f}{unit}"


def _pair(ci: Interval | None) -> tuple[float, float] | None:
    return None if ci is None else (ci.low, ci.high)


def _print_tables(s: mt.ShopStats, clv: dict[str, Any]) -> None:
    # rich is imported here, not at the top: --json and every other command skip its cost.
    from rich.console import Console
    from rich.table import Table

    console = Console()
    since = s.period.start.isoformat() if s.period.start else "first order"
    t = Table(title=f"Shop figures {since} .. {s.period.end}", show_header=False)
    t.add_column("figure")
    t.add_column("value", justify="right")
    t.add_row("customers who ordered", f"{s.customers:,}")
    t.add_row("orders", f"{s.orders:,}")
    t.add_row("revenue", _num(s.revenue, 2))
    t.add_row("customers with 2+ orders", f"{s.repurchase.repeat_customers:,}")
    t.add_row("repurchase rate", _pct(s.repurchase_rate))
    t.add_row("average days between orders", _num(s.avg_gap_days))
    ltv = s.ltv
    t.add_row(
        "LTV",
        f"{ltv.average_order_value:,.2f} x {ltv.orders_per_year:.2f}/yr x "
        f"{ltv.lifetime_years:.2f} yr ({ltv.lifetime_source}) = {ltv.value:,.2f}",
    )
    if ltv.estimated_lifetime_years is not None:
        t.add_row(
            "lifetime estimate",
            f"{ltv.estimate_retained}/{ltv.estimate_base} retained over "
            f"{ltv.estimate_window_days} d -> {ltv.estimated_lifetime_years:.2f} yr"
            f" (95%: {_ci(ltv.lifetime_interval, 1, ' yr')})",
        )
    for note in ltv.notes:
        t.add_row("note", note)
    if clv.get("fitted"):
        t.add_row(
            "BTYD (BG/NBD)",
            f"r {clv['r']:.4g}, alpha {clv['alpha']:.4g} d, a {clv['a']:.4g}, b {clv['b']:.4g}"
            + (" (stale: --refresh-model)" if clv.get("stale") else ""),
        )
        t.add_row("mean P(alive)", _pct(clv.get("mean_p_alive")))
        t.add_row("expected orders, next 365 d", f"{clv['expected_orders_365d']:,.1f}")
        t.add_row("expected value, next 365 d", f"{clv['clv_365d_total']:,.2f}")
    else:
        missing = clv.get("missing") or []
        t.add_row("BTYD predictions", "not fitted: " + "; ".join(map(str, missing)))
    console.print(t)

    seg = Table(title="RFM segments (as of today)")
    seg.add_column("segment")
    seg.add_column("客群")
    seg.add_column("customers", justify="right")
    seg.add_column("repurchase in period", justify="right")
    for g in s.by_segment:
        seg.add_row(g.segment.label, g.segment.label_zh, f"{g.customers:,}", _pct(g.rate))
    console.print(seg)

    if s.cohorts:
        co = Table(title="First-order cohorts: bought again within")
        co.add_column("month")
        co.add_column("customers", justify="right")
        for d in mt.COHORT_DAYS:
            co.add_column(f"{d} d", justify="right")
        for cohort in s.cohorts:
            co.add_row(cohort.month, f"{cohort.customers:,}", *(_pct(r) for r in cohort.rates))
        console.print(co)

    if s.by_category:
        ca = Table(title="Categories")
        for col in ("category", "customers", "repurchase", "days between orders"):
            ca.add_column(col, justify="left" if col == "category" else "right")
        for c in s.by_category[:20]:
            ca.add_row(visible(c.category), f"{c.customers:,}", _pct(c.rate), _num(c.avg_gap_days))
        console.print(ca)

    a = s.attribution
    b = a.baseline
    console.print(
        f"Attribution window {a.window_days} d, windows closed by today only. Baseline (due, "
        f"skipped, no touch within {a.window_days} d): {b.follow_ups} follow-ups, "
        f"{_pct(b.conversion)} ordered (95%: {_ci(_pair(b.conversion_interval))}); "
        f"{b.capped} capped follow-ups left out. Maturing: {a.maturing.touches} touches "
        f"({a.maturing.converted} ordered so far)."
    )
    for title, rows in (("stage", a.by_stage), ("phrase", a.by_phrase), ("agent", a.by_agent)):
        if not rows:
            continue
        at = Table(title=f"Touches by {title}")
        cols = (title, "touches", "ordered", "conversion", "95%", "baseline", "lift", "lift 95%")
        for col in (*cols, "revenue"):
            at.add_column(col, justify="left" if col == title else "right")
        for r in rows[:20]:
            lift_ci = _pair(r.lift_interval)
            at.add_row(
                visible(r.key),
                f"{r.touches:,}",
                f"{r.converted:,}",
                _pct(r.conversion),
                _ci(_pair(r.conversion_interval)),
                _pct(r.baseline_conversion),
                _lift(r.lift_pp),
                ("too thin" if r.too_thin else _ci(lift_ci, 100.0, " pp")),
                _num(r.revenue, 2),
            )
        console.print(at)
    o = s.outcomes
    if any(out.recorded for out in o.by_stage):
        ot = Table(title=f"Outcomes recorded by agents, by stage ({o.source})")
        ot.add_column("stage")
        for col in ("touches", "recorded", *mt.OUTCOME_KINDS):
            ot.add_column(col.replace("_", " "), justify="right")
        for out in o.by_stage:
            ot.add_row(
                out.key, f"{out.touches:,}", f"{out.recorded:,}",
                *(f"{out.counts.get(k, 0):,}" for k in mt.OUTCOME_KINDS),
            )  # fmt: skip
        console.print(ot)
    console.print(
        "Phrases are ranked by conversion only where the lift's 95% interval excludes 0 "
        "and the group is not too thin; the rest follow by number of touches."
    )


@click.command("export")
@click.argument("kind", type=click.Choice(analytics.EXPORT_KINDS))
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@db_option
def export_cmd(kind: str, file: Path, db_path: Path | None) -> None:
    """Write touches, customers (with RFM segment) or segments to FILE.csv.

    touches: one row per touch with its latest outcome and `retracted` (1: taken back with
    undo); customers: RFM scores, segment and the BTYD predictions once fitted.

    UTF-8 with a BOM so Excel (also Chinese Excel) reads it right; text cells that a
    spreadsheet would run as a formula (= + - @) get a leading apostrophe.
    """
    db = open_database(db_path, create=False)
    header, rows = analytics.export_rows(db, kind, cli_today())
    count = 0
    try:
        # Customer data: owner-only whatever the umask (also when the file exists).
        with private_file(file, encoding="utf-8-sig") as fh:
            writer = csv.writer(fh)
            writer.writerow(header)
            for row in rows:
                writer.writerow([safe_cell(v) for v in row])
                count += 1
    except OSError as exc:
        raise UserError(f"{file}: {exc.strerror or exc}") from None
    click.echo(f"{count} {kind} rows written to {file}")
