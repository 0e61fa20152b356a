r"""Objectives: the protocol every loss follows, quadratic objectives and a gradient check.

An objective is any object with ``value(W) -> float`` and ``egrad(W) -> (d, h)``,
the Euclidean gradient. On the Grassmannian an objective must be invariant
under ``W -> W R`` (it depends on ``span W`` only); its Riemannian gradient is
``(I - W W^T) egrad(W)`` (see :func:`grassdyn.grassmann.riemannian_gradient`).

Quadratic SSL objectives have the form

.. math:: L(W) = -\tfrac12 \operatorname{tr}(W^\top C W) + \text{const},

with a symmetric *generator* ``C``; gradient flow on Gr(d, h) is then Oja's
subspace flow ``dW/dt = (I - W W^T) C W``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
from numpy.typing import ArrayLike

from grassdyn._validation import (
    as_float_array,
    as_frame,
    as_real,
    as_rng,
    as_symmetric,
    check_finite_result,
    require_gradient,
)

__all__ = ["GradientCheck", "Objective", "Quadratic", "check_gradient"]


@runtime_checkable
class Objective(Protocol):
    """What grassdyn needs from a loss: its value and Euclidean gradient at a frame."""

    def value(self, W: np.ndarray) -> float: ...

    def egrad(self, W: np.ndarray) -> np.ndarray: ...


class Quadratic:
    r"""The quadratic objective ``L(W) = -1/2 tr(W^T C W) + const``.

    Parameters
    ----------
    C : array_like, shape (d, d)
        Symmetric generator.
    const : float
        Additive constant (does not change the flow).

    Notes
    -----
    ``egrad(W) = -C W``. ``value`` and ``egrad`` accept batches ``(..., d, h)``.

    Examples
    --------
    >>> import numpy as np
    >>> L = Quadratic(np.diag([3.0, 1.0]))
    >>> L.value(np.eye(2)[:, :1])
    -1.5
    """

    def __init__(self, C: ArrayLike, const: float = 0.0) -> None:
        self.C = as_symmetric(C, "C")
        self.const = as_real(const, "const")
        self._cmax = float(np.max(np.abs(self.C)))

    @property
    def d(self) -> int:
        return self.C.shape[0]

    def _check(self, W: ArrayLike) -> np.ndarray:
        W = as_frame(W, "W", orthonormal=False)
        if W.shape[-2] != self.d:
            raise ValueError(f"W must have d = {self.d} rows to match C, got shape {W.shape}")
        return W

    def _safe(self, W: np.ndarray, power: int) -> bool:
        """Whether a product of degree ``power`` in ``W`` with ``C`` cannot overflow.

        Its entries are at most ``(d h) max|C| max|W|^power``; below ``1e300`` the
        plain formula is used, without the cost of an overflow guard.
        """
        m = float(np.max(np.abs(W), initial=0.0))
        return m == 0.0 or math.log(m) * power + self._log_bound(W) < _LOG_SAFE

    def _log_bound(self, W: np.ndarray) -> float:
        return math.log(max(self._cmax, 1e-300) * self.d * W.shape[-1])

    def value(self, W: ArrayLike) -> float | np.ndarray:
        """``-1/2 tr(W^T C W) + const``, shape ``(...)``; raises naming ``W`` if it overflows."""
        W = self._check(W)
        if self._safe(W, 2):
            v = -0.5 * np.einsum("...ij,ik,...kj->...", W, self.C, W) + self.const
        else:
            # on W / s (s = max|W|), scaled back by s^2: overflows only if the value itself does
            s = _scale(W)
            with np.errstate(over="ignore", invalid="ignore"):
                v = -0.5 * np.einsum("...ij,ik,...kj->...", W / s, self.C, W / s) * s[..., 0, 0] ** 2
                v = v + self.const
            check_finite_result(v, "Quadratic.value(W)", "W is too large (|tr(W^T C W)| exceeds 1.8e308)")
        return float(v) if np.ndim(v) == 0 else v

    def egrad(self, W: ArrayLike) -> np.ndarray:
        """``-C W``, shape ``(..., d, h)``; raises naming ``W`` if it overflows."""
        W = self._check(W)
        if self._safe(W, 1):
            return -(self.C @ W)
        s = _scale(W)
        with np.errstate(over="ignore", invalid="ignore"):
            G = -(self.C @ (W / s)) * s
        check_finite_result(G, "Quadratic.egrad(W) = -C W", "W is too large (|C W| exceeds 1.8e308)")
        return G

    def __repr__(self) -> str:
        return f"Quadratic(d={self.d})"


#: log(1e300): products below this bound are computed without an overflow guard.
_LOG_SAFE = math.log(1e300)


def _scale(W: np.ndarray) -> np.ndarray:
    """``max|W|`` per matrix, shape ``(..., 1, 1)``, 1 for a zero matrix: a divisor that avoids overflow."""
    s = np.max(np.abs(W), axis=(-2, -1), keepdims=True, initial=0.0)
    return np.where(s > 0, s, 1.0)


@dataclass(frozen=True)
class GradientCheck:
    """Result of :func:`check_gradient`.

    ``steps`` and ``errors`` hold the Taylor remainders
    ``|f(W + s D) - f(W) - s <egrad, D>|``. ``slope`` is their log-log slope
    fitted over the smallest steps at which they stand above round-off (the
    asymptotic range, free of higher-order terms), or NaN when fewer than
    three do. ``status`` is ``"passed"`` (slope within 0.1 of 2, or a
    remainder at round-off at every step, as for a linear function),
    ``"failed"`` (a slope away from 2: a wrong gradient gives 1) or
    ``"inconclusive"`` (the remainder rises above round-off at only one or two
    steps); ``passed`` is ``status == "passed"``.
    """

    steps: np.ndarray
    errors: np.ndarray
    slope: float
    status: str

    @property
    def passed(self) -> bool:
        return self.status == "passed"


def check_gradient(
    objective: Objective,
    W: ArrayLike,
    *,
    direction: ArrayLike | None = None,
    rng: np.random.Generator | int | None = None,
) -> GradientCheck:
    r"""Taylor-slope check that ``objective.egrad`` is the gradient of ``objective.value``.

    For a correct gradient the remainder ``f(W + s D) - f(W) - s <egrad(W), D>``
    is ``O(s^2)``: its log-log slope in ``s`` is 2. A wrong gradient gives
    slope 1. This is the check of [AMS08, §4.8] and pymanopt's
    ``check_gradient``, in the Euclidean sense, which is what ``egrad``
    promises.

    Parameters
    ----------
    objective : Objective
    W : array_like, shape (d, h)
        Base point (need not be orthonormal: ``egrad`` is Euclidean).
    direction : array_like, shape (d, h), optional
        Perturbation direction; random by default. Normalised to unit norm.
    rng : Generator, int or None

    Returns
    -------
    GradientCheck

    Notes
    -----
    Steps ``s`` run over ``[1e-8, 1] * max(1, ||W||_F)``, so that a small
    curvature still lifts the remainder above the round-off level
    ``1e3 * eps * max(1, |f(W)|)`` somewhere; the slope is fitted on the (up
    to six) smallest steps above it.

    Examples
    --------
    >>> import numpy as np
    >>> check_gradient(Quadratic(np.diag([2.0, 1.0, 0.0])), np.eye(3)[:, :2], rng=0).passed
    True
    """
    require_gradient(objective, "objective")
    for attr in ("value", "egrad"):
        if not callable(getattr(objective, attr, None)):
            raise TypeError(
                f"objective must have value(W) and egrad(W) methods; {type(objective).__name__} has no "
                f"callable {attr!r}"
            )
    W = as_frame(W, "W", orthonormal=False)
    if W.ndim != 2:
        raise ValueError(f"W must be a single frame of shape (d, h), got {W.shape}")
    if direction is None:
        D = as_rng(rng).standard_normal(W.shape)
    else:
        D = as_float_array(direction, "direction")
        if D.shape != W.shape:
            raise ValueError(f"direction must have shape {W.shape}, got {D.shape}")
        if not np.any(D):
            raise ValueError("direction must be non-zero")
    # scaled by its largest entry first, so that a huge direction normalises without overflow
    D = D / np.max(np.abs(D))
    D = D / np.linalg.norm(D)
    f0 = _finite_value(objective, W, "W")
    g = np.asarray(objective.egrad(W), dtype=np.float64)
    if g.shape != W.shape:
        raise ValueError(f"objective.egrad returned shape {g.shape}, expected {W.shape}")
    check_finite_result(g, "objective.egrad(W)", "the objective's gradient at W is not a number")
    slope0 = float(np.sum(g * D))
    steps = np.logspace(0, -8, 25) * max(1.0, float(np.linalg.norm(W)))
    errors = np.array([abs(_finite_value(objective, W + s * D, f"W + {s:.3g} direction") - f0 - s * slope0)
                       for s in steps])
    check_finite_result(errors, "the Taylor remainders", "the objective's values are too large to compare")
    noise = 1e3 * np.finfo(float).eps * max(1.0, abs(f0))
    usable = np.flatnonzero(errors > noise)[-6:]
    if usable.size == 0:
        return GradientCheck(steps, errors, slope=float("nan"), status="passed")
    if usable.size < 3:
        return GradientCheck(steps, errors, slope=float("nan"), status="inconclusive")
    slope = float(np.polyfit(np.log(steps[usable]), np.log(errors[usable]), 1)[0])
    return GradientCheck(steps, errors, slope=slope, status="passed" if abs(slope - 2.0) < 0.1 else "failed")


def _finite_value(objective: Objective, W: np.ndarray, where: str) -> float:
    """``float(objective.value(W))``, or a ValueError naming ``objective`` if it is NaN or infinite."""
    v = float(objective.value(W))
    if not np.isfinite(v):
        raise ValueError(f"objective.value returned {v} at {where}: the gradient check needs finite values")
    return v
