from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tui_agent.core.csvrows import (
    CsvFileError,
    Kind,
    Plan,
    _convert_fast,
    convert_row,
    convert_rows,
    field_names,
    parse_mapping_items,
    parse_mapping_text,
    plan_header,
)

ORDER_HEADER = list(field_names(Kind.ORDERS))


def order_row(**over: str) -> list[str]:
    base = {
        "order_id": "O1",
        "customer_id": "C1",
        "ordered_at": "2026-01-31",
        "shipped_at": "",
        "delivered_at": "2026-02-02 09:30",
        "sku": "S1",
        "product": "豆浆粉",
        "category": "food",
        "quantity": "",
        "amount": "19.90",
    }
    base.update(over)
    return [base.get(c, "") for c in ORDER_HEADER]  # later optional columns empty


@pytest.fixture
def orders_plan() -> Plan:
    return plan_header(Kind.ORDERS, ORDER_HEADER)


def reasons(plan: Plan, row: list[str]) -> list[tuple[str, str]]:
    record, errors = convert_row(plan, row, 7)
    assert record is None
    assert all(e.line == 7 for e in errors)
    return [(e.column, e.reason) for e in errors]


def test_good_order_row_is_normalised(orders_plan: Plan) -> None:
    record, errors = convert_row(orders_plan, order_row(), 2)
    assert errors == []
    assert record is not None
    values = dict(zip(ORDER_HEADER, record, strict=True))
    assert values["ordered_at"] == "2026-01-31 00:00:00"
    assert values["delivered_at"] == "2026-02-02 09:30:00"
    assert values["shipped_at"] is None
    assert values["quantity"] == 1  # empty quantity means one
    assert values["amount"] == pytest.approx(19.9)


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("order_id", "", "required value is empty"),
        ("ordered_at", "2026-02-30", "not a real date"),
        ("ordered_at", "31/01/2026", "is not a date"),
        ("amount", "abc", "is not a number"),
        ("amount", "nan", "is not a number"),
        ("amount", "-5", "negative amount"),
        ("quantity", "-1", "negative quantity"),
        ("quantity", "1.5", "not a whole number"),
        ("customer_id", "x" * 201, "id longer than 200"),
        ("product", "长" * 1001, "longer than 1000 characters"),
        ("order_id", "1.23457E+15", "mangled by Excel"),
        ("delivered_at", "2026-01-30", "is before ordered_at"),
    ],
)
def test_each_bad_value_names_its_column(
    orders_plan: Plan, field: str, value: str, reason: str
) -> None:
    [(column, text)] = reasons(orders_plan, order_row(**{field: value}))
    assert column == field
    assert reason in text


def test_all_bad_cells_of_a_row_are_reported(orders_plan: Plan) -> None:
    got = reasons(orders_plan, order_row(amount="x", ordered_at="", quantity="-2"))
    assert [c for c, _ in got] == ["ordered_at", "quantity", "amount"]


def test_wrong_field_count(orders_plan: Plan) -> None:
    [(column, text)] = reasons(orders_plan, order_row()[:5])
    assert column == "-"
    assert "5 fields" in text
    # Trailing empty cells (Excel likes them) are fine.
    record, _ = convert_row(orders_plan, [*order_row(), "", ""], 3)
    assert record is not None


def test_formula_looking_cells_are_kept_as_text(orders_plan: Plan) -> None:
    record, errors = convert_row(orders_plan, order_row(product='=HYPERLINK("x")', sku="@S1"), 2)
    assert errors == []
    assert record is not None
    assert '=HYPERLINK("x")' in record and "@S1" in record


def test_amount_tolerates_currency_and_grouping(orders_plan: Plan) -> None:
    record, _ = convert_row(orders_plan, order_row(amount="¥1,234.50"), 2)
    assert record is not None and record[ORDER_HEADER.index("amount")] == pytest.approx(1234.5)
    assert reasons(orders_plan, order_row(amount="12,5")) == [("amount", "'12,5' is not a number")]


