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

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
from numpy.typing import ArrayLike

from grassdyn._validation import as_float_array, as_frame, as_rng, as_symmetric, require_gradient

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
        self.const = float(const)

    @property
    def d(self) -> int:
        return self.C.shape[0]

    def _check(self, W: ArrayLike) -> np.ndarray:
        W = as_float_array(W, "W", min_ndim=2)
        if W.shape[-2] != self.d:
            raise ValueError(f"W must have d = {self.d} rows to match C, got shape {W.shape}")
        return W

    def value(self, W: ArrayLike) -> float | np.ndarray:
        W = self._check(W)
        v = -0.5 * np.einsum("...ij,ik,...kj->...", W, self.C, W) + self.const
        return float(v) if np.ndim(v) == 0 else v

    def egrad(self, W: ArrayLike) -> np.ndarray:
        return -(self.C @ self._check(W))

    def __repr__(self) -> str:
        return f"Quadratic(d={self.d})"


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
    D = D / np.linalg.norm(D)
    f0 = float(objective.value(W))
    g = np.asarray(objective.egrad(W), dtype=np.float64)
    if g.shape != W.shape:
        raise ValueError(f"objective.egrad returned shape {g.shape}, expected {W.shape}")
    slope0 = float(np.sum(g * D))
    steps = np.logspace(0, -8, 25) * max(1.0, float(np.linalg.norm(W)))
    errors = np.array([abs(float(objective.value(W + s * D)) - f0 - s * slope0) for s in steps])
    noise = 1e3 * np.finfo(float).eps * max(1.0, abs(f0))
    usable = np.flatnonzero(errors > noise)[-6:]
    if usable.size == 0:
        return GradientCheck(steps, errors, slope=float("nan"), status="passed")
    if usable.size < 3:
        return GradientCheck(steps, errors, slope=float("nan"), status="inconclusive")
    slope = float(np.polyfit(np.log(steps[usable]), np.log(errors[usable]), 1)[0])
    return GradientCheck(steps, errors, slope=slope, status="passed" if abs(slope - 2.0) < 0.1 else "failed")
