"""Each customer's BTYD predictions, cached in the database (see ``core.btyd`` for the model).

:func:`refresh` fits BG/NBD and Gamma-Gamma on every customer's order days up to ``today`` and
stores the fit (``model_fits``, kind ``btyd``) and one row per customer
(``customer_predictions``) in one write transaction: readers see the old fit or the new one,
never half of one. It takes about a second at 200k customers, so it runs after imports, from
``tui-agent stats --refresh-model`` and in a console worker when :func:`is_stale`, never on the
console's first paint.

The readers (:func:`predictions_for`, :func:`model_summary`, :func:`low_p_alive_customers`)
only read those tables: no scipy, no fit.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlite_utils

from tui_agent.store.db import write_tx

if TYPE_CHECKING:
    from tui_agent.core.btyd import Summary

KIND = "btyd"
PREDICTION_KEYS = (
    "p_alive",
    "expected_purchases_90d",
    "expected_purchases_365d",
    "predicted_next_order",
    "clv_365d",
)


def predictions_for(db: sqlite_utils.Database, customer_id: str) -> dict[str, Any] | None:
    """The customer's cached predictions, or None (no fit yet, too little data, no orders).

    Keys: ``p_alive`` (0-1), ``expected_purchases_90d``, ``expected_purchases_365d``,
    ``predicted_next_order`` (``YYYY-MM-DD`` or None when the customer is more likely gone than
    not) and ``clv_365d`` (expected value of the next 365 days' orders; None when the spend
    model could not be fitted). One primary-key read.
    """
    try:
        row = db.execute(
            "SELECT p_alive, expected_purchases_90d, expected_purchases_365d, "
            "predicted_next_order, clv_365d FROM customer_predictions WHERE customer_id = ?",
            [customer_id],
        ).fetchone()
    except sqlite3.OperationalError as exc:  # an older schema without the table
        if "no such table" in str(exc):
            return None
        raise
    if row is None:
        return None
    out = dict(zip(PREDICTION_KEYS, row, strict=True))
    for key in ("p_alive", "expected_purchases_90d", "expected_purchases_365d"):
        out[key] = round(out[key], 4)
    if out["clv_365d"] is not None:
        out["clv_365d"] = round(out["clv_365d"], 2)
    return out


def missing_reason(db: sqlite_utils.Database, customer_id: str) -> str:
    """Why :func:`predictions_for` has nothing for this customer, in a few words."""
    try:
        info = model_summary(db)
    except sqlite3.OperationalError as exc:  # an older schema without the table
        if "no such table" in str(exc):
            return "no fit yet (tui-agent stats --refresh-model)"
        raise
    if info is None:
        return "no fit yet (tui-agent stats --refresh-model)"
    if not info.get("fitted"):
        return "too little data: " + "; ".join(info.get("missing") or ["not fitted"])
    ordered = db.execute(
        "SELECT 1 FROM orders WHERE customer_id = ? LIMIT 1", [customer_id]
    ).fetchone()
    if ordered is None:
        return "no orders yet"
    return f"orders newer than the fit of {info['as_of']} (refitted after imports)"


def orders_fingerprint(db: sqlite_utils.Database) -> str:
    """What the fit was computed from: the orders' count, highest rowid and total amount."""
    row = db.execute(
        "SELECT count(*), max(rowid), total(amount) FROM orders "
        "INDEXED BY idx_orders_customer_amount"
    ).fetchone()
    return json.dumps([row[0], row[1], round(row[2], 2)])


def model_summary(db: sqlite_utils.Database) -> dict[str, Any] | None:
    """The cached fit as stored (parameters, thresholds, what is missing), or None."""
    row = db.execute(
        "SELECT as_of, fitted_at, body FROM model_fits WHERE kind = ?", [KIND]
    ).fetchone()
    if row is None:
        return None
    body: dict[str, Any] = json.loads(row[2])
    return {"as_of": row[0], "fitted_at": row[1], **body}


