"""The facade the console calls: one agent's working day on one database.

Methods here run in Textual thread workers, never on the UI thread. The sqlite3 connection is
used by one thread at a time (a lock), as sqlite3 connections must not be shared concurrently.
No Textual in this module, so it is tested on its own.
"""

from __future__ import annotations

import sqlite3
import subprocess
import threading
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlite_utils

from tui_agent.config import Config
from tui_agent.core.customer_page import CapStatus, CustomerHit, CustomerPage, Outcome, TouchEvent
from tui_agent.core.models import Customer, CustomerCard, FollowUp, Order
from tui_agent.core.queue_filter import QueueFilter
from tui_agent.core.rules import RuleSet
from tui_agent.core.segments import Segment
from tui_agent.phrasing import PhraseBook, make_context
from tui_agent.store import campaigns as campaign_store
from tui_agent.store import customers, outcomes, predictions, queries, worklog
from tui_agent.store import followups as fu
from tui_agent.store.db import connect, get_meta
from tui_agent.store.outcomes import DeskError, Undone
from tui_agent.store.usage import phrase_usage

if TYPE_CHECKING:
    from tui_agent.core.metrics import DailySeries, ShopStats

# ``store.analytics`` (and ``core.metrics``) are imported where the figures are read: the
# first paint never needs them (~12 ms of imports).


@dataclass(frozen=True, slots=True)
class Opened:
    """A follow-up opened for work: the claim outcome and what the card and preview need."""

    follow_up: FollowUp
    claimed: bool
    holder: str | None
    card: CustomerCard
    context: dict[str, object] = field(default_factory=dict)
    phrase_id: str | None = None  # a campaign's own phrase, pre-selected over the suggestion


@dataclass(frozen=True, slots=True)
class ShopFigures:
    """The analytics figures the stats screen shows (last 365 days)."""

    repurchase_rate: float | None
    customers: int
    repeat_customers: int
    ltv: float
    average_order_value: float
    orders_per_year: float
    lifetime_years: float
    segments: tuple[tuple[str, int], ...]
    stats: ShopStats | None = None  # everything, for the stats screen's charts
    clv: dict[str, Any] | None = None  # the cached BTYD fit's summary (predictions.clv_summary)


@dataclass(frozen=True, slots=True)
class QueueState:
    """The day's queue and progress, loaded together for one refresh."""

    items: tuple[FollowUp, ...]
    done: int
    total: int
    deferred: int = 0  # put off from today to tomorrow by the daily capacity


@dataclass(frozen=True, slots=True)
class Opening:
    """What the console's first frame shows, read in one go (:meth:`Session.opening`)."""

    state: QueueState
    first: Opened | None  # the card of the first follow-up nobody else is working
    capped: str | None  # why a touch on ``first`` now would break the frequency cap
    generated: bool  # today's follow-ups are generated


