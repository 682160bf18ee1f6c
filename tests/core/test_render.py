from __future__ import annotations

import string
from datetime import date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tui_agent.core.models import Customer, Order, OrderLine
from tui_agent.core.render import (
    PLACEHOLDERS,
    Kind,
    TemplateError,
    build_context,
    parse,
    placeholders,
    render,
    render_with,
)

TODAY = date(2026, 3, 20)


def _customer(**kw: object) -> Customer:
    base: dict[str, object] = {"customer_id": "C1", "name": "王丽", "tier": "金卡", "points": 320}
    base.update(kw)
    return Customer(**base)  # type: ignore[arg-type]


def _order(delivered: datetime | None = datetime(2026, 3, 5, 14, 0)) -> Order:
    return Order(
        order_id="O9",
        customer_id="C1",
        ordered_at=datetime(2026, 3, 2, 9, 30),
        delivered_at=delivered,
        amount=198.0,
        lines=(
            OrderLine("O9", 1, "S1", "洗发水", "beauty", 1, 39.0),
            OrderLine("O9", 2, "S2", "玻尿酸精华", "beauty", 1, 159.0),
        ),
    )


def _ctx(
    customer: Customer | None = None, order: Order | None = None, **kw: object
) -> dict[str, object]:
    return build_context(
        customer or _customer(),
        order if order is not None else _order(),
        today=TODAY,
        shop_name="小满家",
        agent_name="阿青",
        **kw,  # type: ignore[arg-type]
    )


def test_fills_from_customer_and_latest_order() -> None:
    r = render(
        "{name}您好，{product}已送达{days_since_delivery}天，{shop_name}{agent_name}", _ctx()
    )
    assert r.text == "王丽您好，玻尿酸精华已送达15天，小满家阿青"
    assert r.missing == ()
    assert r.complete


def test_computed_fields() -> None:
    ctx = _ctx(related_product="修护面霜", coupon="满100减20")
    assert ctx["category"] == "beauty"
    assert ctx["days_since_order"] == 18
    assert ctx["tier"] == "金卡"
    assert (
        render("{related_product}/{coupon}/{points}/{amount}", ctx).text
        == "修护面霜/满100减20/320/198"
    )


def test_fallback_used_only_when_value_missing() -> None:
    assert render("{name|亲}", _ctx()).text == "王丽"
    assert render("{name|亲}", _ctx(customer=_customer(name=None))).text == "亲"
    assert render("{name|亲}", _ctx(customer=_customer(name="  "))).text == "亲"
    assert render("Hi{name|}!", _ctx(customer=_customer(name=None))).text == "Hi!"


def test_date_formats() -> None:
    ctx = _ctx()
    assert render("{delivered_at:%m月%d日}", ctx).text == "03月05日"
    assert render("{delivered_at:%-m月%-d日}", ctx).text == "3月5日"
    assert render("{delivered_at}", ctx).text == "2026-03-05"
    assert render("{ordered_at:%Y/%m/%d %H:%M}", ctx).text == "2026/03/02 00:00"
    assert render("{today:%y%%}", ctx).text == "26%"


def test_missing_listed_in_order_and_left_visible() -> None:
    ctx = _ctx(customer=_customer(name=None), order=_order(delivered=None))
    r = render("{name}，{coupon}，{delivered_at:%m-%d}，{name}，{product}", ctx)
    assert r.missing == ("name", "coupon", "delivered_at")
    assert r.text == "{name}，{coupon}，{delivered_at}，{name}，玻尿酸精华"
    assert not r.complete


def test_missing_date_uses_fallback() -> None:
    ctx = _ctx(order=_order(delivered=None))
    assert render("{delivered_at:%-m月%-d日|最近}", ctx).text == "最近"


def test_no_order_means_order_fields_missing() -> None:
    ctx = build_context(_customer(), None, today=TODAY, shop_name="s", agent_name="a")
    assert render("{product}{order_id}{name}", ctx).missing == ("product", "order_id")


def test_agent_supplied_values_fill_the_holes() -> None:
    ctx = _ctx(customer=_customer(name=None))
    r = render_with("{name}，券：{coupon}", ctx, {"coupon": "VIP88", "name": "小王"})
    assert r.text == "小王，券：VIP88" and r.complete
    assert render_with("{coupon}", ctx, {"coupon": "  "}).missing == ("coupon",)


def test_escaped_braces() -> None:
    assert render("{{name}} {name}", _ctx()).text == "{name} 王丽"


