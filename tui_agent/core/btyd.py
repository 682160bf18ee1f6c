"""Buy-till-you-die predictions: BG/NBD for orders, Gamma-Gamma for their value.

Pure (numpy and scipy, no SQL): :func:`fit` takes one summary row per customer and returns the
fitted parameters, :func:`predict` the per-customer figures. Time is in days.

Per customer the summary is, over distinct order days (two orders on one day are one purchase,
as in the papers and in ``lifetimes``):

- ``x``: repeat purchases (distinct order days - 1);
- ``t_x``: days from the first to the last order day (0 when ``x`` is 0);
- ``T``: days from the first order day to the day of the fit (the customer's age);
- ``m``: the average value of the repeat purchases (Gamma-Gamma uses only ``x >= 1`` and
  ``m > 0``).

BG/NBD (Fader, Hardie and Lee 2005, "Counting your customers the easy way"): while active a
customer buys at a Poisson rate ``lambda ~ Gamma(r, alpha)``; after each purchase they drop
out with probability ``p ~ Beta(a, b)``. The parameters maximise the paper's closed-form
log-likelihood (its equation 6), optimised over their logarithms (L-BFGS-B). The test
suite checks the fit on CDNOW against ``lifetimes``' ``BetaGeoFitter`` (the reference; never
imported at run time).

Gamma-Gamma (Fader, Hardie and Lee 2005, "RFM and CLV"; Fader and Hardie's note on the
Gamma-Gamma model): a purchase's value has mean ``1/nu`` per customer, ``nu ~ Gamma(q, v)``,
values ``Gamma(p, nu)``. Assumes value independent of frequency.

Per customer:

- ``p_alive``: the probability they are still active, ``1 / (1 + [x > 0] a / (b + x - 1)
  ((alpha + T) / (alpha + t_x)) ** (r + x))`` (paper, equation 13);
- expected purchases in the next ``t`` days: the paper's equation 10 (Gaussian
  hypergeometric function);
- expected order value: the Gamma-Gamma posterior mean ``(p (v + x m)) / (p x + q - 1)``;
- ``clv_365d``: expected purchases in 365 days x expected order value (undiscounted);
- predicted next order: an active customer's next purchase comes after an exponential wait
  whose rate has the posterior ``Gamma(r + x, alpha + T)``, so by day ``t`` it has come with
  probability ``p_alive (1 - ((alpha + T) / (alpha + T + t)) ** (r + x))``. The predicted day
  is the first where that reaches one half; None when ``p_alive <= 0.5`` (more likely gone).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import optimize, special

# Data needed before a fit is trusted (each says what is missing when not met).
MIN_CUSTOMERS = 500
MIN_HISTORY_DAYS = 180
MIN_REPEAT_CUSTOMERS = 30
HORIZONS = (90, 365)
# Parameters are searched within exp(-30)..exp(30): wide enough for any shop (a data set with
# no dropout drives a to ~0 and b up), narrow enough that exp() never overflows.
LOG_BOUND = 30.0


@dataclass(frozen=True, slots=True)
class Summary:
    """One customer's BTYD summary (see the module docstring)."""

    customer_id: str
    x: int
    t_x: float
    T: float
    m: float  # average value of the repeat purchases (0 when x == 0)


@dataclass(frozen=True, slots=True)
class BgNbd:
    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float


@dataclass(frozen=True, slots=True)
class GammaGamma:
    p: float
    q: float
    v: float
    log_likelihood: float

    @property
    def mean_value(self) -> float:
        """The population's expected order value ``p v / (q - 1)`` (inf when q <= 1)."""
        return self.p * self.v / (self.q - 1) if self.q > 1 else math.inf


@dataclass(frozen=True, slots=True)
class Thresholds:
    """What the data has against what a fit needs."""

    customers: int
    history_days: int
    repeat_customers: int
    min_customers: int = MIN_CUSTOMERS
    min_history_days: int = MIN_HISTORY_DAYS
    min_repeat_customers: int = MIN_REPEAT_CUSTOMERS

    @property
    def missing(self) -> tuple[str, ...]:
        """One phrase per unmet threshold (empty: enough data)."""
        out = []
        if self.customers < self.min_customers:
            out.append(f"{self.customers} customers (need {self.min_customers})")
        if self.history_days < self.min_history_days:
            out.append(f"{self.history_days} days of history (need {self.min_history_days})")
        if self.repeat_customers < self.min_repeat_customers:
            out.append(
                f"{self.repeat_customers} repeat customers (need {self.min_repeat_customers})"
            )
        return tuple(out)

    @property
    def enough(self) -> bool:
        return not self.missing


def thresholds(summaries: Sequence[Summary]) -> Thresholds:
    return Thresholds(
        customers=len(summaries),
        history_days=int(max((s.T for s in summaries), default=0)),
        repeat_customers=sum(1 for s in summaries if s.x > 0),
    )


