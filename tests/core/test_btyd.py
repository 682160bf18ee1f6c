"""core.btyd's closed forms on hand-worked cases (the CDNOW agreement is in tests/store)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tui_agent.core import btyd

MODEL = btyd.BgNbd(r=0.25, alpha=40.0, a=0.5, b=2.0, log_likelihood=0.0)


def test_p_alive_by_hand() -> None:
    # x = 2, t_x = 100, T = 300: 1 / (1 + a / (b + x - 1) * ((alpha + T) / (alpha + t_x))^(r+x))
    odds = 0.5 / 3.0 * (340.0 / 140.0) ** 2.25
    got = btyd.p_alive(MODEL, np.array([2.0]), np.array([100.0]), np.array([300.0]))
    assert got[0] == pytest.approx(1 / (1 + odds))
    # no repeat purchase: BG/NBD cannot have dropped them (dropout follows a purchase)
    assert btyd.p_alive(MODEL, np.array([0.0]), np.array([0.0]), np.array([300.0]))[0] == 1.0


def test_expected_purchases_grow_with_the_horizon_and_vanish_for_the_gone() -> None:
    x, t_x, T = np.array([3.0, 3.0]), np.array([200.0, 20.0]), np.array([210.0, 400.0])
    e90 = btyd.expected_purchases(MODEL, 90, x, t_x, T)
    e365 = btyd.expected_purchases(MODEL, 365, x, t_x, T)
    assert np.all(e365 > e90) and np.all(e90 > 0)
    assert e365[1] < e365[0] / 10  # quiet for 380 days: probably gone


def test_next_order_only_when_more_likely_than_not() -> None:
    T = np.array([300.0, 300.0])
    days = btyd.next_order_days(MODEL, np.array([2.0, 2.0]), T, np.array([0.9, 0.4]))
    # p_alive (1 - ((alpha + T) / (alpha + T + t))^(r + x)) = 1/2 at t:
    t = 340.0 * ((1 - 0.5 / 0.9) ** (-1 / 2.25) - 1)
    assert days[0] == pytest.approx(t)
    assert math.isnan(days[1])


def test_gamma_gamma_value_shrinks_to_the_population_mean() -> None:
    gg = btyd.GammaGamma(p=6.0, q=4.0, v=15.0, log_likelihood=0.0)
    assert gg.mean_value == pytest.approx(30.0)
    got = btyd.expected_order_value(gg, np.array([0.0, 1.0, 50.0]), np.array([0.0, 90.0, 90.0]))
    assert got[0] == pytest.approx(30.0)  # nobody came back: the population's mean
    assert 30.0 < got[1] < got[2] < 90.0  # more repeat orders, closer to their own mean
    assert got[1] == pytest.approx(6.0 * (15.0 + 90.0) / (6.0 + 4.0 - 1))


def test_thresholds_say_what_is_missing() -> None:
    rows = [btyd.Summary(f"c{i}", 1 if i < 10 else 0, 5.0, 100.0, 10.0) for i in range(40)]
    limits = btyd.thresholds(rows)
    assert not limits.enough
    assert limits.missing == (
        "40 customers (need 500)",
        "100 days of history (need 180)",
        "10 repeat customers (need 30)",
    )


def _ridge_customers(n: int = 3000) -> list[btyd.Summary]:
    """Repeat customers whose order values hardly vary: Gamma-Gamma's q and v then grow
    together without bound (the likelihood keeps rising along a ridge in its last digits)."""
    rng = np.random.default_rng(5)
    out = []
    for i in range(n):
        x = int(rng.integers(1, 6))
        m = 80.0 * (1 + 1e-3 * rng.standard_normal())
        out.append(btyd.Summary(f"c{i}", x, 30.0 * x, 400.0, m))
    return out


def test_gamma_gamma_on_a_ridge_stops_in_a_bounded_number_of_evaluations(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The shop-scale bench's first `stats` spent 3 minutes here: L-BFGS-B stopped on the
    ridge ("ABNORMAL" line search) and Nelder-Mead then ran 40,000 evaluations to move the
    likelihood in its 12th digit. With the analytic gradient and no polishing where the
    gradient is flat, a few hundred evaluations at most; the expected order values stay
    within the values seen."""
    calls = 0
    real = btyd.gamma_gamma_log_likelihood

    def counted(*args: object, **kw: object) -> np.ndarray:
        nonlocal calls
        calls += 1
        return real(*args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(btyd, "gamma_gamma_log_likelihood", counted)
    rows = _ridge_customers()
    gg = btyd.fit_gamma_gamma(rows)
    assert gg is not None
    assert calls <= 300, calls
    x = np.array([s.x for s in rows], dtype=float)
    m = np.array([s.m for s in rows], dtype=float)
    got = btyd.expected_order_value(gg, x, m)
    assert np.all(got >= m.min()) and np.all(got <= m.max())


def test_gamma_gamma_gradient_matches_the_likelihood() -> None:
    rows = _ridge_customers(200)
    x = np.array([s.x for s in rows], dtype=float)
    m = np.array([s.m for s in rows], dtype=float) / 80.0
    params = np.array([1.3, 4.0, 3.0])
    got = btyd.gamma_gamma_gradient(params, x, m)
    for i in range(3):
        step = np.zeros(3)
        step[i] = 1e-6
        up = btyd.gamma_gamma_log_likelihood(params + step, x, m).sum()
        down = btyd.gamma_gamma_log_likelihood(params - step, x, m).sum()
        assert got[i] == pytest.approx((up - down) / 2e-6, rel=1e-5)