@pytest.mark.parametrize(
    ("template", "why"),
    [
        ("{name.__class__}", "attribute"),
        ("{name.__class__.__mro__}", "attribute"),
        ("{name[0]}", "index"),
        ("{0}", "positional"),
        ("{}", "positional"),
        ("{name!r}", "conversion"),
        ("{name!r:>999999}", "conversion"),
        ("{name:>999999}", "only allowed on dates"),
        ("{points:,}", "only allowed on dates"),
        ("{delivered_at:%A %B}", "unsupported date directive"),
        ("{delivered_at:%-%}", "unsupported date directive"),
        ("{delivered_at:" + "%Y" * 40 + "}", "date format"),
        ("{__import__}", "not a placeholder name"),
        ("{secret_field}", "unknown placeholder"),
        ("{name", "unclosed"),
        ("name}", "single '}'"),
        ("{na{me}}", "nested"),
        ("{ name }", "not a placeholder name"),
    ],
)
def test_unsafe_or_invalid_templates_are_refused(template: str, why: str) -> None:
    with pytest.raises(TemplateError, match=why.replace("[", r"\[")):
        render(template, _ctx())


def test_placeholders_lists_names_once() -> None:
    assert placeholders("{name}{product}{name|亲}{{x}}") == ["name", "product"]


def test_value_is_never_interpreted_again() -> None:
    ctx = _ctx(customer=_customer(name="{coupon}{0.__class__}"), coupon="X")
    assert render("{name}", ctx).text == "{coupon}{0.__class__}"


# --- property tests ----------------------------------------------------------------------

_names = st.sampled_from(sorted(PLACEHOLDERS))
_plain = st.text(alphabet=st.characters(blacklist_characters="{}"), max_size=20)


@given(st.text(max_size=60))
def test_any_template_renders_or_raises_template_error(template: str) -> None:
    try:
        r = render(template, _ctx())
    except TemplateError:
        return
    assert isinstance(r.text, str)
    assert len(r.text) <= len(template) * 40 + 200  # no format tricks that blow up output


@given(_plain)
def test_plain_text_renders_to_itself(text: str) -> None:
    assert render(text, {}).text == text


@given(st.lists(st.tuples(_plain, _names), max_size=6), _plain)
def test_known_placeholders_always_filled_or_reported(
    parts: list[tuple[str, str]], tail: str
) -> None:
    template = "".join(f"{lit}{{{name}}}" for lit, name in parts) + tail
    values = {name: f"<{name}>" for _, name in parts[::2]}
    r = render(template, values)
    expected_missing = tuple(dict.fromkeys(n for _, n in parts if n not in values))
    assert r.missing == expected_missing
    expected = "".join(lit + (values.get(n) or "{" + n + "}") for lit, n in parts) + tail
    assert r.text == expected


@given(
    _names,
    st.text(alphabet=string.printable, max_size=30),
)
def test_random_values_are_inserted_verbatim(name: str, value: str) -> None:
    if PLACEHOLDERS[name].kind is Kind.DATE and not value.strip():
        return
    r = render("[{" + name + "}]", {name: value})
    if value.strip():
        assert r.text == f"[{value}]"
    else:
        assert r.missing == (name,)


@given(st.text(alphabet="{}:|!.[]0az_%-Ymd", max_size=25))
def test_brace_soup_never_escapes(template: str) -> None:
    try:
        parts = parse(template)
    except TemplateError:
        return
    for part in parts:
        if not isinstance(part, str):
            assert part.name in PLACEHOLDERS


def test_build_context_product_override_names_the_follow_up_product() -> None:
    from datetime import date as _date
    from datetime import datetime as _dt

    from tui_agent.core.models import Customer, Order, OrderLine
    from tui_agent.core.render import build_context, render

    lines = (
        OrderLine("o1", 1, "EL1", "降噪耳机", "electronics", 1, 600.0),
        OrderLine("o1", 2, "BT1", "补水面膜", "beauty", 1, 100.0),
    )
    order = Order("o1", "c1", _dt(2026, 2, 1), _dt(2026, 2, 3), 700.0, 1, lines)
    kw = {"today": _date(2026, 3, 1), "shop_name": "店", "agent_name": "a"}
    plain = build_context(Customer("c1", name="王"), order, **kw)  # type: ignore[arg-type]
    focused = build_context(
        Customer("c1", name="王"), order, product="补水面膜", category="beauty", **kw
    )  # type: ignore[arg-type]
    assert render("{product}", plain).text == "降噪耳机"
    assert render("{product}", focused).text == "补水面膜"