def bgnbd_log_likelihood(
    params: Sequence[float], x: np.ndarray, t_x: np.ndarray, T: np.ndarray
) -> np.ndarray:
    """Each customer's BG/NBD log-likelihood (Fader, Hardie and Lee 2005, equation 6)."""
    r, alpha, a, b = params
    gl = special.gammaln
    a1 = gl(r + x) - gl(r) + r * np.log(alpha)
    a2 = gl(a + b) + gl(b + x) - gl(b) - gl(a + b + x)
    a3 = -(r + x) * np.log(alpha + T)
    with np.errstate(divide="ignore", invalid="ignore"):
        a4 = np.where(
            x > 0,
            np.log(a) - np.log(np.maximum(b + x - 1, 1e-300)) - (r + x) * np.log(alpha + t_x),
            -np.inf,
        )
    return np.asarray(a1 + a2 + np.logaddexp(a3, a4))


def gamma_gamma_gradient(params: Sequence[float], x: np.ndarray, m: np.ndarray) -> np.ndarray:
    """The gradient of the summed :func:`gamma_gamma_log_likelihood` in ``(p, q, v)``."""
    p, q, v = params
    dg = special.digamma
    px = p * x
    log_xm_v = np.log(x * m + v)
    both = dg(px + q)
    d_p = np.sum(x * (both - dg(px) + np.log(m) + np.log(x) - log_xm_v))
    d_q = np.sum(both - dg(q) + math.log(v) - log_xm_v)
    d_v = np.sum(q / v - (px + q) / (x * m + v))
    return np.array([d_p, d_q, d_v])


