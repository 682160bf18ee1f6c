"""Today's progress, touches per stage and agent, and the shop's figures as pictures (key d).

Pictures: touches and repurchases per day (Textual's Sparkline); the repurchase rate by month
(a line), segment sizes (bars) and touches and conversions per stage (grouped bars), drawn
with textual-plotext; the cohort retention table as a heat map (cells shaded by their rate).
textual-plotext is imported only when the shop figures arrive on this screen (about 15-50 ms
and 2 MB), so the console's first paint never pays for it.
"""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Sparkline, Static

from tui_agent.core.metrics import COHORT_DAYS, DailySeries, ShopStats
from tui_agent.core.models import Stage
from tui_agent.session import QueueState, Session, ShopFigures
from tui_agent.store.campaigns import Summary
from tui_agent.store.worklog import DayWork


def _stage_name(value: str) -> str:
    try:
        return f"{Stage(value).label_zh} {Stage(value).label}"
    except ValueError:
        return value


def _heat_style(rate: float) -> str:
    """A background from dark (0%) to bright green (the cohort's best) for the heat map."""
    level = max(0.0, min(1.0, rate))
    g = int(60 + 170 * level)
    r = b = int(30 + 40 * level)
    fg = "black" if level > 0.5 else "white"
    return f"{fg} on rgb({r},{g},{b})"


def cohort_heat_map(s: ShopStats) -> Table:
    """First-order cohorts x days to the 2nd order, each cell shaded by its rate (— while the
    cohort is too young to tell). Shades are relative to the best cell shown."""
    table = Table(
        box=None,
        title="\n留存 cohorts: bought again within N days of the first order",
        title_justify="left",
    )
    table.add_column("first order")
    table.add_column("customers", justify="right")
    for d in COHORT_DAYS:
        table.add_column(f"{d} d", justify="right")
    shown = s.cohorts[-12:]
    best = max((r for c in shown for r in c.rates if r is not None), default=0.0) or 1.0
    for c in shown:
        cells = [
            Text("—", style="dim") if r is None else Text(f"{r:5.1%}", style=_heat_style(r / best))
            for r in c.rates
        ]
        table.add_row(c.month, f"{c.customers:,}", *cells)
    return table


