"""Dialogs of the customer desk on the work queue: outcome of a touch, queue filter, confirm."""

from __future__ import annotations

from typing import ClassVar

from rich.markup import escape
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from tui_agent.core.customer_page import Outcome
from tui_agent.core.models import Stage
from tui_agent.core.queue_filter import QueueFilter, parse_segment
from tui_agent.screens.modals import _CANCEL, _Dialog

OUTCOMES = tuple(Outcome)


class OutcomePicker(_Dialog):
    """What came of touch #N: a number key (1-7) picks, then an optional note and enter.

    Dismisses with ``(Outcome, note or None)``.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        *_CANCEL,
        *(
            Binding(str(n), f"pick({n})", o.label, show=False, id=f"outcome.{n}")
            for n, o in enumerate(OUTCOMES, start=1)
        ),
    ]

    def __init__(self, touch_id: int, who: str) -> None:
        super().__init__()
        self.touch_id = touch_id
        self.who = who
        self.picked: Outcome | None = None

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="outcome-form"):
            yield Label(f"[b]结果 Outcome[/b] of touch #{self.touch_id} ({escape(self.who)}) — 1-7")
            yield OptionList(
                *(
                    Option(f"{n}  {o.label_zh} {o.label}", id=o.value)
                    for n, o in enumerate(OUTCOMES, start=1)
                ),
                id="outcome-choices",
            )
            yield Input(placeholder="note (optional), enter to record", id="outcome-note")

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    def action_pick(self, n: int) -> None:
        self.picked = OUTCOMES[n - 1]
        self.query_one(OptionList).highlighted = n - 1
        self.query_one(Input).focus()

    @on(OptionList.OptionSelected, "#outcome-choices")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.action_pick(event.option_index + 1)

    @on(Input.Submitted, "#outcome-note")
    def _done(self, event: Input.Submitted) -> None:
        event.stop()
        if self.picked is None:
            return
        self.dismiss((self.picked, event.value.strip() or None))


def parse_filter(text: str, agent: str) -> QueueFilter:
    """``stage=repurchase rule=care+1 segment=at_risk tag=VIP overdue mine`` (any subset,
    any order; a bare stage or 中文 stage name works too). Raises ValueError naming the word."""
    stage = rule = tag = None
    segment = None
    overdue = False
    mine = None
    for word in text.split():
        key, _, value = word.partition("=")
        key = key.casefold()
        if not value and key in ("overdue", "逾期"):
            overdue = True
        elif not value and key in ("mine", "我的"):
            mine = agent
        elif key == "stage" or (not value and _stage(key) is not None):
            found = _stage(value or key)
            if found is None:
                names = ", ".join(s.value for s in Stage)
                raise ValueError(f"{word}: not a stage (one of {names})")
            stage = found
        elif key == "rule" and value:
            rule = value
        elif key == "segment" and value:
            segment = parse_segment(value)
        elif key == "tag" and value:
            tag = value
        else:
            raise ValueError(f"{word}: not a filter (stage= rule= segment= tag= overdue mine)")
    return QueueFilter(stage=stage, rule=rule, segment=segment, tag=tag, overdue=overdue, mine=mine)


def _stage(text: str) -> Stage | None:
    for stage in Stage:
        if text.casefold() in (stage.value, stage.label.casefold()) or text == stage.label_zh:
            return stage
    return None


class FilterForm(_Dialog):
    """Filter the queue. Dismisses with a :class:`QueueFilter` (empty text: no filter)."""

    def __init__(self, current: str, agent: str) -> None:
        super().__init__()
        self.current = current
        self.agent = agent

    def compose(self) -> ComposeResult:
        stages = " ".join(s.value for s in Stage)
        with Vertical(classes="dialog", id="filter-form"):
            yield Label("[b]筛选 Filter[/b] the queue — enter applies, empty shows all")
            yield Input(self.current, placeholder="stage=repurchase tag=VIP overdue mine", id="q")
            yield Static(f"[dim]stage= {stages}\nrule= · segment= · tag= · overdue · mine[/dim]")
            yield Static("", id="filter-error")

    @on(Input.Submitted)
    def _done(self, event: Input.Submitted) -> None:
        event.stop()
        try:
            self.dismiss(parse_filter(event.value, self.agent))
        except ValueError as exc:
            self.query_one("#filter-error", Static).update(f"[red]{escape(str(exc))}[/red]")


class Confirm(_Dialog):
    """A yes/no question: y confirms, n or escape cancels. Dismisses with a bool."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Yes", id="confirm.yes"),
        Binding("n,escape", "answer(False)", "No", id="confirm.no"),
    ]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="confirm-form"):
            yield Label(self.question)
            yield Static("[b]y[/b] yes · [b]n[/b] no")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