def test_customer_fields() -> None:
    header = list(field_names(Kind.CUSTOMERS))
    plan = plan_header(Kind.CUSTOMERS, header)
    row = [
        "C1",
        "王芳",
        "138",
        "",
        "",
        "02-29",
        "vip",
        "12",
        "是",
        "回头客， 孕妈 ;;",
        "English",
        "闰04-30",
    ]
    record, errors = convert_row(plan, row, 2)
    assert errors == [] and record is not None
    values = dict(zip(header, record, strict=True))
    assert values["birthday"] == "0000-02-29"
    assert values["lunar_birthday"] == "闰04-30"
    assert values["opt_out"] == 1
    assert values["points"] == 12
    assert values["tags"] == "回头客,孕妈"
    assert values["language"] == "en"
    bad = [*row[:5], "02-30", "vip", "-1", "maybe", "", "??", "13-01"]
    got = reasons(plan, bad)
    assert [c for c, _ in got] == ["birthday", "points", "opt_out", "language", "lunar_birthday"]


def test_product_cycle_days_range() -> None:
    plan = plan_header(Kind.PRODUCTS, ["sku", "name", "cycle_days"])
    assert convert_row(plan, ["S1", "面膜", "30"], 2)[0] == ("S1", "面膜", None, 30, None)
    assert reasons(plan, ["S1", "面膜", "0"]) == [("cycle_days", "cycle_days below 1")]
    assert reasons(plan, ["S1", "", "5"]) == [("name", "required value is empty")]


def test_header_mapping_and_labels() -> None:
    plan = plan_header(
        Kind.ORDERS,
        ["订单号", "买家", "下单时间", "实付", "备注"],
        {"订单号": "order_id", "买家": "customer_id", "下单时间": "ordered_at", "实付": "amount"},
    )
    assert plan.ignored == ("备注",)
    assert set(plan.present) == {"order_id", "customer_id", "ordered_at", "amount"}
    [(column, _)] = reasons(plan, ["O1", "C1", "2026-01-01", "x", ""])
    assert column == "实付 (amount)"


def test_header_is_case_and_space_insensitive() -> None:
    plan = plan_header(Kind.PRODUCTS, [" SKU ", "Name"])
    assert plan.present == ("sku", "name")


@pytest.mark.parametrize(
    ("header", "mapping", "message"),
    [
        (["order_id", "customer_id", "amount"], None, "missing required column ordered_at"),
        (ORDER_HEADER, {"nope": "order_id"}, "has no column 'nope'"),
        (ORDER_HEADER, {"sku": "colour"}, "unknown field 'colour'"),
        (["", ""], None, "header row is empty"),
    ],
)
def test_header_errors(header: list[str], mapping: dict[str, str] | None, message: str) -> None:
    with pytest.raises(CsvFileError, match=message) as info:
        plan_header(Kind.ORDERS, header, mapping)
    assert info.value.line == 1


def test_mapping_parsers() -> None:
    assert parse_mapping_items(["客户 ID=customer_id", "a=b=sku"]) == {
        "客户 ID": "customer_id",
        "a=b": "sku",
    }
    with pytest.raises(ValueError, match="CSV_COLUMN=FIELD"):
        parse_mapping_items(["customer_id"])
    assert parse_mapping_text('"客户ID" = "customer_id"\n') == {"客户ID": "customer_id"}
    assert parse_mapping_text("# comment\n客户ID = customer_id\n\n实付=amount\n") == {
        "客户ID": "customer_id",
        "实付": "amount",
    }
    with pytest.raises(ValueError, match="must map to a field name"):
        parse_mapping_text("a = 1\n")


# --- the batch fast path must agree with convert_row ----------------------------------------

POOLS = {
    "order_id": ["O1", "O2", "", " O3", "1.2E+15", "=1+1"],
    "customer_id": ["C1", "C2", "@c", "x" * 201],
    "ordered_at": ["2026-01-31", "2026-02-01 10:00", "2026-02-01T10:00:05", "2026-02-30", ""],
    "shipped_at": ["", "2026-02-02", "2026-02-02 24:00", "2026-02-02 23:59:60", "0000-01-01"],
    "delivered_at": ["", "2026-02-03 08:00:00", "2026-01-01", "soon", "2026-02-03 08:00:0٣"],
    "sku": ["S1", "", "-S2"],
    "product": ["豆浆粉", "", "a\nb", "长" * 1001, " padded "],
    "category": ["food", ""],
    "quantity": ["", "1", "3", "-1", "2.0", "007"],
    "amount": ["19.90", "0", "5", "-1", "¥1,200", "abc", "", "1e3", "1_0"],
    "status": ["", "paid", "Cancelled", " refunded ", "closed"],
    "refunded": ["", "3.5", "-1"],
    "customer_name": ["", "张三", " 李四 "],
    "phone": ["", "138****1234"],
    "email": ["", "a@b.c"],
}