def clv_summary(db: sqlite_utils.Database, today: date) -> dict[str, Any]:
    """The ``clv`` object of ``tui-agent stats --json``: the fitted parameters (flat: ``r``,
    ``alpha``, ``a``, ``b``, Gamma-Gamma ``p``, ``q``, ``v``; None when not fitted), the data
    thresholds and what is missing, whether the fit is stale, and shop totals of the
    predictions."""
    info = model_summary(db)
    if info is None:
        return {"fitted": False, "stale": True, "missing": ["no fit yet (run stats)"]}
    bg = info.get("bgnbd") or {}
    gg = info.get("gamma_gamma") or {}
    out: dict[str, Any] = {
        "fitted": info["fitted"],
        "model": info["model"],
        "time_unit": info["time_unit"],
        "as_of": info["as_of"],
        "stale": is_stale(db, today),
        **{k: _round(bg.get(k)) for k in ("r", "alpha", "a", "b")},
        **{k: _round(gg.get(k)) for k in ("p", "q", "v")},
        "thresholds": info["thresholds"],
        "missing": info["missing"],
    }
    n, alive, e90, e365, clv, likely_gone = db.execute(
        "SELECT count(*), avg(p_alive), total(expected_purchases_90d), "
        "total(expected_purchases_365d), total(clv_365d), total(p_alive < 0.5) "
        "FROM customer_predictions"
    ).fetchone()
    out["customers"] = n
    out["mean_p_alive"] = _round(alive)
    out["expected_orders_90d"] = round(e90, 1)
    out["expected_orders_365d"] = round(e365, 1)
    out["clv_365d_total"] = round(clv, 2)
    out["customers_likely_gone"] = int(likely_gone)
    return out


def _round(x: float | None, digits: int = 6) -> float | None:
    return None if x is None else round(float(x), digits)


def is_stale(db: sqlite_utils.Database, today: date) -> bool:
    """True when there is no fit, or it is of another day or other orders."""
    row = db.execute("SELECT as_of, fingerprint FROM model_fits WHERE kind = ?", [KIND]).fetchone()
    return row is None or row[0] != today.isoformat() or row[1] != orders_fingerprint(db)


def low_p_alive_customers(db: sqlite_utils.Database, threshold: float) -> list[str]:
    """Customers whose cached P(alive) is below ``threshold``, in customer id order.

    For the win-back rule (``winback.p_alive_below`` in rules.toml). Empty without a fit.
    """
    return [
        r[0]
        for r in db.execute(
            "SELECT customer_id FROM customer_predictions WHERE p_alive < ? ORDER BY customer_id",
            [threshold],
        )
    ]


def expected_values(db: sqlite_utils.Database, customer_ids: list[str]) -> dict[str, float]:
    """Cached ``clv_365d`` of the given customers (those with one), to rank a queue by."""
    out: dict[str, float] = {}
    for i in range(0, len(customer_ids), 500):
        chunk = customer_ids[i : i + 500]
        marks = ",".join("?" * len(chunk))
        for cid, value in db.execute(
            f"SELECT customer_id, clv_365d FROM customer_predictions "
            f"WHERE customer_id IN ({marks}) AND clv_365d IS NOT NULL",
            chunk,
        ):
            out[cid] = float(value)
    return out


def summaries(db: sqlite_utils.Database, today: date) -> list[Summary]:
    """Every customer's BTYD summary over their order days up to ``today`` (inclusive).

    An order day is a customer's orders of one calendar day (their amounts summed); ``m`` is
    the mean value of the order days after the first.
    """
    from tui_agent.core.btyd import Summary

    hi = (today + timedelta(days=1)).isoformat()
    rows = db.execute(
        """
        SELECT customer_id, julianday(substr(ordered_at, 1, 10)) AS day, total(amount)
        FROM orders INDEXED BY idx_orders_customer_amount
        WHERE ordered_at < ? GROUP BY customer_id, day ORDER BY customer_id, day
        """,
        [hi],
    )
    end = float(db.execute("SELECT julianday(?)", [today.isoformat()]).fetchone()[0])
    out: list[Summary] = []
    cid: str | None = None
    first = last = repeat_value = 0.0
    n = 0

    def flush() -> None:
        if cid is not None:
            x = n - 1
            out.append(Summary(cid, x, last - first, end - first, repeat_value / x if x else 0.0))

    for c, day, value in rows:
        if c != cid:
            flush()
            cid, first, last, n, repeat_value = c, day, day, 1, 0.0
        else:
            last = day
            n += 1
            repeat_value += value
    flush()
    return out