class StatsScreen(Screen[None]):
    """A second screen with the day's figures; refreshed each time it is shown."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,d", "app.pop_screen", "Back", id="stats.back"),
        Binding("r", "refresh_stats", "Refresh", id="stats.refresh"),
    ]

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="stats"):
            yield Static("Loading…", id="stats-body")
            yield Static("", id="stats-shop")
            yield Static("", id="touches-title", classes="chart-title")
            yield Sparkline([], id="touches-chart", classes="chart")
            yield Static("", id="repurchases-title", classes="chart-title")
            yield Sparkline([], id="repurchases-chart", classes="chart")
            yield Static("", id="stage-conversion")
            yield Static("", id="stats-campaigns")
            yield Static("", id="cohort-heat")
            yield Vertical(id="plots")
        yield Footer()

    def on_mount(self) -> None:
        self.title = f"今日统计 · {self.session.today}"
        self.action_refresh_stats()

    def on_screen_resume(self) -> None:
        self.action_refresh_stats()

    def action_refresh_stats(self) -> None:
        self.load()
        self.load_shop()
        self.load_series()
        self.load_campaigns()

    @work(thread=True, exclusive=True, group="campaigns")
    def load_campaigns(self) -> None:
        """Running campaigns: progress and conversion so far against their holdout."""
        summaries = self.session.campaigns()
        self.app.call_from_thread(self._show_campaigns, summaries)

    def _show_campaigns(self, summaries: list[Summary]) -> None:
        table = Table(box=None, title="\n营销活动 running campaigns", title_justify="left")
        for col in ("campaign", "status", "done", "capped", "converted", "holdout", "lift"):
            table.add_column(col, justify="left" if col in ("campaign", "status") else "right")
        for s in summaries:
            r, n = s.report, s.counts
            rate, hold, lift = r.contacted.rate, r.holdout.rate, r.lift
            table.add_row(
                Text(s.name),
                s.status,
                f"{n['done']}/{n['contact'] - n['opted_out']}",
                str(n["capped"]),
                "—" if rate is None else f"{rate.value:.0%}",
                "—" if hold is None else f"{hold.value:.0%}",
                "—"
                if lift is None
                else f"{lift.value * 100:+.0f} pp [{lift.low * 100:+.0f}, {lift.high * 100:+.0f}]",
            )
        self.query_one("#stats-campaigns", Static).update(table if summaries else "")

    @work(thread=True, exclusive=True, group="series")
    def load_series(self) -> None:
        try:
            series = self.session.daily_series()
        except Exception as exc:  # the charts are extras: never crash the screen
            self.app.call_from_thread(self._shop_note, f"charts unavailable: {exc}")
            return
        self.app.call_from_thread(self._show_series, series)

    def _show_series(self, s: DailySeries) -> None:
        span = f"{s.days[0]:%m-%d} .. {s.days[-1]:%m-%d}" if s.days else ""
        self.query_one("#touches-title", Static).update(
            f"联系 touches per day, {span}: {sum(s.touches)} (max {max(s.touches, default=0)})"
        )
        self.query_one("#touches-chart", Sparkline).data = list(s.touches)
        self.query_one("#repurchases-title", Static).update(
            f"复购 repurchases per day (2nd+ orders): {sum(s.repurchases)}"
            f" (max {max(s.repurchases, default=0)})"
        )
        self.query_one("#repurchases-chart", Sparkline).data = list(s.repurchases)
        bars = Table(
            box=None,
            title="\n转化 conversion per stage (ordered within 14 days)",
            title_justify="left",
        )
        bars.add_column("stage")
        bars.add_column("")
        bars.add_column("", justify="right")
        for stage, rate in s.stage_conversion:
            if rate is None:
                bars.add_row(_stage_name(stage), "", "—")
            else:
                bars.add_row(_stage_name(stage), "█" * max(1, round(rate * 30)), f"{rate:.0%}")
        self.query_one("#stage-conversion", Static).update(bars)

    @work(thread=True, exclusive=True, group="shop-stats")
    def load_shop(self) -> None:
        """Shop-wide figures take seconds on a big shop: they arrive after today's counts."""
        self.app.call_from_thread(self._shop_note, "computing shop figures…")
        try:
            figures = self.session.shop_figures()
        except Exception as exc:  # analytics is another module's work: never crash the screen
            self.app.call_from_thread(self._shop_note, f"shop figures unavailable: {exc}")
            return
        self.app.call_from_thread(self._show_shop, figures)

    def _shop_note(self, text: str) -> None:
        self.query_one("#stats-shop", Static).update(Text(text, style="dim"))

    def _show_shop(self, f: ShopFigures) -> None:
        table = Table(box=None, title="\n店铺 shop, last 365 days", title_justify="left")
        table.add_column("")
        table.add_column("", justify="right")
        rate = "—" if f.repurchase_rate is None else f"{f.repurchase_rate:.1%}"
        table.add_row("repurchase rate 复购率", f"{rate} ({f.repeat_customers}/{f.customers})")
        table.add_row(
            "LTV",
            f"¥{f.ltv:,.0f} = ¥{f.average_order_value:,.0f} x {f.orders_per_year:.1f}/yr"
            f" x {f.lifetime_years:.1f} yr",
        )
        clv = f.clv or {}
        if clv.get("fitted"):
            alive = clv.get("mean_p_alive")
            table.add_row("mean P(alive) 活跃概率", "—" if alive is None else f"{alive:.0%}")
            table.add_row("expected orders, 365 d", f"{clv.get('expected_orders_365d', 0):,.0f}")
            table.add_row("expected value, 365 d", f"¥{clv.get('clv_365d_total', 0):,.0f}")
        elif clv:
            table.add_row("predictions", "not fitted: " + "; ".join(clv.get("missing", [])))
        segments = Table(box=None, title="segments (RFM)", title_justify="left")
        segments.add_column("segment")
        segments.add_column("customers", justify="right")
        for name, n in f.segments:
            segments.add_row(name, f"{n:,}")
        grid = Table.grid(padding=(0, 4))
        grid.add_row(table, segments)
        self.query_one("#stats-shop", Static).update(grid)
        if f.stats is not None:
            self.query_one("#cohort-heat", Static).update(cohort_heat_map(f.stats))
            self._show_plots(f.stats)

    def _show_plots(self, s: ShopStats) -> None:
        from textual_plotext import PlotextPlot  # only here: the first paint never imports it

        box = self.query_one("#plots", Vertical)

        def plot(widget_id: str) -> PlotextPlot:
            """The chart with this id, created the first time; its figure cleared."""
            found = box.query(f"#{widget_id}")
            widget = found.first(PlotextPlot) if found else None
            if widget is None:
                widget = PlotextPlot(id=widget_id, classes="plot")
                box.mount(widget)
            widget.plt.clear_figure()
            widget.refresh()
            return widget

        months = [m for m in s.by_month if m.rate is not None]
        if months:
            p = plot("repurchase-line").plt
            xs: list[float] = list(range(len(months)))
            p.plot(xs, [100 * (m.rate or 0.0) for m in months], marker="braille")
            step = max(1, len(months) // 6)
            p.xticks(xs[::step], [m.month for m in months][::step])
            p.ylim(0, 100)
            p.title(
                "复购率 repurchase rate by month, % (customers ordering who had ordered before)"
            )
        segs = [(g.segment.label, g.customers) for g in s.by_segment if g.customers]
        if segs:
            p = plot("segment-bars").plt
            p.bar([n for n, _ in segs], [c for _, c in segs], orientation="horizontal")
            p.title("客群 RFM segments: customers (as of today)")
        stages = s.attribution.by_stage
        if stages:
            p = plot("stage-bars").plt
            p.multiple_bar(
                [r.key for r in stages],
                [[r.touches for r in stages], [r.converted for r in stages]],
                labels=["touches", "ordered within the window"],  # type: ignore[call-arg]
            )  # (textual-plotext's stub says label=, plotext itself takes labels=)
            p.title(f"联系与转化 touches and conversions per stage ({s.attribution.window_days} d)")

    @work(thread=True, exclusive=True, group="stats")
    def load(self) -> None:
        work_done = self.session.day_work()
        queue = self.session.queue()
        self.app.call_from_thread(self._show, work_done, queue)

    def _show(self, work_done: DayWork, queue: QueueState) -> None:
        body = Table.grid(padding=(0, 4))
        body.add_column()
        body.add_column()
        pct = (100 * queue.done // queue.total) if queue.total else 100
        progress = Table(box=None, title="今日进度 progress", title_justify="left")
        progress.add_column("")
        progress.add_column("", justify="right")
        progress.add_row("worked", str(queue.done))  # touched, skipped, snoozed, opted out
        progress.add_row("left", str(queue.total - queue.done))
        progress.add_row("due today", str(queue.total))
        progress.add_row("", f"{pct}%")
        touches = Table(
            box=None, title=f"今日联系 touches: {work_done.total}", title_justify="left"
        )
        touches.add_column("stage")
        touches.add_column("n", justify="right")
        for stage, n in work_done.by_stage:
            touches.add_row(_stage_name(stage), str(n))
        agents = Table(box=None, title="by agent", title_justify="left")
        agents.add_column("agent")
        agents.add_column("n", justify="right")
        for agent, n in work_done.by_agent:
            agents.add_row(agent, str(n))
        body.add_row(progress, touches)
        body.add_row("", agents)
        self.query_one("#stats-body", Static).update(body)
