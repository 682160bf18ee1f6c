"""Find any customer, read their whole page, and work them now (a reply just came in).

The page is the store's :class:`CustomerPage` (every order, every touch with its outcome, open
follow-ups, segment, tier, points, tags, notes). Working from here logs a touch that is a
reply by default (``t`` switches to a proactive touch); the frequency cap shows as a warning
for a reply and blocks a proactive touch, as the store decides.
"""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING, ClassVar

from rich.console import Group, RenderableType
from rich.markup import escape
from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Footer, Input, OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import get_current_worker

from tui_agent.core import clipboard
from tui_agent.core.customer_page import (
    CustomerHit,
    CustomerPage,
    Outcome,
    prediction_line,
    printable,
)
from tui_agent.core.phrases import Phrase
from tui_agent.core.privacy import mask_phone
from tui_agent.core.segments import Segment
from tui_agent.messages import PhraseChosen, PhraseHighlighted, TouchLogged
from tui_agent.phrasing import Filled
from tui_agent.screens.modals import MissingValuesForm, _Dialog
from tui_agent.screens.touch_actions import TouchActionsScreen
from tui_agent.session import CapBlocked, Session
from tui_agent.store.outcomes import DeskError, Undone
from tui_agent.widgets.phrase_search import PhraseSearch
from tui_agent.widgets.preview import Preview

if TYPE_CHECKING:
    from tui_agent.app import ConsoleApp