class Session:
    """One agent's session: queue, claims, touches, all through the ``store`` layer."""

    def __init__(
        self,
        db_path: Path,
        *,
        agent: str,
        today: date,
        rules: RuleSet,
        config: Config,
        phrases: PhraseBook,
        queue_limit: int = 200,
        clock: type[datetime] = datetime,
        display_name: str | None = None,
        rules_file: Path | None = None,
    ) -> None:
        self.db_path = db_path
        # Given (the real console), the day's generation runs in a process of its own and
        # the card shows only stored segments: the first paint never waits for either.
        self.rules_file = rules_file
        self.agent = agent
        self.display_name = display_name  # the name customers see ({agent_name})
        self.today = today
        self.rules = rules
        self.config = config
        self.phrases = phrases
        self.queue_limit = queue_limit
        self._clock = clock
        self._lock = threading.Lock()
        # A mistyped --db is not created. No memory map: the console reads few rows, and
        # mapped pages would count in its resident memory (see ``connect``).
        self._db = connect(db_path, create=False, mmap=False)
        self._held: int | None = None  # the one follow-up this session has claimed
        self._claimed_at: datetime | None = None
        # Slow figures (segments) use their own connection, so they never hold up claims.
        self._slow_lock = threading.Lock()
        self._slow_db: sqlite_utils.Database | None = None
        self._opening: Future[Opening] | None = None  # read ahead (prefetch_opening)

    @property
    def expire(self) -> int:
        return self.rules.claim_expire_minutes

    def now(self) -> datetime:
        """Wall-clock time on ``today`` (tests and demos may pretend another day)."""
        real = self._clock.now()
        return datetime.combine(self.today, real.time().replace(microsecond=0))

    def close(self) -> None:
        with self._lock:
            self._db.conn.close()
        with self._slow_lock:
            if self._slow_db is not None:
                self._slow_db.conn.close()

    def generate(self, *, force: bool = False) -> fu.GenerateResult | None:
        """Create today's follow-ups unless that already happened today (or ``force``).

        Runs on a connection of its own: on a big shop it takes seconds, and the queue and
        cards keep loading meanwhile (claims wait for its write transaction to commit).
        """
        with self._lock:
            done = get_meta(self._db, "last_generated") == self.today.isoformat()
        if done and not force:
            return None
        db = connect(self.db_path)
        try:
            return fu.generate(db, self.today, self.rules, now=self.now())
        finally:
            db.conn.close()

    def generated_today(self) -> bool:
        with self._lock:
            return get_meta(self._db, "last_generated") == self.today.isoformat()

    def generate_in_background(self) -> subprocess.Popen[bytes] | None:
        """Start today's generation in a low-priority process (see ``generation_job``).

        None when today is already generated, there is no rules file, or the process could
        not start: then :meth:`generate` in process is the way (it skips a generated day)."""
        if self.rules_file is None or self.generated_today():
            return None
        from tui_agent import generation_job

        return _spawn_quiet(generation_job.command(self.db_path, self.today, self.rules_file))

    def queue(self) -> QueueState:
        with self._lock:
            self._renew_claim()
            by_value = self.rules.queue_order == "expected_value"
            items = fu.due_queue(self._db, self.today, limit=self.queue_limit, by_value=by_value)
            # A claim of ours the session does not hold (a console that died, another
            # console of the same agent name gone): give it back, so marks match the work.
            stale = [i.id for i in items if i.claimed_by == self.agent and i.id != self._held]
            for fid in stale:
                fu.release(self._db, fid, self.agent)
            if stale:
                items = fu.due_queue(
                    self._db, self.today, limit=self.queue_limit, by_value=by_value
                )
            progress = fu.day_progress(self._db, self.today)
            deferred = fu.deferred_count(self._db, self.today)
        return QueueState(tuple(items), progress.done, progress.total, deferred)

    def opening(self) -> Opening:
        """The first frame's data: the queue, the card of its first follow-up nobody else is
        working (None when there is none or it could not be read: the preview then says
        why), whether today is generated; and this agent's phrase ranking, loaded."""
        state = self.queue()
        self.load_usage()
        first: tuple[Opened, str | None] | None = None
        item = next((i for i in state.items if not self.held_by_other(i)), None)
        if item is not None:
            try:
                first = self.preview_for_work(item.id)
            except (sqlite3.Error, DeskError):
                first = None
        opened, capped = first if first is not None else (None, None)
        return Opening(state, opened, capped, self.generated_today())

    def prefetch_opening(self) -> None:
        """Start reading :meth:`opening` in a thread now. The console calls this before it
        imports Textual: the first frame's rows are read while the UI library loads."""
        future: Future[Opening] = Future()

        def read() -> None:
            try:
                future.set_result(self.opening())
            except BaseException as exc:  # the screen reads it again and reports
                future.set_exception(exc)

        self._opening = future
        threading.Thread(target=read, name="tui-agent-opening", daemon=True).start()

    def take_opening(self, timeout: float | None = None) -> Opening | None:
        """The prefetched :meth:`opening`, once, waiting at most ``timeout`` seconds for it
        (None: as long as it takes). None if none was started, if it is not ready in time
        (it stays for the next call), or if reading it failed (read it again: that says why)."""
        future = self._opening
        if future is None:
            return None
        try:
            opening: Opening | None = future.result(timeout)
        except TimeoutError:
            return None
        except Exception:
            opening = None
        self._opening = None
        return opening

    def start_notice(self) -> str | None:
        """What the agent should know at start (the status line): a coming year's official
        holiday calendar missing from the installed ``holidays`` package, or None."""
        from tui_agent.core.kinds import holiday

        return holiday.missing_message(self.rules, self.today)

    def campaign_queue(self, name: str) -> QueueState:
        """One campaign's open follow-ups due today, and its progress (done / contact)."""
        with self._lock:
            self._renew_claim()
            items = campaign_store.campaign_queue(
                self._db, name, self.today, limit=self.queue_limit
            )
            counts = campaign_store.member_counts(self._db, name)
        total = counts["done"] + counts["scheduled"] + counts["waiting"] + counts["capped"]
        return QueueState(tuple(items), counts["done"], total)

    def campaigns(self) -> list[campaign_store.Summary]:
        """Campaigns running or paused (not ended), with their counts and report so far."""
        with self._lock:
            return campaign_store.campaign_summaries(self._db, self.today)

    def _renew_claim(self) -> None:
        """Keep the claim on the open follow-up fresh while the console is running.

        Expiry exists for consoles that died; a live one renews its claim after a third of
        the expiry time, so an agent reading a long history does not lose the customer.
        """
        if self._held is None or self._claimed_at is None:
            return
        if (self.now() - self._claimed_at).total_seconds() < self.expire * 20:
            return
        if fu.claim(self._db, self._held, self.agent, expire_minutes=self.expire, now=self.now()):
            self._claimed_at = self.now()
        else:
            self._held = None  # someone took it after all; the next write says so

    def held_by_other(self, item: FollowUp) -> bool:
        """True while another agent's claim on ``item`` has not expired."""
        if item.claimed_by in (None, self.agent) or item.claimed_at is None:
            return False
        age = (self.now() - item.claimed_at).total_seconds() / 60
        return age < self.expire

    def open(self, follow_up_id: int) -> Opened | None:
        """Claim the follow-up for work and load its card (``preview`` then ``work``)."""
        outcome = self.work(follow_up_id)
        opened = self.preview(follow_up_id)
        if opened is None:
            return None
        claimed, holder = outcome
        return Opened(
            opened.follow_up, claimed, holder, opened.card, opened.context, opened.phrase_id
        )

    def work(self, follow_up_id: int) -> tuple[bool, str | None]:
        """Claim ``follow_up_id`` for this agent (opening it for work). Returns (claimed, holder).

        An agent works one follow-up at a time: claiming another gives the last one back.
        """
        with self._lock:
            if self._held is not None and self._held != follow_up_id:
                fu.release(self._db, self._held, self.agent)
                self._held = None
            claimed = fu.claim(
                self._db, follow_up_id, self.agent, expire_minutes=self.expire, now=self.now()
            )
            if claimed:
                self._held = follow_up_id
                self._claimed_at = self.now()
                return True, self.agent
            item = fu.get_follow_up(self._db, follow_up_id)
        if item is None or item.claimed_by is None:
            return False, None
        return False, item.claimed_by

    def give_back(self) -> None:
        """Release the claim this session holds (the agent moved on without working it)."""
        with self._lock:
            if self._held is not None:
                fu.release(self._db, self._held, self.agent)
                self._held = None

    @property
    def held(self) -> int | None:
        """The follow-up this session holds a claim on, if any."""
        return self._held

    def preview(self, follow_up_id: int) -> Opened | None:
        """Load the follow-up's card and fill context, read-only: claims nothing."""
        with self._lock:
            item = fu.get_follow_up(self._db, follow_up_id)
            if item is None:
                return None
            customer = queries.get_customer(self._db, item.customer_id) or Customer(
                item.customer_id, item.customer_name
            )
            orders = queries.orders_for_customer(self._db, item.customer_id, limit=10)
            touches = fu.touches_for_customer(self._db, item.customer_id, limit=5)
            # The order the follow-up is about (its anchor), else the latest one.
            anchor = next((o for o in orders if o.order_id == item.order_id), None)
            anchor = anchor or (orders[0] if orders else None)
            related = self._related_product(anchor)
            phrase_id = campaign_store.phrase_for_follow_up(self._db, item.id)
        card = CustomerCard(customer, tuple(orders), tuple(touches))
        focus = item.focus
        context = make_context(
            customer,
            anchor,
            today=self.today,
            shop_name=self.config.shop_name_for(customer.language),
            agent_name=self.display_name or self.config.display_name or self.agent,
            coupon=self.config.coupon,
            related_product=related,
            product=focus.product if focus else None,
            category=focus.category if focus else None,
        )
        mine = follow_up_id == self._held
        holder = self.agent if mine else (item.claimed_by if self.held_by_other(item) else None)
        return Opened(item, mine, holder, card, context, phrase_id)

    def preview_for_work(self, follow_up_id: int) -> tuple[Opened, str | None] | None:
        """:meth:`preview`, and why a touch now would break the frequency cap (a manual touch
        earlier today) if it would."""
        opened = self.preview(follow_up_id)
        if opened is None:
            return None
        cap = self.cap_status(opened.follow_up.customer_id, reply=False)
        return opened, cap.message if cap.blocked else None

    def _related_product(self, order: Order | None) -> str | None:
        """The related or upgrade product the shop set for a product of this order."""
        if order is not None:
            for line in order.lines:
                if line.sku:
                    product = queries.get_product(self._db, line.sku)
                    if product and product.related_sku:
                        related = queries.get_product(self._db, product.related_sku)
                        if related:
                            return related.name
        return None

    def segment(self, customer_id: str, *, stored_only: bool = False) -> str | None:
        """The customer's RFM segment, e.g. ``忠诚客户 loyal`` (slow on the first call).

        ``stored_only``: None unless today's stored segments are current (one row read; the
        model refresh process stores them), never the whole shop scored in this process."""
        from tui_agent.store import analytics

        with self._slow_lock:
            if self._slow_db is None:
                self._slow_db = connect(self.db_path)
            if stored_only and not analytics.stored_segments_current(self._slow_db, self.today):
                return None
            found = analytics.segments_for(self._slow_db, [customer_id], self.today)
        value = found.get(customer_id)
        if value is None:
            return None
        seg = Segment(value)
        return f"{seg.label_zh} {seg.label}"

    def refresh_models_in_background(self) -> subprocess.Popen[bytes] | None:
        """Refit the BTYD predictions and store the RFM segments if the orders or the day
        changed, in a low-priority process of its own (the console never waits for it, nor
        holds scipy in its memory). Returns the process, None if it could not start."""
        return _spawn_quiet(predictions.background_command(str(self.db_path), self.today))

    def shop_figures(self) -> ShopFigures:
        """Repurchase rate, LTV and segment sizes over the last 365 days (seconds on big shops)."""
        from tui_agent.store import analytics

        with self._slow_lock:
            if self._slow_db is None:
                self._slow_db = connect(self.db_path)
            start = self.today - timedelta(days=364)
            stats = analytics.shop_stats(self._slow_db, start, self.today, self.today)
            clv = predictions.clv_summary(self._slow_db, self.today)
        return ShopFigures(
            repurchase_rate=stats.repurchase.rate,
            customers=stats.repurchase.customers,
            repeat_customers=stats.repurchase.repeat_customers,
            ltv=stats.ltv.value,
            average_order_value=stats.ltv.average_order_value,
            orders_per_year=stats.ltv.orders_per_year,
            lifetime_years=stats.ltv.lifetime_years,
            segments=tuple(
                (f"{row.segment.label_zh} {row.segment.label}", row.customers)
                for row in stats.by_segment
            ),
            stats=stats,
            clv=clv,
        )

    def daily_series(self, days: int = 30) -> DailySeries:
        """Touches and repurchases per day over the last ``days`` days, and conversion per stage."""
        from tui_agent.store import analytics

        with self._slow_lock:
            if self._slow_db is None:
                self._slow_db = connect(self.db_path)
            start = self.today - timedelta(days=days - 1)
            return analytics.daily_series(self._slow_db, start, self.today)

    def release_held(self) -> None:
        """Give back the claim this session holds (on quit).

        Uses a short connection of its own, so quitting never waits for slow work holding
        the session's connection.
        """
        held, self._held = self._held, None
        if held is None:
            return
        db = connect(self.db_path, migrate=False)
        try:
            fu.release(db, held, self.agent)
        finally:
            db.conn.close()

    def _closed(self, follow_up_id: int) -> None:
        if self._held == follow_up_id:
            self._held = None

    def log_touch(
        self, item: FollowUp, text: str, phrase_id: str | None, *, channel: str = "clipboard"
    ) -> int:
        """Log the touch and close the follow-up in one transaction (raises ClaimLost)."""
        with self._lock:
            self._closed(item.id)
            touch_id = fu.log_touch(
                self._db,
                agent=self.agent,
                customer_id=item.customer_id,
                text=text,
                follow_up_id=item.id,
                phrase_id=phrase_id,
                stage=item.stage.value,
                channel=channel,
                expire_minutes=self.expire,
                now=self.now(),
                rules=self.rules,  # the cap holds at the moment of work too
            )
        self.load_usage()
        return touch_id

    def load_usage(self) -> None:
        """Rank this agent's often and recently used phrases first in search."""
        with self._lock:
            usage = phrase_usage(self._db, self.agent)
        self.phrases.set_usage(usage)

    def snooze(self, item: FollowUp, until: date) -> None:
        with self._lock:
            self._closed(item.id)
            fu.snooze(
                self._db, item.id, self.agent, until, expire_minutes=self.expire, now=self.now()
            )

    def skip(self, item: FollowUp, reason: str) -> None:
        with self._lock:
            self._closed(item.id)
            fu.skip(
                self._db, item.id, self.agent, reason, expire_minutes=self.expire, now=self.now()
            )

    def opt_out(self, item: FollowUp) -> int:
        with self._lock:
            self._closed(item.id)
            return fu.opt_out(self._db, item.customer_id, self.agent, now=self.now())

    def day_work(self) -> worklog.DayWork:
        with self._lock:
            return worklog.day_work(self._db, self.today)

    # --- customer desk (team-store) ---
    # Find a customer, read their page, work them without a follow-up (a reply to their own
    # message, or a proactive touch under the cap), record outcomes, undo, opt in. The store
    # functions live in store/customers.py and store/outcomes.py; these hold the lock.

    def find(self, query: str, limit: int = 20) -> list[CustomerHit]:
        """Customers matching ``query`` (id, phone or its last 4 digits, WeChat id, name,
        pinyin, initials), best first. The first call after an import fills the pinyin, on
        its own connection (:meth:`prepare_search`), so claims are not held up meanwhile."""
        with self._lock:
            pending = customers.pending_search_keys(self._db)
        if pending:
            self.prepare_search()
        with self._lock:
            return customers.find_customers(self._db, query, limit)

    def prepare_search(self) -> int:
        """Compute the names' pinyin that :meth:`find` needs (customers imported since the last
        time), on a connection of its own so the queue keeps loading; returns how many. Run it
        in a worker at start-up and the first find is instant (200k new customers: ~3 s CPU)."""
        db = connect(self.db_path)
        try:
            return customers.fill_search_keys(db)
        finally:
            db.conn.close()

    def customer_page(self, customer_id: str, *, with_segment: bool = True) -> CustomerPage | None:
        """The whole page of one customer (None if unknown). The segment comes from the slow
        connection (the first call of the day scores every customer); pass
        ``with_segment=False`` for a fast first paint and call :meth:`segment` after."""
        with self._lock:
            page = customers.customer_page(self._db, customer_id, self.today, with_segment=False)
        if page is None or not with_segment:
            return page
        from tui_agent.store import analytics

        with self._slow_lock:
            if self._slow_db is None:
                self._slow_db = connect(self.db_path)
            segment = analytics.segment_of(self._slow_db, customer_id, self.today)
        return replace(page, segment=segment)

    def customer_context(self, customer_id: str) -> dict[str, object]:
        """Placeholder values for a phrase sent to ``customer_id`` outside a follow-up (from
        the customer page): the customer and their latest order."""
        with self._lock:
            customer = queries.get_customer(self._db, customer_id) or Customer(customer_id)
            anchor = queries.latest_order(self._db, customer_id)
            related = self._related_product(anchor)
        return make_context(
            customer,
            anchor,
            today=self.today,
            shop_name=self.config.shop_name_for(customer.language),
            agent_name=self.display_name or self.config.display_name or self.agent,
            coupon=self.config.coupon,
            related_product=related,
        )

    def cap_status(self, customer_id: str, *, reply: bool = False) -> CapStatus:
        """Whether a touch now would break the frequency cap or the opt-out, and why: ``block``
        for a proactive touch, ``warn`` for a reply. Raises DeskError for an unknown customer."""
        with self._lock:
            return outcomes.cap_status(
                self._db, customer_id, self.rules.cap, now=self.now(), reply=reply
            )

    def touch_customer(
        self,
        customer_id: str,
        text: str,
        phrase_id: str | None,
        *,
        reply: bool,
        follow_up_id: int | None = None,
        stage: str | None = None,
        channel: str = "clipboard",
    ) -> int:
        """Log a touch from the customer page; returns the touch id.

        ``reply``: answering the customer's own message (not proactive, outside the cap; the
        cap and opt-out only warn). A proactive touch the cap or opt-out blocks raises
        CapBlocked and writes nothing. ``follow_up_id``: an open follow-up of this customer
        the touch also closes (ClaimLost if another agent holds it).
        """
        with self._lock:
            status = outcomes.cap_status(
                self._db, customer_id, self.rules.cap, now=self.now(), reply=reply
            )
            if status.blocked:
                raise CapBlocked(status)
            if follow_up_id is not None:
                self._closed(follow_up_id)
            touch_id = fu.log_touch(
                self._db,
                agent=self.agent,
                customer_id=customer_id,
                text=text,
                follow_up_id=follow_up_id,
                phrase_id=phrase_id,
                stage=stage,
                channel=channel,
                expire_minutes=self.expire,
                now=self.now(),
                reply=reply,
            )
        self.load_usage()
        return touch_id

    def record_outcome(
        self, touch_id: int, outcome: Outcome | str, note: str | None = None
    ) -> TouchEvent:
        """Record what came of a touch (a new row; the latest wins). Raises DeskError for an
        unknown or retracted touch, ValueError for an unknown outcome name."""
        with self._lock:
            return outcomes.record_outcome(
                self._db, touch_id, outcome, agent=self.agent, note=note, now=self.now()
            )

    def undo_last_touch(self, touch_id: int | None = None, reason: str | None = None) -> Undone:
        """Take back this agent's last touch (or ``touch_id``) within ``[work] undo_minutes``.

        The follow-up it closed returns to the queue as pending with no claim (open it again
        to redo it). Raises UndoRefused with the reason.
        """
        minutes = self.config.undo_minutes
        with self._lock:
            return outcomes.undo_last_touch(
                self._db,
                self.agent,
                now=self.now(),
                within_minutes=minutes,
                touch_id=touch_id,
                reason=reason,
            )

    def opt_in(self, customer_id: str, reason: str) -> TouchEvent:
        """Reverse an opt-out, logged with this agent and the reason (DeskError if not opted out)."""
        with self._lock:
            return outcomes.opt_in(self._db, customer_id, self.agent, reason=reason, now=self.now())

    def opt_out_customer(self, customer_id: str, reason: str | None = None) -> int:
        """Opt a customer out from their page (no follow-up open); returns follow-ups cancelled."""
        with self._lock:
            return fu.opt_out(self._db, customer_id, self.agent, now=self.now(), reason=reason)

    def queue_where(self, where: QueueFilter) -> QueueState:
        """The day's queue through a filter (stage, rule, segment, tag, overdue, mine)."""
        with self._lock:
            self._renew_claim()
            items = fu.due_queue(
                self._db,
                self.today,
                limit=self.queue_limit,
                where=where,
                by_value=self.rules.queue_order == "expected_value",
            )
            progress = fu.day_progress(self._db, self.today)
        return QueueState(tuple(items), progress.done, progress.total)


def _spawn_quiet(cmd: list[str]) -> subprocess.Popen[bytes] | None:
    """Start a background process with no terminal I/O; None if it could not start."""
    try:
        return subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
    except OSError:
        return None


class CapBlocked(DeskError):
    """A proactive touch the frequency cap or the opt-out forbids; ``status`` says why."""

    def __init__(self, status: CapStatus) -> None:
        super().__init__(f"not logged: {status.message}")
        self.status = status
