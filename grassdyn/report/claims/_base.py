"""What every claim computes: checks against predictions, plain-data results, and the shared problem.

A claim's ``compute(cfg, progress)`` returns a :class:`ClaimResult`: the
statement it tests, a list of :class:`Check` (a measured number against a
predicted one, with the comparison and tolerance that decide pass or fail)
and ``data``, every number its figure draws, as JSON-ready lists.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from grassdyn import ssl
from grassdyn.data import AugmentationModel

#: How a check compares ``measured`` with ``predicted``.
RELATIONS = {
    "<=": "measured <= predicted",
    ">=": "measured >= predicted",
    "abs": "|measured - predicted| <= tolerance",
    "rel": "|measured - predicted| <= tolerance * |predicted|",
}


@dataclass(frozen=True)
class Check:
    """One measured number against its prediction."""

    quantity: str
    measured: float
    predicted: float
    relation: str
    tolerance: float = 0.0

    def __post_init__(self) -> None:
        if self.relation not in RELATIONS:
            raise ValueError(f"relation must be one of {', '.join(RELATIONS)}, got {self.relation!r}")
        object.__setattr__(self, "measured", float(self.measured))
        object.__setattr__(self, "predicted", float(self.predicted))
        object.__setattr__(self, "tolerance", float(self.tolerance))

    @property
    def passed(self) -> bool:
        m, p, tol = self.measured, self.predicted, self.tolerance
        if not (math.isfinite(m) and math.isfinite(p)):
            return False
        if self.relation == "<=":
            return m <= p
        if self.relation == ">=":
            return m >= p
        if self.relation == "abs":
            return abs(m - p) <= tol
        return abs(m - p) <= tol * abs(p)

    def to_json(self) -> dict[str, Any]:
        return {
            "quantity": self.quantity,
            # a non-finite measurement is a failed check, stored as null: results.json stays strict JSON
            "measured": self.measured if math.isfinite(self.measured) else None,
            "predicted": self.predicted,
            "relation": self.relation,
            "tolerance": self.tolerance,
            "passed": self.passed,
        }


@dataclass
class ClaimResult:
    """A claim's statement, its checks, and the data of its figure."""

    name: str
    title: str
    statement: str
    checks: list[Check]
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    def to_json(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "statement": self.statement,
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


def fit_slope(x: np.ndarray, y: np.ndarray) -> float:
    """Least-squares slope of ``y`` on ``x``."""
    return float(np.polyfit(np.asarray(x, dtype=float), np.asarray(y, dtype=float), 1)[0])


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


def fit_rate(t: np.ndarray, distance: np.ndarray, *, floor: float = 1e-11) -> float:
    """Exponential decay rate of ``distance(t)`` over the second half of the times.

    The first half is left out because the distance decays at the asymptotic
    rate ``lam_h - lam_{h+1}`` only once the faster directions have died out;
    values below ``floor`` are left out because rounding dominates them.
    """
    t, distance = np.asarray(t), np.asarray(distance)
    keep = (t >= t[0] + 0.5 * (t[-1] - t[0])) & (distance > floor)
    if keep.sum() < 2:
        raise ValueError("too few times above the rounding floor to fit a rate: shorten t_max")
    return -fit_slope(t[keep], np.log(distance[keep]))
