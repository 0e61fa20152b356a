"""Checks that decide: a prediction against a measured interval, with a stated resolution.

A report check compares a predicted number with a *measured interval*: a
point estimate and a confidence interval that says how well the run pins the
quantity down (a bootstrap over seeds, a regression's standard error, or a
zero-width interval for a deterministic computation). It has three verdicts:

``"pass"``
    the interval is consistent with the prediction and narrow enough that it
    could have excluded it;
``"fail"``
    the interval excludes the prediction;
``"inconclusive"``
    the interval is consistent with the prediction but too wide to tell: the
    run has too few seeds or points for this check. It is not a pass.

Relations
---------
``"within"``
    *Estimation* of a predicted value (an exponent, a rate, a transition
    point). Acceptance window: ``[low - tolerance, high + tolerance]``, where
    ``tolerance`` (default 0) is a stated model error, e.g. the known
    pre-asymptotic bias of a law checked at finite parameters. Fail if the
    window misses the prediction. Otherwise pass only if the window's width
    ``(high - low) + 2 tolerance`` is at most ``fraction * effect``, where
    ``effect`` is the size of the effect being tested (how far the predicted
    value lies from the null it must be told apart from: for an exponent
    ``lr^{1/2}``, ``effect = 0.5``, since a window of width 0.5 could not tell
    ``lr^{1/2}`` from ``lr^0``). Each check states ``why`` its ``effect`` and
    ``fraction`` are what they are.
``"<="`` and ``">="``
    *Bounds* (an error at most a tolerance, a ratio at most the theorem's 1).
    Pass if the whole interval satisfies the bound, fail if none of it does,
    inconclusive if it straddles the bound.

The verdicts of a claim combine as: any fail fails the claim; else any
inconclusive makes it inconclusive; else it passes.

>>> c = Check("exponent", bootstrap([0.48, 0.52, 0.50, 0.49, 0.51], rng=0), 0.5, "within", effect=0.5,
...           why="tells lr^(1/2) from lr^0")
>>> c.verdict
'pass'
>>> Check("exponent", Interval(0.27, 0.22, 0.32, "example"), 0.5, "within", effect=0.5, why="").verdict
'fail'
>>> Check("error", exact(3e-9), 1e-6, "<=", why="integrator tolerance").verdict
'pass'
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

__all__ = [
    "RELATIONS",
    "VERDICTS",
    "Check",
    "Interval",
    "bootstrap",
    "bootstrap_slope",
    "combine",
    "exact",
    "slope_interval",
]

#: The possible outcomes of a check, from best to worst.
VERDICTS = ("pass", "inconclusive", "fail")

#: How a check relates its measured interval to its prediction.
RELATIONS = {
    "within": "the prediction lies in the interval (widened by the tolerance), which is narrow enough",
    "<=": "the whole interval lies at or below the prediction",
    ">=": "the whole interval lies at or above the prediction",
}

#: Confidence level of every interval the report computes.
LEVEL = 0.95


@dataclass(frozen=True)
class Interval:
    """A measured quantity: point ``estimate`` and confidence interval ``[low, high]``.

    ``method`` says how the interval was obtained (for example ``"bootstrap
    over 16 seeds, 95%"``), and is printed in the report's summary.
    """

    estimate: float
    low: float
    high: float
    method: str

    def __post_init__(self) -> None:
        for name in ("estimate", "low", "high"):
            object.__setattr__(self, name, float(getattr(self, name)))
        values = (self.estimate, self.low, self.high)
        if all(math.isfinite(v) for v in values) and not self.low <= self.estimate <= self.high:
            raise ValueError(
                "interval must satisfy low <= estimate <= high, "
                f"got {self.low} <= {self.estimate} <= {self.high}"
            )

    @property
    def finite(self) -> bool:
        return all(math.isfinite(v) for v in (self.estimate, self.low, self.high))

    @property
    def width(self) -> float:
        return self.high - self.low


def exact(value: float, method: str = "deterministic computation") -> Interval:
    """A zero-width interval: a measurement with no sampling error (a closed form, a fixed run)."""
    value = float(value)
    return Interval(value, value, value, method)


def bootstrap(
    samples: Any,
    statistic: Callable[..., Any] = np.median,
    *,
    level: float = LEVEL,
    resamples: int = 4000,
    rng: Any = None,
    what: str = "seeds",
) -> Interval:
    """Percentile bootstrap interval of ``statistic`` over the first axis of ``samples``.

    Parameters
    ----------
    samples : array_like, shape (n, ...)
        One entry per independent replicate (seed) along the first axis.
    statistic : callable
        Maps an array of shape ``(n, ...)`` to a scalar; it is called as
        ``statistic(resampled, axis=0)`` when it accepts ``axis`` (numpy
        reductions) on a batch of resamples, else once per resample.
    level : float
        Confidence level of the interval.
    resamples : int
        Number of bootstrap resamples.
    rng : numpy.random.Generator, int or None
        Randomness of the resampling (the report passes a claim's stream).
    what : str
        What the replicates are, for the interval's description.

    Notes
    -----
    Percentile bootstrap (Efron & Tibshirani 1993, ch. 13): resample the
    replicates with replacement, recompute the statistic, take the
    ``(1 - level) / 2`` and ``(1 + level) / 2`` quantiles. With ``n``
    replicates the interval cannot resolve effects much smaller than the
    spread of the replicates over ``sqrt(n)``: a check with too few seeds is
    reported inconclusive rather than passed.

    With few replicates the plain percentile interval is too narrow (with
    ``n = 2`` it sees half the variance of a mean and no tail): it is widened
    about the estimate by ``sqrt(n / (n - 1)) t_{n-1} / z``, the factor that
    turns the normal interval of a mean into Student's t-interval, after
    Hesterberg's expanded percentile interval (Hesterberg 2015, "What
    teachers should know about the bootstrap", The American Statistician
    69(4), §4.3). The factor is 1.12 at 16 replicates, 1.9 at 4 and 9 at 2,
    so that too few seeds read as inconclusive, not as a confident fail.
    """
    x = np.asarray(samples, dtype=float)
    if x.ndim == 0 or x.shape[0] < 2:
        raise ValueError(f"samples must have at least 2 replicates along axis 0, got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        return Interval(math.nan, math.nan, math.nan,
                        f"bootstrap over {x.shape[0]} {what}: non-finite samples")
    gen = np.random.default_rng(rng)
    n = x.shape[0]
    idx = gen.integers(0, n, size=(resamples, n))
    estimate = float(statistic(x, axis=0)) if _takes_axis(statistic) else float(statistic(x))
    if _takes_axis(statistic):
        # resample axis first, replicates second: one vectorised reduction over all resamples
        values = np.asarray(statistic(np.moveaxis(x[idx], 1, 0), axis=0), dtype=float).reshape(resamples)
    else:
        values = np.array([float(statistic(x[i])) for i in idx])
    low, high = _expanded(values, estimate, n, level)
    return Interval(estimate, low, high, f"bootstrap over {n} {what}, {round(100 * level)}%")


def _expanded(values: np.ndarray, estimate: float, n: int, level: float) -> tuple[float, float]:
    """Percentile interval of bootstrap ``values``, widened about ``estimate`` for ``n`` replicates."""
    low, high = np.quantile(values, [(1 - level) / 2, (1 + level) / 2])
    low, high = min(float(low), estimate), max(float(high), estimate)
    q = (1 + level) / 2
    factor = math.sqrt(n / (n - 1)) * float(stats.t.ppf(q, n - 1) / stats.norm.ppf(q))
    return estimate - factor * (estimate - low), estimate + factor * (high - estimate)


def _takes_axis(statistic: Callable[..., Any]) -> bool:
    return statistic in (np.median, np.mean, np.max, np.min, np.nanmedian, np.nanmean)


def slope_interval(x: Any, y: Any, *, level: float = LEVEL, corrections: Any = None) -> Interval:
    """Least-squares slope of ``y`` on ``x`` with its t-interval from the fit's standard error.

    Parameters
    ----------
    x, y : array_like, shape (N,)
    level : float
        Confidence level of the interval.
    corrections : array_like, shape (N,) or (N, K), optional
        Known correction terms fitted beside the line, ``y = c + slope x +
        sum_j b_j corrections[:, j]``, e.g. the ``b lr`` of an asymptotic
        expansion ``e = a lr^p (1 + b lr + ...)`` whose leading exponent
        ``p`` is sought. Without them a smooth pre-asymptotic curvature
        biases the slope by more than the residuals' scatter shows.

    Notes
    -----
    The interval is ``slope +- t_{N-2-K, (1+level)/2} * SE`` (ordinary least
    squares, residual variance estimated from the fit). Use it where the
    points are deterministic (no seeds to resample); with seeds, prefer
    :func:`bootstrap_slope`, which also carries the seeds' randomness.

    >>> lr = np.array([0.08, 0.04, 0.02, 0.01])
    >>> e = 3.0 * lr * np.exp(2.0 * lr)           # order 1, with a first correction
    >>> s = slope_interval(np.log(lr), np.log(e), corrections=lr)
    >>> round(s.estimate, 6), s.width < 1e-6
    (1.0, True)
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.ndim != 1 or x.shape != y.shape:
        raise ValueError(f"x and y must be 1-D of one length, got shapes {x.shape} and {y.shape}")
    z = np.zeros((x.size, 0)) if corrections is None else np.asarray(corrections, dtype=float)
    z = z[:, None] if z.ndim == 1 else z
    if z.ndim != 2 or z.shape[0] != x.size:
        raise ValueError(f"corrections must have shape (N,) or (N, K) with N = {x.size}, got {z.shape}")
    k = z.shape[1]
    if x.size < 3 + k:
        raise ValueError(
            f"a slope interval with {k} correction terms needs at least {3 + k} points, got {x.size}")
    what = f"least-squares slope over {x.size} points"
    if k:
        what += f" with {k} correction term{'s' if k > 1 else ''}"
    method = f"{what}, {round(100 * level)}% t-interval"
    if not all(np.all(np.isfinite(a)) for a in (x, y, z)):
        return Interval(math.nan, math.nan, math.nan, f"{method}: non-finite points")
    X = np.column_stack([np.ones_like(x), x, z])
    if np.linalg.matrix_rank(X) < X.shape[1]:
        raise ValueError("x and the corrections must be linearly independent (distinct x, no repeated term)")
    beta = np.linalg.lstsq(X, y, rcond=None)[0]
    dof = x.size - X.shape[1]
    resid = y - X @ beta
    se = math.sqrt(float(resid @ resid) / dof * float(np.linalg.inv(X.T @ X)[1, 1]))
    half = float(stats.t.ppf((1 + level) / 2, dof)) * se
    slope = float(beta[1])
    return Interval(slope, slope - half, slope + half, method)


def bootstrap_slope(
    x: Any,
    y: Any,
    statistic: Callable[..., Any] = np.mean,
    *,
    level: float = LEVEL,
    resamples: int = 4000,
    rng: Any = None,
    what: str = "seeds",
) -> Interval:
    """Least-squares slope of ``statistic(y[i])`` on ``x[i]``, bootstrapped over the seeds of each point.

    Parameters
    ----------
    x : array_like, shape (N,)
        The abscissae (for a power law, the logarithms of the parameter).
    y : array_like, shape (N, S)
        ``S`` independent replicates (seeds) at each of the ``N`` points (for
        a power law, the logarithms of the measurements).
    statistic : callable
        A numpy reduction taking ``axis`` (``np.mean``, ``np.median``): the
        per-point summary whose slope is fitted.
    level, resamples, rng, what
        As in :func:`bootstrap`.

    Notes
    -----
    The replicates of different points are independent runs, so each point's
    seeds are resampled on their own (a stratified percentile bootstrap,
    Davison & Hinkley 1997, §3.2); every resample refits the slope, and the
    interval is widened for few seeds as in :func:`bootstrap`. Unlike
    :func:`slope_interval`, the interval carries the seeds' randomness and
    needs no assumption that the points scatter independently about a line.

    >>> x = np.log([0.04, 0.02, 0.01])
    >>> y = 0.5 * x[:, None] + np.random.default_rng(0).normal(0, 0.01, (3, 8))
    >>> s = bootstrap_slope(x, y, rng=0)
    >>> s.low < 0.5 < s.high and s.width < 0.05
    True
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.ndim != 1 or x.size < 2:
        raise ValueError(f"x must be 1-D with at least 2 points, got shape {x.shape}")
    if y.ndim != 2 or y.shape[0] != x.size:
        raise ValueError(f"y must have shape (N, S) = ({x.size}, seeds), got {y.shape}")
    if y.shape[1] < 2:
        raise ValueError(f"y must have at least 2 replicates per point, got shape {y.shape}")
    if not _takes_axis(statistic):
        raise ValueError("statistic must be a numpy reduction taking axis (np.mean, np.median, ...)")
    if np.unique(x).size < 2:
        raise ValueError("x must hold at least 2 distinct values")
    n_points, n = y.shape
    method = f"slope bootstrapped over {n} {what} per point ({n_points} points), {round(100 * level)}%"
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        return Interval(math.nan, math.nan, math.nan, f"{method}: non-finite samples")
    gen = np.random.default_rng(rng)
    xc = (x - x.mean()) / np.sum((x - x.mean()) ** 2)
    estimate = float(xc @ statistic(y, axis=1))
    idx = gen.integers(0, n, size=(resamples, n_points, n))
    summaries = statistic(np.take_along_axis(y[None], idx, axis=2), axis=2)  # (resamples, N)
    values = summaries @ xc
    low, high = _expanded(values, estimate, n, level)
    return Interval(estimate, low, high, method)


@dataclass(frozen=True)
class Check:
    """A measured interval against its prediction: pass, fail or inconclusive.

    Parameters
    ----------
    quantity : str
        What is measured, in words (printed in the summary).
    measured : Interval
        The measurement and its uncertainty.
    predicted : float
        The prediction (a value for ``"within"``, a bound for ``"<="``/``">="``).
    relation : {"within", "<=", ">="}
        See the module docstring.
    tolerance : float
        ``"within"`` only: a stated model error added on both sides of the
        interval (default 0).
    effect : float
        ``"within"`` only: the size of the effect tested; the acceptance
        window must be at most ``fraction * effect`` wide to decide.
    fraction : float
        ``"within"`` only, in (0, 1].
    why : str
        Why the tolerance, effect and fraction are what they are.
    """

    quantity: str
    measured: Interval
    predicted: float
    relation: str
    tolerance: float = 0.0
    effect: float = math.nan
    fraction: float = 0.5
    why: str = ""

    def __post_init__(self) -> None:
        if self.relation not in RELATIONS:
            raise ValueError(f"relation must be one of {', '.join(RELATIONS)}, got {self.relation!r}")
        if not isinstance(self.measured, Interval):
            raise TypeError(f"measured must be an Interval, got {type(self.measured).__name__}")
        for name in ("predicted", "tolerance", "effect", "fraction"):
            object.__setattr__(self, name, float(getattr(self, name)))
        if not math.isfinite(self.predicted):
            raise ValueError(f"predicted must be finite, got {self.predicted}")
        if not (math.isfinite(self.tolerance) and self.tolerance >= 0):
            raise ValueError(f"tolerance must be finite and >= 0, got {self.tolerance}")
        if self.relation == "within":
            if not (math.isfinite(self.effect) and self.effect > 0):
                raise ValueError(f"effect must be finite and > 0 for a 'within' check, got {self.effect}")
            if not 0 < self.fraction <= 1:
                raise ValueError(f"fraction must lie in (0, 1], got {self.fraction}")
            if 2 * self.tolerance >= self.fraction * self.effect:
                raise ValueError(
                    f"tolerance {self.tolerance} leaves no room to decide: 2 * tolerance must be below "
                    f"fraction * effect = {self.fraction * self.effect}"
                )

    @property
    def window(self) -> tuple[float, float]:
        """The acceptance window: the interval widened by the tolerance."""
        return self.measured.low - self.tolerance, self.measured.high + self.tolerance

    @property
    def resolution(self) -> float:
        """Largest window width at which a ``"within"`` check decides (``fraction * effect``)."""
        return self.fraction * self.effect

    @property
    def verdict(self) -> str:
        m, p = self.measured, self.predicted
        if not m.finite:
            return "fail"
        if self.relation == "<=":
            return "pass" if m.high <= p else "fail" if m.low > p else "inconclusive"
        if self.relation == ">=":
            return "pass" if m.low >= p else "fail" if m.high < p else "inconclusive"
        low, high = self.window
        if not low <= p <= high:
            return "fail"
        return "pass" if high - low <= self.resolution else "inconclusive"

    @property
    def passed(self) -> bool:
        return self.verdict == "pass"

    def to_json(self) -> dict[str, Any]:
        m = self.measured

        def num(v: float) -> float | None:
            # a non-finite measurement is a failed check, stored as null: results.json stays strict JSON
            return v if math.isfinite(v) else None

        return {
            "quantity": self.quantity,
            "measured": num(m.estimate),
            "low": num(m.low),
            "high": num(m.high),
            "method": m.method,
            "predicted": self.predicted,
            "relation": self.relation,
            "tolerance": self.tolerance,
            "effect": num(self.effect),
            "fraction": self.fraction,
            "resolution": num(self.resolution) if self.relation == "within" else None,
            "why": self.why,
            "verdict": self.verdict,
            "passed": self.passed,
        }


def combine(verdicts: Any) -> str:
    """A claim's verdict from its checks': the worst of them (fail, then inconclusive, then pass).

    >>> combine(["pass", "inconclusive"]), combine(["pass", "fail", "inconclusive"]), combine([])
    ('inconclusive', 'fail', 'pass')
    """
    verdicts = list(verdicts)
    return max(verdicts, key=VERDICTS.index, default="pass")