def _reference(plan: Plan, rows: list[list[str]], lines: list[int]) -> tuple[list, list]:
    good, errors = [], []
    for row, line in zip(rows, lines, strict=True):
        record, errs = convert_row(plan, row, line)
        if record is None:
            errors.extend(errs)
        else:
            good.append((line, *record))
    return good, errors


def test_clean_batch_takes_the_fast_path(orders_plan: Plan) -> None:
    rows = [order_row(order_id=f"O{i}", quantity=str(i % 3)) for i in range(50)]
    lines = list(range(2, 52))
    fast = _convert_fast(orders_plan, rows, lines)  # raises _Slow if it could not
    assert fast == _reference(orders_plan, rows, lines)[0]


@settings(max_examples=120, deadline=None)
@given(st.data())
def test_batches_match_row_by_row(data: st.DataObject) -> None:
    header = data.draw(st.permutations(ORDER_HEADER))
    plan = plan_header(Kind.ORDERS, list(header))
    n = data.draw(st.integers(1, 6))
    rows = [[data.draw(st.sampled_from(POOLS[h])) for h in header] for _ in range(n)]
    lines = list(range(2, 2 + n))
    assert convert_rows(plan, rows, lines) == _reference(plan, rows, lines)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_customer_and_product_batches_match(data: st.DataObject) -> None:
    pools = {
        "customer_id": ["C1", "C2", " C3"],
        "name": ["王芳", "", "x\ny"],
        "birthday": ["", "1990-02-28", "02-29", "02-30"],
        "points": ["", "0", "12", "-3", "1.5"],
        "opt_out": ["", "0", "1", "是", "maybe"],
        "tags": ["", "a,b", "回头客；新客"],
        "sku": ["S1", "S2", ""],
        "cycle_days": ["", "30", "0", "4000"],
    }
    kind = data.draw(st.sampled_from([Kind.CUSTOMERS, Kind.PRODUCTS]))
    header = [h for h in field_names(kind) if h in pools or h == "name"]
    plan = plan_header(kind, header)
    n = data.draw(st.integers(1, 5))
    rows = [[data.draw(st.sampled_from(pools[h])) for h in header] for _ in range(n)]
    lines = list(range(2, 2 + n))
    assert convert_rows(plan, rows, lines) == _reference(plan, rows, lines)


def test_whitespace_list_is_what_str_isspace_accepts() -> None:
    from tui_agent.core.csvrows import WHITESPACE

    assert {chr(i) for i in range(0x110000) if chr(i).isspace()} == WHITESPACE


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("", "zh"),
        ("EN", "en"),
        ("English", "en"),
        ("中文", "zh"),
        ("zh-CN", "zh"),
        ("en_US", "en"),
        ("ja", "ja"),
    ],
)
def test_language_column(raw: str, expected: str) -> None:
    from tui_agent.core.csvrows import _language

    assert _language(raw) == expected


def test_language_column_rejects_nonsense() -> None:
    from tui_agent.core.csvrows import _language

    with pytest.raises(ValueError, match="not a language"):
        _language("klingon!")


@pytest.mark.parametrize(
    "when",
    [
        "2026-02-03 08:00:00",
        "2026-02-03 08:00",
        "2026-02-03T08:00:05",
        "2026-02-03",
        "2026-02-03 24:00",
        "2026-02-03 23:60",
        "2026-02-03 23:59:60",
        "2026-02-30 10:00:00",
        "0000-01-01",
        "2026-02-03 0\u0668:00:00",
        "2026-02-03  08:00",
    ],
)
def test_date_columns_match_row_by_row(orders_plan: Plan, when: str) -> None:
    # A whole batch of stored-form dates plus one odd value: both paths must agree on it.
    rows = [order_row(order_id=f"O{i}", delivered_at="2026-02-03 10:00:00") for i in range(9)]
    rows.append(order_row(order_id="O9", delivered_at=when))
    lines = list(range(2, 12))
    assert convert_rows(orders_plan, rows, lines) == _reference(orders_plan, rows, lines)
