"""Domain types shared by every layer. Plain frozen dataclasses: no SQL, no Textual."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum


class Stage(StrEnum):
    """The five stages of the repurchase lifecycle (PRODUCT.md), and campaign work."""

    FIRST_PURCHASE = "first_purchase"  # 首购体验
    SATISFACTION = "satisfaction"  # 满意度确认
    UPKEEP = "upkeep"  # 关系维护
    REPURCHASE = "repurchase"  # 复购唤醒
    LOYALTY = "loyalty"  # 忠诚培养
    CAMPAIGN = "campaign"  # 营销活动: a member of a campaign (批量触达), not a lifecycle rule

    @property
    def label_zh(self) -> str:
        return _STAGE_ZH[self]

    @property
    def label(self) -> str:
        return _STAGE_EN[self]


_STAGE_ZH = {
    Stage.FIRST_PURCHASE: "首购体验",
    Stage.SATISFACTION: "满意度确认",
    Stage.UPKEEP: "关系维护",
    Stage.REPURCHASE: "复购唤醒",
    Stage.LOYALTY: "忠诚培养",
    Stage.CAMPAIGN: "营销活动",
}
_STAGE_EN = {
    Stage.FIRST_PURCHASE: "first purchase",
    Stage.SATISFACTION: "satisfaction",
    Stage.UPKEEP: "upkeep",
    Stage.REPURCHASE: "repurchase",
    Stage.LOYALTY: "loyalty",
    Stage.CAMPAIGN: "campaign",
}


class FollowUpStatus(StrEnum):
    PENDING = "pending"
    DONE = "done"
    SKIPPED = "skipped"
    SNOOZED = "snoozed"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class Customer:
    customer_id: str
    name: str | None = None
    phone: str | None = None
    email: str | None = None
    wechat: str | None = None
    birthday: date | None = None
    tier: str | None = None
    points: int | None = None
    opt_out: bool = False
    tags: tuple[str, ...] = ()
    language: str = "zh"
    # Aggregates kept up to date by the importer (store.orders.refresh_customer_stats).
    order_count: int = 0
    total_spent: float = 0.0
    first_order_at: datetime | None = None
    last_order_at: datetime | None = None
    lunar_birthday: str | None = None  # 农历 "MM-DD" or "闰MM-DD"; greeted instead of birthday
    birthday_md: str | None = None  # "MM-DD" of a birthday whose year is unknown

    def birthday_label(self) -> str | None:
        """The birthday as the card shows it, saying which calendar it is in:
        ``农历 闰04-10 (lunar)``, ``1990-03-15 (solar)``, ``03-15 (solar, year unknown)``."""
        if self.lunar_birthday:
            return f"农历 {self.lunar_birthday} (lunar)"
        if self.birthday:
            return f"{self.birthday.isoformat()} (solar)"
        if self.birthday_md:
            return f"{self.birthday_md} (solar, year unknown)"
        return None


@dataclass(frozen=True, slots=True)
class Product:
    sku: str
    name: str
    category: str | None = None
    cycle_days: int | None = None
    related_sku: str | None = None


@dataclass(frozen=True, slots=True)
class OrderLine:
    order_id: str
    line_no: int
    sku: str | None
    product: str | None
    category: str | None
    quantity: int
    amount: float


@dataclass(frozen=True, slots=True)
class Order:
    order_id: str
    customer_id: str
    ordered_at: datetime
    delivered_at: datetime | None
    amount: float
    seq: int = 0  # the customer's nth order (1-based), 0 when not yet computed
    lines: tuple[OrderLine, ...] = ()


@dataclass(frozen=True, slots=True)
class Reason:
    """One rule occurrence that made a follow-up due."""

    rule: str
    key: str  # unique per occurrence, e.g. "care+1:O123"; makes generation idempotent
    text: str
    order_id: str | None = None
    product: str | None = None  # the product the occurrence is about (replenishment)
    category: str | None = None
    # The order had no delivery time: its delivery date was assumed (``assumed_delivery_days``),
    # so a phrase must not claim it as fact.
    delivery_assumed: bool = False


@dataclass(frozen=True, slots=True)
class FollowUp:
    id: int
    customer_id: str
    customer_name: str | None
    stage: Stage
    rule: str  # the leading rule (highest priority among the merged reasons)
    reasons: tuple[Reason, ...]
    suggested_tags: tuple[str, ...]
    due_date: date
    status: FollowUpStatus
    status_reason: str | None = None
    snoozed_until: date | None = None
    claimed_by: str | None = None
    claimed_at: datetime | None = None
    order_id: str | None = None
    priority: float = 0.0  # customer value used to order the day's queue

    def overdue_days(self, today: date) -> int:
        return max(0, (today - self.due_date).days)

    @property
    def focus(self) -> Reason | None:
        """The leading reason that names a product, if any: what the message is about."""
        leading = [r for r in self.reasons if r.rule == self.rule] + list(self.reasons)
        return next((r for r in leading if r.product), None)

    @property
    def delivery_assumed(self) -> bool:
        """The leading reason's delivery date was assumed (the order had no delivery time)."""
        leading = [r for r in self.reasons if r.rule == self.rule] or list(self.reasons)
        return any(r.delivery_assumed for r in leading[:1])


@dataclass(frozen=True, slots=True)
class Touch:
    id: int
    agent: str
    customer_id: str
    follow_up_id: int | None
    phrase_id: str | None
    text: str
    channel: str
    at: datetime
    outcome: str | None = None
    stage: str | None = None


@dataclass(frozen=True, slots=True)
class CustomerCard:
    """Everything the console shows about one customer."""

    customer: Customer
    orders: tuple[Order, ...] = ()  # latest first
    touches: tuple[Touch, ...] = ()  # latest first
    segment: str | None = None
    extra: dict[str, str] = field(default_factory=dict)
