"""Issue 15: random bytes and random CSV-ish text fed to the importer give a clean import or
a one-line error (CsvFileError, BadRowsError), never another exception; on error the
database is exactly as it was."""

from __future__ import annotations

import tempfile
from pathlib import Path

import sqlite_utils
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.reliability.test_bad_input import TABLES, snapshot
from tui_agent.cli import main
from tui_agent.core.csvrows import BadRowsError, CsvFileError, Kind, field_names
from tui_agent.store import importer
from tui_agent.store.db import connect

SEED_CUSTOMERS = "customer_id,name\nC1,王芳\n"
IMPORT = {
    Kind.CUSTOMERS: importer.import_customers,
    Kind.ORDERS: importer.import_orders,
    Kind.PRODUCTS: importer.import_products,
}
CELLS = st.one_of(
    st.sampled_from(
        ["", "C1", "O1", "S1", "2026-01-02", "2026-02-30", "10", "-1", "1e308", "nan",
         "王芳", "是", "=1+1", '"', "\x1b]0;x\x07", "\u202e", "13800000001", " ", "\t"]
    ),
    st.text(max_size=12),
)  # fmt: skip
SEPARATORS = st.sampled_from([",", "\t", ";", ",,", '","'])
LINE_ENDS = st.sampled_from(["\n", "\r\n", "\r", ""])
ENCODINGS = st.sampled_from(["utf-8", "utf-8-sig", "gb18030", "utf-16", "latin-1"])


@st.composite
def csvish(draw: st.DrawFn, kind: Kind) -> bytes:
    names = list(field_names(kind))
    header = draw(
        st.lists(st.sampled_from([*names, "x", "", "名字"]), min_size=1, max_size=len(names) + 2)
    )
    sep = draw(SEPARATORS)
    end = draw(LINE_ENDS)
    rows = draw(
        st.lists(st.lists(CELLS, min_size=0, max_size=len(header) + 2), min_size=0, max_size=6)
    )
    text = sep.join(header) + "\n" + "".join(sep.join(r) + end for r in rows)
    return text.encode(draw(ENCODINGS), errors="replace")


def _check(data: bytes, kind: Kind, skip_bad: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        db = connect(folder / "s.db")
        (folder / "seed.csv").write_text(SEED_CUSTOMERS, encoding="utf-8")
        importer.import_customers(db, folder / "seed.csv")
        before = snapshot(db)
        src = folder / "in.csv"
        src.write_bytes(data)
        try:
            IMPORT[kind](db, src, skip_bad=skip_bad)
        except CsvFileError as exc:
            line = exc.format(src)
            assert "\n" not in line and line.strip()
            assert snapshot(db) == before
        except BadRowsError as exc:
            assert exc.result.rejected > 0
            for error in exc.result.errors:
                assert "\n" not in error.format(src)
            assert snapshot(db) == before
        db.close()
        # the database is still a healthy tui-agent database
        check = sqlite_utils.Database(folder / "s.db")
        assert check.execute("PRAGMA quick_check").fetchone()[0] == "ok"
        assert {t for t in TABLES} <= set(check.table_names())


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=400), kind=st.sampled_from(list(Kind)), skip=st.booleans())
def test_random_bytes(data: bytes, kind: Kind, skip: bool) -> None:
    _check(data, kind, skip)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_random_csvish_text(data: st.DataObject) -> None:
    kind = data.draw(st.sampled_from(list(Kind)))
    _check(data.draw(csvish(kind)), kind, data.draw(st.booleans()))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_random_input_through_the_command(data: st.DataObject) -> None:
    kind = data.draw(st.sampled_from(list(Kind)))
    payload = data.draw(st.one_of(csvish(kind), st.binary(max_size=300)))
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in.csv"
        src.write_bytes(payload)
        r = CliRunner().invoke(
            main, ["--db", str(Path(tmp) / "s.db"), "import", kind.value, str(src)]
        )
        assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
        assert r.exit_code in (0, 1), r.output
        assert "Traceback" not in r.output
        if r.exit_code == 1:
            assert r.output.strip().splitlines()[-1].startswith("Error: ")
