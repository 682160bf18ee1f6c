"""The selected customer's card: who they are, what they bought, the last touches."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from tui_agent.core.models import CustomerCard
from tui_agent.core.privacy import mask_phone


class CustomerCardView(Static, can_focus=True):
    """Renders a :class:`CustomerCard`; the full phone number shows only when asked."""

    card: reactive[CustomerCard | None] = reactive(None, always_update=True)
    show_phone: reactive[bool] = reactive(False)
    today: date = date.today()
    # The screen hands in a lookup so the card names phrases by title, not by id.
    phrase_title: Callable[[str], str | None] = staticmethod(lambda _pid: None)

    def watch_card(self) -> None:
        self.update(self._render_card())

    def watch_show_phone(self) -> None:
        self.update(self._render_card())

    def _render_card(self) -> RenderableType:
        card = self.card
        if card is None:
            return Text("No follow-up selected.", style="dim")
        c = card.customer
        head = Table.grid(padding=(0, 1))
        head.add_column(style="dim", no_wrap=True)
        head.add_column()
        name = Text(c.name or c.customer_id, style="bold")
        if c.opt_out:
            name.append("  不再联系 opted out", style="bold red")
        head.add_row("客户", name)
        phone = c.phone if self.show_phone else mask_phone(c.phone)
        head.add_row("电话", Text(phone or "—") + Text("  (p)", style="dim"))
        tier = c.tier or "—"
        points = f"{c.points} 分" if c.points is not None else ""
        head.add_row("会员", f"{tier} {points}".strip())
        head.add_row("分群", card.segment or "—")
        head.add_row("订单", f"{c.order_count} 单 · ¥{c.total_spent:,.0f}")
        birthday = c.birthday_label()
        if birthday:
            head.add_row("生日", birthday)
        latest = card.orders[0] if card.orders else None
        if latest is not None and latest.delivered_at is not None:
            days = (self.today - latest.delivered_at.date()).days
            head.add_row("签收", f"{days} 天前 ({latest.delivered_at:%Y-%m-%d})")
        orders = Table(box=None, padding=(0, 1), show_header=True, header_style="dim", expand=True)
        orders.add_column("下单", no_wrap=True)
        orders.add_column("商品", ratio=1, overflow="ellipsis", no_wrap=True)
        orders.add_column("金额", justify="right", no_wrap=True)
        for order in card.orders:
            products = "、".join(line.product or line.sku or "?" for line in order.lines) or "—"
            orders.add_row(f"{order.ordered_at:%y-%m-%d}", products, f"¥{order.amount:,.0f}")
        touches = Table(box=None, padding=(0, 1), show_header=True, header_style="dim", expand=True)
        touches.add_column("最近联系", no_wrap=True)
        touches.add_column("谁", no_wrap=True)
        touches.add_column("话术", ratio=1, overflow="ellipsis", no_wrap=True)
        for t in card.touches:
            title = self.phrase_title(t.phrase_id) if t.phrase_id else None
            what = title or t.phrase_id or t.text.replace("\n", " ")[:20]
            touches.add_row(f"{t.at:%m-%d %H:%M}", t.agent, what)
        # The recent contacts come before the order history: on a small terminal they are
        # what must stay in view (the card scrolls for the rest).
        parts: list[RenderableType] = [head]
        if card.touches:
            parts += [touches]
        else:
            parts.append(Text("没有联系记录 no touches yet", style="dim"))
        parts += [orders]
        return Group(*parts)