@dataclass(frozen=True, slots=True)
class RefreshResult:
    fitted: bool
    customers: int
    missing: tuple[str, ...]


def refresh(db: sqlite_utils.Database, today: date) -> RefreshResult:
    """Fit the models on the orders up to ``today`` and store the fit and predictions.

    With too little data the stored fit says what is missing and the predictions are cleared.
    """
    from tui_agent.core import btyd

    fingerprint = orders_fingerprint(db)
    rows = summaries(db, today)
    limits = btyd.thresholds(rows)
    body: dict[str, Any] = {
        "fitted": False,
        "model": "BG/NBD + Gamma-Gamma",
        "time_unit": "days",
        "thresholds": {
            "customers": limits.customers,
            "min_customers": limits.min_customers,
            "history_days": limits.history_days,
            "min_history_days": limits.min_history_days,
            "repeat_customers": limits.repeat_customers,
            "min_repeat_customers": limits.min_repeat_customers,
        },
        "missing": list(limits.missing),
    }
    records: list[tuple[Any, ...]] = []
    if limits.enough:
        model = btyd.fit_bgnbd(rows)
        gg = btyd.fit_gamma_gamma(rows)
        body["fitted"] = True
        body["bgnbd"] = {
            "r": model.r, "alpha": model.alpha, "a": model.a, "b": model.b,
            "log_likelihood": model.log_likelihood,
        }  # fmt: skip
        body["gamma_gamma"] = (
            None
            if gg is None
            else {"p": gg.p, "q": gg.q, "v": gg.v, "log_likelihood": gg.log_likelihood}
        )
        for p in btyd.predict(model, gg, rows):
            nxt = p.next_order_in_days
            records.append(
                (
                    p.customer_id,
                    p.p_alive,
                    p.expected_purchases_90d,
                    p.expected_purchases_365d,
                    p.expected_order_value,
                    p.clv_365d,
                    None if nxt is None else (today + timedelta(days=nxt)).isoformat(),
                )
            )
        body["customers_predicted"] = len(records)
    now = datetime.now().strftime("%Y-%m-%d %H:%M:%S")
    with write_tx(db):
        db.execute("DELETE FROM customer_predictions")
        db.conn.executemany(
            "INSERT INTO customer_predictions VALUES (?, ?, ?, ?, ?, ?, ?)", records
        )
        db.execute(
            "INSERT INTO model_fits(kind, as_of, fingerprint, fitted_at, body) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT(kind) DO UPDATE SET as_of = excluded.as_of, "
            "fingerprint = excluded.fingerprint, fitted_at = excluded.fitted_at, "
            "body = excluded.body",
            [KIND, today.isoformat(), fingerprint, now, json.dumps(body)],
        )
    return RefreshResult(bool(body["fitted"]), len(rows), limits.missing)


def refresh_stale(db: sqlite_utils.Database, today: date) -> list[str]:
    """Refresh what is stale for ``today``: the BTYD fit and predictions, the stored RFM
    segments. Returns what was refreshed (``"predictions"``, ``"segments"``)."""
    from tui_agent.store import analytics

    done = []
    stale = is_stale(db, today)
    if stale or not analytics.stored_segments_current(db, today):
        analytics.refresh_segments(db, today)
        done.append("segments")
    if stale:
        refresh(db, today)
        done.append("predictions")
    return done


def background_command(db_path: str, today: date) -> list[str]:
    """The command line that runs :func:`refresh_stale` in a process of its own (so the
    console's memory never holds scipy and its CPU time never competes with the UI thread)."""
    import sys

    code = (
        "import os, sys; from datetime import date; "
        "hasattr(os, 'nice') and os.nice(10); "
        "from tui_agent.store.db import connect; "
        "from tui_agent.store.predictions import refresh_stale; "
        "db = connect(sys.argv[1], create=False); "
        "refresh_stale(db, date.fromisoformat(sys.argv[2]))"
    )
    return [sys.executable, "-c", code, db_path, today.isoformat()]