class FindCustomer(_Dialog):
    """Type a name, pinyin or initials, a phone (or its last 4 digits), a customer or WeChat
    id; enter opens the highlighted customer. Dismisses with the customer id."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="find.cancel"),
        Binding("down", "move(1)", "Next", show=False, id="find.down"),
        Binding("up", "move(-1)", "Previous", show=False, id="find.up"),
    ]

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session
        self.hits: list[CustomerHit] = []

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="find-form"):
            yield Static("[b]找客户 Find a customer[/b] — name, 拼音, phone or its last 4, id")
            yield Input(placeholder="e.g. 5678 / wangxm / wxm / C001", id="find-query")
            yield OptionList(id="find-results")
            yield Static("", id="find-note")

    def action_move(self, step: int) -> None:
        results = self.query_one(OptionList)
        results.action_cursor_down() if step > 0 else results.action_cursor_up()

    @on(Input.Changed, "#find-query")
    def _changed(self, event: Input.Changed) -> None:
        self.search(event.value)

    @work(thread=True, exclusive=True, group="find")
    def search(self, query: str) -> None:
        try:
            hits = self.session.find(query) if query.strip() else []
        except sqlite3.Error as exc:
            self.app.call_from_thread(self._note, f"[red]database busy: {escape(str(exc))}[/]")
            return
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._show, query, hits)

    def _note(self, text: str) -> None:
        self.query_one("#find-note", Static).update(text)

    def _show(self, query: str, hits: list[CustomerHit]) -> None:
        self.hits = hits
        results = self.query_one(OptionList)
        results.clear_options()
        for hit in hits:
            line = Text(printable(hit.name) or hit.customer_id, style="bold")
            line.append(f"  {hit.customer_id}  {mask_phone(hit.phone) or '—'}", style="dim")
            if hit.tier:
                line.append(f"  {printable(hit.tier)}")
            line.append(f"  {hit.order_count} 单", style="dim")
            if hit.opt_out:
                line.append("  不再联系", style="bold red")
            line.append(f"  ({hit.matched})", style="dim cyan")
            results.add_option(Option(line, id=hit.customer_id))
        if hits:
            results.highlighted = 0
        self._note(f"{len(hits)} found" if query.strip() else "")

    @on(Input.Submitted, "#find-query")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        index = self.query_one(OptionList).highlighted
        if index is None or not (0 <= index < len(self.hits)):
            self._note("[red]No customer matches; nothing opened.[/]")
            return
        self.dismiss(self.hits[index].customer_id)

    @on(OptionList.OptionSelected, "#find-results")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)


def render_page(page: CustomerPage, *, show_phone: bool = False) -> RenderableType:
    """The whole customer page as one renderable (the screen scrolls it)."""
    c = page.customer
    head = Table.grid(padding=(0, 1))
    head.add_column(style="dim", no_wrap=True)
    head.add_column()
    name = Text(printable(c.name) or c.customer_id, style="bold")
    name.append(f"  {c.customer_id}", style="dim")
    if c.opt_out:
        name.append("  不再联系 opted out", style="bold red")
    head.add_row("客户", name)
    phone = printable(c.phone) if show_phone else (mask_phone(c.phone) or "—")
    head.add_row("电话", Text(phone or "—") + Text("  (p)", style="dim"))
    if c.wechat:
        head.add_row("微信", Text(printable(c.wechat)))
    points = f" · {c.points} 分" if c.points is not None else ""
    head.add_row("会员", Text(f"{printable(c.tier) or '—'}{points}"))
    birthday = c.birthday_label()
    if birthday:
        head.add_row("生日", Text(printable(birthday)))
    segment = "—"
    if page.segment:
        try:
            seg = Segment(page.segment)
            segment = f"{seg.label_zh} {seg.label}"
        except ValueError:
            segment = page.segment
    head.add_row("分群", Text(segment))
    head.add_row("标签", Text(", ".join(printable(t) for t in c.tags) or "—"))
    head.add_row("订单", Text(f"{c.order_count} 单 · ¥{c.total_spent:,.0f}"))
    forecast = prediction_line(page.predictions, page.prediction_missing)
    head.add_row("预测", Text(forecast, style="dim" if page.predictions is None else ""))
    if page.notes:
        head.add_row("备注", Text(printable(page.notes, newlines=True)))
    parts: list[RenderableType] = [head]

    parts.append(Text("\n待跟进 open follow-ups", style="bold"))
    if page.follow_ups:
        for f in page.follow_ups:
            reason = f.reasons[0].text if f.reasons else f.rule
            parts.append(Text(f"  {f.stage.label_zh} · {printable(reason)} · {f.status}"))
    else:
        parts.append(Text("  —", style="dim"))

    parts.append(Text("\n联系记录 touches (latest first)", style="bold"))
    if not page.touches:
        parts.append(Text("  没有联系记录 no touches yet", style="dim"))
    for rec in page.touches:
        t = rec.touch
        line = Text(f"  #{t.id} {t.at:%Y-%m-%d %H:%M} {t.agent}", style="dim")
        line.append(" 回复 reply" if rec.reply else " 主动 proactive", style="cyan")
        if rec.outcome is not None:
            line.append(f"  → {rec.outcome.label_zh} {rec.outcome.label}", style="green")
            if rec.outcome_note:
                line.append(f" ({printable(rec.outcome_note)})")
        if rec.retraction is not None:
            r = rec.retraction
            why = f": {printable(r.note)}" if r.note else ""
            line.append(f"  撤回 retracted by {r.agent}{why}", style="bold red")
        parts.append(line)
        body = Text("    " + printable(t.text, newlines=True).replace("\n", "\n    "))
        if rec.retraction is not None:
            body.stylize("strike dim")
        parts.append(body)

    parts.append(Text("\n订单 orders (latest first)", style="bold"))
    if not page.orders:
        parts.append(Text("  —", style="dim"))
    for order in page.orders:
        delivered = f" 签收 {order.delivered_at:%Y-%m-%d}" if order.delivered_at else ""
        parts.append(
            Text(f"  {order.ordered_at:%Y-%m-%d} {order.order_id} ¥{order.amount:,.2f}{delivered}")
        )
        for line_ in order.lines:
            what = printable(line_.product or line_.sku or "?")
            parts.append(Text(f"      {what} ×{line_.quantity} ¥{line_.amount:,.2f}", style="dim"))
    return Group(*parts)


class CustomerScreen(TouchActionsScreen):
    """One customer's page, and working them now: phrase, fill, see, copy, log."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="customer.back"),
        Binding("slash", "focus_search", "Search", id="customer.search"),
        Binding("t", "toggle_reply", "Reply/proactive", id="customer.toggle_reply"),
        Binding("p", "toggle_phone", "Phone", show=False, id="customer.reveal_phone"),
        Binding("ctrl+y", "copy_and_log", "Copy+log", show=False, id="customer.copy_and_log"),
        Binding("r", "outcome", "Outcome", id="customer.record_outcome"),
        Binding("u", "undo", "Undo", id="customer.undo_touch"),
    ]

    WRITE_GROUP: ClassVar[str] = "customer-write"
    UNDO_REASON: ClassVar[str] = "undo on the customer page"

    def __init__(self, session: Session, customer_id: str) -> None:
        super().__init__()
        self.session = session
        self.customer_id = customer_id
        self.page: CustomerPage | None = None
        self.context: dict[str, object] = {}
        self.phrase: Phrase | None = None
        self.filled: Filled | None = None
        self.supplied: dict[str, str] = {}
        self.reply = True  # a reply to the customer's own message, by default
        self.show_phone = False
        self.cap_line = ""
        self.note = ""

    @property
    def console(self) -> ConsoleApp:
        from tui_agent.app import ConsoleApp

        assert isinstance(self.app, ConsoleApp)
        return self.app

    def compose(self) -> ComposeResult:
        with Horizontal(id="customer-body"):
            with VerticalScroll(id="customer-page", can_focus=True):
                yield Static("Loading…", id="customer-text")
            with Vertical(id="customer-work"):
                yield PhraseSearch(self.session.phrases, id="customer-phrases")
                yield Preview(id="customer-preview")
        yield Static("", id="customer-status")
        yield Footer()

    def on_mount(self) -> None:
        self.title = f"tui-agent · {self.session.agent} · customer {self.customer_id}"
        self.query_one("#customer-page").focus()
        self.load_page()

    @work(thread=True, exclusive=True, group="customer-page")
    def load_page(self) -> None:
        try:
            page = self.session.customer_page(self.customer_id, with_segment=False)
            context = self.session.customer_context(self.customer_id)
            cap = self.session.cap_status(self.customer_id, reply=self.reply)
        except (sqlite3.Error, DeskError) as exc:
            self.app.call_from_thread(self._status, f"[red]{escape(str(exc))}[/]")
            return
        self.app.call_from_thread(self._show_page, page, context, cap.level, cap.message)
        try:
            full = self.session.customer_page(self.customer_id)
        except sqlite3.Error:
            return
        if full is not None and not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._show_segment, full)

    def _show_page(
        self, page: CustomerPage | None, context: dict[str, object], level: str, why: str
    ) -> None:
        if page is None:
            self._status(f"[red]No customer {escape(self.customer_id)}.[/]")
            return
        first = self.page is None
        self.page = page
        self.context = context
        self.query_one("#customer-text", Static).update(
            render_page(page, show_phone=self.show_phone)
        )
        self._cap(level, why)
        if first:
            # The phrase that fits their next open follow-up, if any, leads the list.
            suggested = None
            if page.follow_ups:
                f = page.follow_ups[0]
                category = context.get("category")
                suggested = self.session.phrases.suggest(
                    f.stage,
                    f.suggested_tags,
                    page.customer.language,
                    category if isinstance(category, str) else None,
                )
            search = self.query_one(PhraseSearch)
            search.language = page.customer.language
            search.suggested = suggested
            search.preselect(suggested)

    def _show_segment(self, page: CustomerPage) -> None:
        if self.page is not None:
            self.page = page
            self.query_one("#customer-text", Static).update(
                render_page(page, show_phone=self.show_phone)
            )

    def _cap(self, level: str, why: str) -> None:
        kind = "reply 回复" if self.reply else "proactive 主动"
        if level == "ok":
            self.cap_line = f"{kind} · cap ok"
        elif level == "warn":
            self.cap_line = f"{kind} · [b yellow]⚠ {escape(why)}[/] (allowed: a reply)"
        else:
            self.cap_line = f"{kind} · [b red]✖ {escape(why)}[/] (t: log it as a reply)"
        self._status(self.note)  # a reload keeps the last confirmation

    def _status(self, text: str) -> None:
        self.note = text
        line = " │ ".join(p for p in (self.cap_line, text) if p)
        self.query_one("#customer-status", Static).update(line)

    # --- phrase, fill, copy -----------------------------------------------------------------

    @on(PhraseHighlighted)
    def _highlighted(self, event: PhraseHighlighted) -> None:
        event.stop()
        self.phrase = event.phrase
        self._refill()

    def _refill(self) -> None:
        if self.page is None or self.phrase is None:
            self.filled = None
        else:
            language = self.page.customer.language
            self.filled = self.session.phrases.fill(
                self.phrase, self.context, self.supplied, language
            )
        self.query_one(Preview).show(self.filled)

    @on(PhraseChosen)
    def _chosen(self, event: PhraseChosen) -> None:
        event.stop()
        if event.phrase is None:
            self.phrase = None
            self._refill()
            self._status("No phrase matches the search; nothing copied.")
            return
        self.phrase = event.phrase
        self._refill()
        self.action_copy_and_log()

    def action_copy_and_log(self) -> None:
        if self.page is None or self.phrase is None or self.filled is None:
            self._status("No phrase selected; nothing copied (/ to search).")
            return
        if self.filled.missing:
            helps = self.session.phrases.placeholder_help()
            self.app.push_screen(MissingValuesForm(self.filled.missing, helps), self._got_values)
            return
        self.send(self.filled.text, self.phrase.id, self.reply)

    def _got_values(self, values: object) -> None:
        if isinstance(values, dict):
            self.supplied.update(values)
            self._refill()
            self._status("Filled in: check the preview; [b]enter[/] copies and logs it.")

    @work(thread=True, group="customer-write")
    def send(self, text: str, phrase_id: str | None, reply: bool) -> None:
        try:
            touch_id = self.session.touch_customer(self.customer_id, text, phrase_id, reply=reply)
        except CapBlocked as exc:
            self.app.call_from_thread(self._status, f"[b red]Not copied:[/] {escape(str(exc))}")
            return
        except (sqlite3.Error, DeskError) as exc:
            self.app.call_from_thread(self._status, f"[b red]Not copied:[/] {escape(str(exc))}")
            return
        result = clipboard.copy_text(
            text,
            osc52=lambda t: self.app.call_from_thread(self.app.copy_to_clipboard, t),
            system=self.console.system_copy,
            tmux=clipboard.tmux_set_clipboard(),
        )
        name = self.page.customer.name if self.page else None
        kind = "reply" if reply else "proactive"
        note = escape(
            f"touch #{touch_id} ({kind}) logged for {name or self.customer_id} · "
            f"{result.describe()} · r outcome, u undo"
        )
        self.app.call_from_thread(self._after_write, note, touch_id, name or self.customer_id)

    def _after_write(self, note: str, touch_id: int, who: str) -> None:
        # The agent's last touch is the console's, whichever screen logged it (r and u).
        self.console.work_screen.last_touch = touch_id
        self.console.work_screen.last_touch_who = who
        self.app.post_message(TouchLogged(touch_id, 0))
        self.load_page()
        self._status(note)

    # --- other keys -------------------------------------------------------------------------

    def _touch_status(self, text: str) -> None:
        self._status(text)

    def _last_touch(self) -> tuple[int | None, str]:
        work_screen = self.console.work_screen
        return work_screen.last_touch, work_screen.last_touch_who

    def _outcome_recorded(self, touch_id: int, outcome: Outcome, note: str | None) -> None:
        self.app.call_from_thread(
            self._status, escape(f"Outcome recorded · touch #{touch_id}: {outcome.label}")
        )
        self.load_page()

    def _touch_undone(self, undone: Undone) -> None:
        self.app.call_from_thread(self._undone, undone.touch_id)
        self.load_page()

    def _undone(self, touch_id: int) -> None:
        work_screen = self.console.work_screen
        if work_screen.last_touch == touch_id:  # a retracted touch gets no outcome
            work_screen.last_touch = None
        self._status(escape(f"Touch #{touch_id} taken back (retracted)"))

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_focus_search(self) -> None:
        self.query_one("#search").focus()

    def action_toggle_reply(self) -> None:
        self.reply = not self.reply
        self.load_page()

    def action_toggle_phone(self) -> None:
        self.show_phone = not self.show_phone
        if self.page is not None:
            self.query_one("#customer-text", Static).update(
                render_page(self.page, show_phone=self.show_phone)
            )
