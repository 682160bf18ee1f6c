"""Pure pieces of the customer desk: the cap verdict, display sanitising, phone matching."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tui_agent.core.customer_page import (
    OUTCOMES,
    Outcome,
    cap_check,
    phone_matches,
    printable,
)
from tui_agent.core.rules import Cap

CAP = Cap(per_24h=1, per_7d=2)


def test_outcome_names_are_the_issues() -> None:
    assert OUTCOMES == (
        "replied", "satisfied", "problem", "question", "no_reply", "ordered", "unreachable",
    )  # fmt: skip
    assert all(Outcome(o).label_zh and Outcome(o).label for o in OUTCOMES)


def test_cap_check_levels() -> None:
    assert cap_check(CAP, 0, 1, opted_out=False, reply=False).level == "ok"
    assert cap_check(CAP, 1, 1, opted_out=False, reply=False).blocked
    assert cap_check(CAP, 0, 2, opted_out=False, reply=False).blocked
    warn = cap_check(CAP, 1, 2, opted_out=False, reply=True)
    assert warn.level == "warn" and not warn.blocked and warn.reasons[-1].startswith("allowed")
    out = cap_check(CAP, 0, 0, opted_out=True, reply=False)
    assert out.blocked and out.message == "customer opted out (do not contact)"
    assert cap_check(CAP, 0, 0, opted_out=True, reply=True).level == "warn"


def test_printable_shows_control_characters_and_drops_bidi_marks() -> None:
    assert printable("王\x1b[31m芳\x07") == "王\u241b[31m芳\u2407"  # ␛ ␇
    assert printable("a\u202eb\x9bc\x7f") == "ab\ufffdc\u2421"
    assert printable("line1\nline2\tx") == "line1 line2 x"
    assert printable("line1\nline2", newlines=True) == "line1\nline2"
    assert printable(None) == "" and printable("") == ""


def test_phone_matches_and_mask() -> None:
    assert phone_matches("138 1234 5678", "13812345678") == "phone"
    assert phone_matches("+86 138-1234-5678", "13812345678") == "phone"
    assert phone_matches("13812345678", "8613812345678") == "phone"
    assert phone_matches("13812345678", "5678") == "phone_tail"
    assert phone_matches("13812345678", "1234") is None
    assert phone_matches(None, "5678") is None


# Property checks: whatever the shop's files hold, nothing a terminal acts on gets through.

_ACTIVE = {*range(0x00, 0x09), *range(0x0B, 0x20), *range(0x7F, 0xA0), *range(0x202A, 0x202F),
           *range(0x2066, 0x206A)}  # fmt: skip


@given(st.text())
def test_printable_never_lets_a_control_character_through(text: str) -> None:
    out = printable(text, newlines=True)
    assert not any(ord(c) in _ACTIVE for c in out)
    assert "\n" not in printable(text)


def test_prediction_line() -> None:
    from tui_agent.core.customer_page import prediction_line

    pred = {"p_alive": 0.8234, "predicted_next_order": "2026-12-20", "clv_365d": 1240.4}
    assert prediction_line(pred, None) == (
        "P(alive) 0.82 · next order ~2026-12-20 · 365-day value ¥1,240"
    )
    gone = {"p_alive": 0.12, "predicted_next_order": None, "clv_365d": None}
    assert prediction_line(gone, None) == "P(alive) 0.12 · next order: likely gone"
    assert prediction_line(None, "no fit yet") == "no prediction: no fit yet"
