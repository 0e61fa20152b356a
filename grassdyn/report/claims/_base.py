"""What every claim computes: checks against predictions, plain-data results, and the shared problem.

A claim's ``compute(cfg, progress)`` returns a :class:`ClaimResult`: the
statement it tests, a list of :class:`~grassdyn.report.checks.Check` (a
measured interval against a prediction, with the resolution that decides
pass, fail or inconclusive) and ``data``, every number its figure draws, as
JSON-ready lists.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from grassdyn import ssl
from grassdyn.data import AugmentationModel
from grassdyn.report.checks import Check, Interval, combine, slope_interval

__all__ = [
    "MODEL_STREAM",
    "Check",
    "ClaimResult",
    "build_loss",
    "build_model",
    "envelope_ratio",
    "fit_rate",
    "rng_for",
    "to_jsonable",
]

@dataclass
class ClaimResult:
    """A claim's statement, its checks, and the data of its figure."""

    name: str
    title: str
    statement: str
    checks: list[Check]
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def verdict(self) -> str:
        """``"pass"``, ``"inconclusive"`` or ``"fail"``: the worst of the checks' verdicts."""
        return combine(c.verdict for c in self.checks)

    @property
    def passed(self) -> bool:
        return self.verdict == "pass"

    def to_json(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "statement": self.statement,
            "verdict": self.verdict,
            "passed": self.passed,
            "checks": [c.to_json() for c in self.checks],
            "data": to_jsonable(self.data),
        }


def to_jsonable(x: Any) -> Any:
    """Nested lists, dicts and Python scalars from arrays and numpy scalars (float64 round-trips)."""
    if isinstance(x, dict):
        return {str(k): to_jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [to_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return to_jsonable(x.tolist())
    if isinstance(x, (np.bool_, bool)):
        return bool(x)
    if isinstance(x, (np.integer, int)):
        return int(x)
    if isinstance(x, (np.floating, float)):
        value = float(x)
        if not math.isfinite(value):
            raise ValueError(f"results must be finite numbers, got {value}")
        return value
    return x


def rng_for(cfg: dict[str, Any], key: int) -> np.random.Generator:
    """The random stream of one claim: independent across claims, fixed by ``cfg["seed"]``."""
    return np.random.default_rng([cfg["seed"], key])


#: Stream 0 draws the data model's mixing matrix, shared by every claim.
MODEL_STREAM = 0


def build_model(cfg: dict[str, Any], rho: float | None = None) -> AugmentationModel:
    """The configured data model; ``rho`` overrides the augmentation strength (same mixing)."""
    m = cfg["model"]
    return AugmentationModel(
        m["d"], m["content"], m["style"], m["rho"] if rho is None else rho, m["noise"],
        rng=rng_for(cfg, MODEL_STREAM),
    )


def build_loss(cfg: dict[str, Any], source: Any) -> ssl.SSLLoss:
    """The configured SSL loss on a model (population form) or on arrays of pairs (empirical form)."""
    make: Callable[[Any], Any] = ssl.contrastive if cfg["model"]["loss"] == "contrastive" else ssl.alignment
    return make(source)


def envelope_ratio(t: np.ndarray, theta_max: np.ndarray, rate: float) -> float:
    """``max_{t > 0} tan theta_max(t) / (tan theta_max(0) e^{-rate t})``: at most 1 if the rate bound holds.

    For Oja's flow ``tan theta_max(t) <= tan theta_max(0) e^{-(lam_h - lam_{h+1}) t}``
    from every start (Yan, Helmke & Moore 1994; :mod:`grassdyn.theory`): the
    rate is a guarantee, not only an asymptote, so this holds whatever the start.
    """
    t, theta_max = np.asarray(t), np.asarray(theta_max)
    later = t > t[0]
    bound = np.tan(theta_max[0]) * np.exp(-rate * (t[later] - t[0]))
    return float(np.max(np.tan(theta_max[later]) / bound))


def fit_rate(t: np.ndarray, distance: np.ndarray, *, floor: float = 1e-11,
             corrections: tuple[float, ...] = ()) -> Interval:
    """Exponential decay rate of ``distance(t)`` over the second half of the times, with its t-interval.

    The first half is left out because the distance decays at the asymptotic
    rate only once the faster directions have died out; values below
    ``floor`` are left out because rounding dominates them. The points of a
    closed form are deterministic: the interval is the least-squares fit's
    (:func:`grassdyn.report.checks.slope_interval`). ``corrections`` are the
    decay rates ``r`` of known relative corrections, ``log distance = c -
    rate t + sum_r b_r e^{-r t}``, fitted beside the rate: without them the
    exponentially small curvature they cause biases the rate by more than
    the residuals' scatter shows.
    """
    t, distance = np.asarray(t), np.asarray(distance)
    keep = (t >= t[0] + 0.5 * (t[-1] - t[0])) & (distance > floor)
    # a zero rate (a tie in the spectrum) is a constant, already the intercept
    rates = sorted({float(r) for r in corrections if r > 0})
    if keep.sum() < 3 + len(rates):
        raise ValueError("too few times above the rounding floor to fit a rate: shorten t_max")
    terms = np.stack([np.exp(-r * t[keep]) for r in rates], axis=1) if rates else None
    return slope_interval(t[keep], -np.log(distance[keep]), corrections=terms)
