from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from tests.ui.seed import TODAY, build_shop
from tui_agent.app import ConsoleApp
from tui_agent.config import Config
from tui_agent.core.models import Stage
from tui_agent.core.phrases import Phrase, Variant
from tui_agent.core.rules import load_rules
from tui_agent.paths import rules_path
from tui_agent.phrasing import PhraseBook
from tui_agent.session import Session


def _phrase(
    pid: str, title: str, body: str, stage: Stage, tags: tuple[str, ...], shortcut: str
) -> Phrase:
    return Phrase(pid, stage, (Variant("zh", title, body),), tags, shortcut)


# A fixed phrase set, so the tests do not depend on the shipped library's wording.
PHRASES = [
    _phrase(
        "t-care",
        "签收关怀",
        "{name|亲}您好，{product}已签收～ —{shop_name}",
        Stage.FIRST_PURCHASE,
        ("care", "delivery"),
        "/gh",
    ),
    _phrase(
        "t-review",
        "邀请评价",
        "{name|亲}，{product}用得还好吗？欢迎评价～",
        Stage.SATISFACTION,
        ("review", "satisfaction"),
        "/pj",
    ),
    _phrase(
        "t-related",
        "关联推荐",
        "{name|亲}，搭配{related_product}效果更好哦",
        Stage.UPKEEP,
        ("related",),
        "/gl",
    ),
    _phrase(
        "t-coupon",
        "复购优惠券",
        "{name|亲}，送您一张{coupon}，欢迎回购{product}",
        Stage.REPURCHASE,
        ("coupon",),
        "/fg",
    ),
    _phrase(
        "t-vip",
        "会员关怀",
        "{name}，您的{tier}会员积分{points}，本月有专属福利",
        Stage.LOYALTY,
        ("vip",),
        "/hy",
    ),
]


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    return build_shop(tmp_path / "shop.db")


class Clipboard:
    """Records what the console sent to the system clipboard."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def __call__(self, text: str) -> None:
        self.texts.append(text)


@pytest.fixture
def clip(monkeypatch: pytest.MonkeyPatch) -> Clipboard:
    monkeypatch.setenv("DISPLAY", ":99")  # pretend a display, so the system copy path runs
    return Clipboard()


MakeApp = Callable[..., ConsoleApp]


@pytest.fixture
def make_app(shop: Path, clip: Clipboard) -> MakeApp:
    def make(agent: str = "lily", today: date = TODAY, **kw: object) -> ConsoleApp:
        session = Session(
            shop,
            agent=agent,
            today=today,
            rules=load_rules(rules_path()),
            config=Config(shop_name="小满生活馆", coupon=None),
            phrases=PhraseBook.from_phrases(PHRASES),
        )
        return ConsoleApp(session, system_copy=clip, **kw)  # type: ignore[arg-type]

    return make
