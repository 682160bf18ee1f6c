"""The BTYD fit on CDNOW agrees with ``lifetimes`` (the published reference implementation).

``lifetimes`` is a test dependency only: here it is the reference, fed the same summary the
store computes (and its own summary of the raw file is checked to be that same summary).
"""

from __future__ import annotations

import subprocess
import warnings
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlite_utils

with warnings.catch_warnings():  # lifetimes sets a pandas option pandas 3 deprecated
    warnings.simplefilter("ignore")
    from lifetimes import BetaGeoFitter, GammaGammaFitter
    from lifetimes.utils import summary_data_from_transaction_data

from tests.store.test_analytics_cdnow import Lines, lines, shop  # noqa: F401  (fixtures)
from tui_agent.core import btyd
from tui_agent.store import predictions as pr

AS_OF = date(1998, 6, 30)


@pytest.fixture(scope="module")
def summary(shop: sqlite_utils.Database) -> list[btyd.Summary]:  # noqa: F811
    return pr.summaries(shop, AS_OF)


@pytest.fixture(scope="module")
def arrays(summary: list[btyd.Summary]) -> tuple[np.ndarray, ...]:
    x = np.array([s.x for s in summary], dtype=float)
    t_x = np.array([s.t_x for s in summary], dtype=float)
    T = np.array([s.T for s in summary], dtype=float)
    m = np.array([s.m for s in summary], dtype=float)
    return x, t_x, T, m


@pytest.fixture(scope="module")
def reference(arrays: tuple[np.ndarray, ...]) -> BetaGeoFitter:
    x, t_x, T, _ = arrays
    bg = BetaGeoFitter()
    bg.fit(x, t_x, T)
    return bg


def test_store_summary_is_lifetimes_summary(
    summary: list[btyd.Summary],
    lines: Lines,  # noqa: F811
) -> None:
    raw = pd.DataFrame(lines, columns=["cid", "day", "cds", "dollars"])
    raw["day"] = pd.to_datetime(raw["day"])
    ref = summary_data_from_transaction_data(
        raw, "cid", "day", monetary_value_col="dollars", observation_period_end=str(AS_OF)
    )
    assert len(summary) == len(ref) == 23570
    for s in summary[::97]:
        row = ref.loc[s.customer_id]
        assert s.x == row["frequency"]
        assert s.t_x == row["recency"]
        assert row["T"] == s.T
        assert s.m == pytest.approx(row["monetary_value"], abs=1e-9)


def test_bgnbd_parameters_agree_with_lifetimes(
    summary: list[btyd.Summary], reference: BetaGeoFitter
) -> None:
    model = btyd.fit_bgnbd(summary)
    ref = reference.params_
    for name in ("r", "alpha", "a", "b"):
        assert getattr(model, name) == pytest.approx(ref[name], rel=0.01), name
    # and the published CDNOW fit in weeks (Fader, Hardie and Lee 2005: r 0.243, alpha 4.414,
    # a 0.793, b 2.426) is another data set cut (the 2,357-customer sample): only sanity here
    assert 0.1 < model.r < 1 and 0.1 < model.a < 2


def test_p_alive_and_expected_purchases_agree_per_customer(
    summary: list[btyd.Summary], reference: BetaGeoFitter, arrays: tuple[np.ndarray, ...]
) -> None:
    x, t_x, T, _ = arrays
    model = btyd.fit_bgnbd(summary)
    mine = btyd.predict(model, None, summary)
    ref_alive = reference.conditional_probability_alive(x, t_x, T)
    got = np.array([p.p_alive for p in mine])
    assert np.max(np.abs(got - ref_alive)) < 0.005
    ref_365 = reference.conditional_expected_number_of_purchases_up_to_time(365, x, t_x, T)
    got_365 = np.array([p.expected_purchases_365d for p in mine])
    assert np.max(np.abs(got_365 - ref_365) / np.maximum(ref_365, 0.01)) < 0.01
    # customers who never came back are certainly alive in BG/NBD (no dropout before a repeat)
    assert all(p.p_alive == 1.0 for p, s in zip(mine, summary, strict=True) if s.x == 0)


def test_gamma_gamma_agrees_with_lifetimes(
    summary: list[btyd.Summary], arrays: tuple[np.ndarray, ...]
) -> None:
    x, _, _, m = arrays
    keep = (x > 0) & (m > 0)
    ref = GammaGammaFitter()
    ref.fit(x[keep], m[keep])
    gg = btyd.fit_gamma_gamma(summary)
    assert gg is not None
    for name in ("p", "q", "v"):
        assert getattr(gg, name) == pytest.approx(ref.params_[name], rel=0.01), name
    expected = ref.conditional_expected_average_profit(pd.Series(x[keep]), pd.Series(m[keep]))
    got = btyd.expected_order_value(gg, x[keep], m[keep])
    assert np.allclose(got, expected.to_numpy(), rtol=0.01)


def test_refresh_stores_fit_and_predictions(shop: sqlite_utils.Database) -> None:  # noqa: F811
    result = pr.refresh(shop, AS_OF)
    assert result.fitted and result.missing == ()
    assert not pr.is_stale(shop, AS_OF)
    assert pr.is_stale(shop, date(1998, 7, 1))
    info = pr.model_summary(shop)
    assert info is not None and info["fitted"]
    assert info["bgnbd"]["r"] == pytest.approx(0.2671, rel=0.01)
    one = pr.predictions_for(shop, "00001")
    assert one is not None and set(one) == set(pr.PREDICTION_KEYS)
    assert 0 <= one["p_alive"] <= 1
    assert pr.predictions_for(shop, "no such customer") is None
    low = pr.low_p_alive_customers(shop, 0.1)
    assert low and all(pr.predictions_for(shop, c)["p_alive"] < 0.1 for c in low[:20])  # type: ignore[index]


def test_background_refresh_process(tmp_path: Path) -> None:
    """The console's refresh runs in its own process and stores both caches."""
    from tests.analytics_data import build_shop
    from tui_agent.store import analytics as an
    from tui_agent.store.db import connect

    path = tmp_path / "shop.db"
    db = connect(path)
    build_shop(db)
    today = date(2024, 3, 31)
    subprocess.run(pr.background_command(str(path), today), check=True, timeout=120)
    assert an.stored_segments_current(db, today)
    info = pr.model_summary(db)
    assert info is not None and info["fitted"] is False  # 4 customers: says what is missing
    assert info["missing"] == [
        "4 customers (need 500)",
        "107 days of history (need 180)",
        "2 repeat customers (need 30)",
    ]
    assert pr.refresh_stale(db, today) == []  # nothing stale any more