def gamma_gamma_log_likelihood(params: Sequence[float], x: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Each repeat customer's Gamma-Gamma log-likelihood of their average value ``m``."""
    p, q, v = params
    gl = special.gammaln
    px = p * x
    return np.asarray(
        gl(px + q)
        - gl(px)
        - gl(q)
        + q * np.log(v)
        + (px - 1) * np.log(m)
        + px * np.log(x)
        - (px + q) * np.log(x * m + v)
    )


# Nelder-Mead's budget when it polishes where L-BFGS-B stopped: on a flat ridge (Gamma-Gamma's
# q and v growing together when customers' order values hardly vary) an unbounded search
# spent 40,000 evaluations, 3 minutes at 130k repeat customers, to move the likelihood in its
# 12th digit.
POLISH_EVALUATIONS = 600
# Where L-BFGS-B gives up in its line search with a gradient this small (per customer, in the
# parameters' logarithms) it stopped on the optimum or on such a ridge: nothing to polish.
FLAT_GRADIENT = 1e-4


Objective = Callable[[np.ndarray], Any]


def _maximise(nll: Objective, start: Sequence[float], *, jac: bool = False) -> np.ndarray:
    """Minimise a negative log-likelihood over the logarithms of positive parameters.

    L-BFGS-B, with the analytic gradient when ``jac`` (``nll`` then returns the value and
    the gradient), else numerical gradients (about 100 evaluations on CDNOW); Nelder-Mead
    from where it stopped, on a bounded budget, when it reports no convergence.
    """
    x0 = np.log(np.asarray(start, dtype=float))
    bounds = [(-LOG_BOUND, LOG_BOUND)] * len(x0)
    with np.errstate(all="ignore"):  # trial points far out give inf/nan: rejected, not noise
        return _run(nll, x0, bounds, jac)


def _run(
    nll: Objective, x0: np.ndarray, bounds: list[tuple[float, float]], jac: bool
) -> np.ndarray:
    res = optimize.minimize(
        nll,
        x0,
        jac=jac,
        method="L-BFGS-B",
        bounds=bounds,
        options={"ftol": 1e-14, "gtol": 1e-10, "maxiter": 2000},
    )
    flat = res.jac is not None and float(np.max(np.abs(res.jac))) <= FLAT_GRADIENT
    if not res.success and not flat:
        value = (lambda p: nll(p)[0]) if jac else nll
        res = optimize.minimize(
            value,
            res.x,
            method="Nelder-Mead",
            bounds=bounds,
            options={
                "xatol": 1e-10,
                "fatol": 1e-12,
                "maxiter": POLISH_EVALUATIONS,
                "maxfev": POLISH_EVALUATIONS,
            },
        )
    return np.asarray(np.exp(res.x))


def fit_bgnbd(summaries: Sequence[Summary]) -> BgNbd:
    """Maximum-likelihood BG/NBD parameters (customers with equal summaries are pooled)."""
    counts = Counter((s.x, s.t_x, s.T) for s in summaries)
    keys = list(counts)
    x = np.array([k[0] for k in keys], dtype=float)
    t_x = np.array([k[1] for k in keys], dtype=float)
    T = np.array([k[2] for k in keys], dtype=float)
    w = np.array([counts[k] for k in keys], dtype=float)
    # Fit on a scaled clock (the longest age = 10) for a well-conditioned alpha; the
    # likelihood is the same up to alpha's unit, which is converted back below.
    scale = 10.0 / max(float(T.max()), 1.0)
    ts, Ts = t_x * scale, T * scale

    def nll(log_params: np.ndarray) -> float:
        params = np.exp(log_params)
        ll = bgnbd_log_likelihood(params, x, ts, Ts)
        value = -float(np.dot(w, ll)) / w.sum()
        return value if math.isfinite(value) else math.inf

    r, alpha, a, b = _maximise(nll, (1.0, 1.0, 1.0, 1.0))
    alpha_days = alpha / scale
    ll = float(np.dot(w, bgnbd_log_likelihood((r, alpha_days, a, b), x, t_x, T)))
    return BgNbd(float(r), float(alpha_days), float(a), float(b), ll)


def fit_gamma_gamma(summaries: Sequence[Summary]) -> GammaGamma | None:
    """Maximum-likelihood Gamma-Gamma parameters over repeat customers with a positive value."""
    rows = [(s.x, s.m) for s in summaries if s.x > 0 and s.m > 0]
    if len(rows) < 2:
        return None
    x = np.array([r[0] for r in rows], dtype=float)
    m = np.array([r[1] for r in rows], dtype=float)
    scale = 1.0 / float(np.mean(m))  # values near 1: v is converted back below
    ms = m * scale

    def nll(log_params: np.ndarray) -> tuple[float, np.ndarray]:
        params = np.exp(log_params)
        value = -float(np.sum(gamma_gamma_log_likelihood(params, x, ms))) / len(x)
        if not math.isfinite(value):
            return math.inf, np.zeros(3)
        grad = -gamma_gamma_gradient(params, x, ms) * params / len(x)  # d/d log(param)
        return value, grad

    p, q, v = _maximise(nll, (1.0, 1.0, 1.0), jac=True)
    v_money = v / scale
    ll = float(np.sum(gamma_gamma_log_likelihood((p, q, v_money), x, m)))
    return GammaGamma(float(p), float(q), float(v_money), ll)


@dataclass(frozen=True, slots=True)
class Prediction:
    customer_id: str
    p_alive: float
    expected_purchases_90d: float
    expected_purchases_365d: float
    expected_order_value: float | None
    clv_365d: float | None
    next_order_in_days: int | None  # None: more likely gone than not


def p_alive(model: BgNbd, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
    """P(still active) per customer (paper, equation 13)."""
    r, alpha, a, b = model.r, model.alpha, model.a, model.b
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        log_ratio = math.log(a) - np.log(np.maximum(b + x - 1, 1e-300))
        log_ratio = log_ratio + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
        odds = np.where(x > 0, np.exp(np.minimum(log_ratio, 700.0)), 0.0)
    return np.asarray(1.0 / (1.0 + odds))


def expected_purchases(
    model: BgNbd, t: float, x: np.ndarray, t_x: np.ndarray, T: np.ndarray
) -> np.ndarray:
    """Expected purchases in the next ``t`` days per customer (paper, equation 10)."""
    r, alpha, a, b = model.r, model.alpha, model.a, model.b
    z = t / (alpha + T + t)
    hyp = special.hyp2f1(r + x, b + x, a + b + x - 1, z)
    first = (a + b + x - 1) / (a - 1)
    second = 1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp
    return np.asarray(first * second * p_alive(model, x, t_x, T))


def expected_order_value(gg: GammaGamma, x: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Gamma-Gamma posterior mean value of a customer's next order (population mean at x=0)."""
    p, q, v = gg.p, gg.q, gg.v
    mm = np.where(m > 0, m, 0.0)
    xx = np.where(m > 0, x, 0.0)
    return np.asarray(p * (v + xx * mm) / (p * xx + q - 1))


def next_order_days(model: BgNbd, x: np.ndarray, T: np.ndarray, pa: np.ndarray) -> np.ndarray:
    """Days until the next order becomes more likely than not (NaN when ``pa <= 0.5``)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(pa > 0.5, 1 - 0.5 / pa, np.nan)
        days = (model.alpha + T) * (share ** (-1.0 / (model.r + x)) - 1)
    return np.asarray(days)


def predict(model: BgNbd, gg: GammaGamma | None, summaries: Sequence[Summary]) -> list[Prediction]:
    """Every customer's prediction (see the module docstring for each figure)."""
    if not summaries:
        return []
    x = np.array([s.x for s in summaries], dtype=float)
    t_x = np.array([s.t_x for s in summaries], dtype=float)
    T = np.array([s.T for s in summaries], dtype=float)
    m = np.array([s.m for s in summaries], dtype=float)
    pa = p_alive(model, x, t_x, T)
    e90 = expected_purchases(model, 90, x, t_x, T)
    e365 = expected_purchases(model, 365, x, t_x, T)
    usable_gg = gg is not None and gg.q > 1
    value = expected_order_value(gg, x, m) if gg is not None and usable_gg else None
    nxt = next_order_days(model, x, T, pa)
    out = []
    for i, s in enumerate(summaries):
        v = None if value is None else float(value[i])
        n = float(nxt[i])
        out.append(
            Prediction(
                customer_id=s.customer_id,
                p_alive=float(pa[i]),
                expected_purchases_90d=float(e90[i]),
                expected_purchases_365d=float(e365[i]),
                expected_order_value=v,
                clv_365d=None if v is None else float(e365[i]) * v,
                next_order_in_days=None if not math.isfinite(n) else max(1, math.ceil(n)),
            )
        )
    return out
