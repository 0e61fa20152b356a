r"""Eigenmode predictions for SimSiam and BYOL with a linear predictor: trajectories, fixed points, alignment.

Conventions and sources as :mod:`grassdyn.ssl.predictor` and
:mod:`grassdyn.symbolic.predictor` (docs/conventions.md; Tian, Chen & Ganguli,
ICML 2021, arXiv 2102.06810: [TCG21]_). When ``Sigma`` and ``M`` commute
(an :class:`~grassdyn.data.AugmentationModel` with zero mean), let ``u_j``
be their common eigenvectors, ``m_j = u_j^T M u_j`` and
``sigma_j = u_j^T Sigma u_j``. From an *aligned* start
``W = [u_j]_{j in I} diag(w)``, ``Wp = diag(p)``, ``Wa = [u_j] diag(a)`` the
state stays aligned and each mode obeys the scalar ODE derived in
:func:`grassdyn.symbolic.eigenmode_ode`:

.. math::

   \dot p = \alpha\,(m\,a\,w - \sigma w^2 p) - \eta p, \quad
   \dot w = m\,a\,p - \sigma w p^2 - \eta w, \quad
   \dot a = \beta\,(w - a)\ \ (\text{SimSiam: } a = w),

so the eigenvalues of the predictor are ``p_j`` and those of the correlation
``F = W^T M W`` are ``s_j = m_j w_j^2``. Its non-trivial fixed points,
``p_(+-) = (m +- sqrt(m^2 - 4 sigma eta)) / (2 sigma)``, ``s = m p^2 / alpha``,
exist iff ``eta <= m^2 / (4 sigma)`` (:func:`weight_decay_threshold`).

From a generic start the eigenspaces of ``Wp`` and ``F`` align over time
([TCG21]_, eigenspace alignment): :func:`eigen_alignment` measures the largest principal angle
between an eigenvector of ``F`` and the nearest eigenvector of ``sym Wp``.

References
----------
.. [TCG21] Y. Tian, X. Chen, S. Ganguli, "Understanding self-supervised
   learning dynamics without contrastive pairs", ICML 2021, arXiv 2102.06810.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy.integrate import solve_ivp

from grassdyn import grassmann
from grassdyn._array import mT as _mT
from grassdyn._validation import as_float_array, as_real, as_times

__all__ = [
    "EigenmodePrediction",
    "aligned_state",
    "common_eigenbasis",
    "eigen_alignment",
    "eigenmode_rhs",
    "eigenmode_trajectory",
    "fixed_point_values",
    "weight_decay_threshold",
]

#: Relative size of ``||Sigma M - M Sigma||`` below which the two count as commuting.
COMMUTE_RTOL = 1e-10


def _predictor_loss(loss: Any) -> None:
    if getattr(loss, "is_gradient", True) is not False or not hasattr(loss, "Sigma"):
        raise TypeError(
            f"loss must be a SimSiam/BYOL loss of grassdyn.ssl.predictor, got {type(loss).__name__}"
        )
    if loss.direct:
        raise ValueError('loss: the eigenmode ODE is for a trained predictor, not predictor="direct"')


def common_eigenbasis(loss: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Common eigenvectors ``U`` (d, d) of ``loss.Sigma`` and ``loss.M``, and their ``m``, ``sigma`` (d,).

    Sorted by ``m`` descending (then ``sigma`` descending). Raises
    ``ValueError`` if the two do not commute (e.g. a model with a mean).

    Examples
    --------
    >>> from grassdyn.data import AugmentationModel
    >>> from grassdyn.ssl import simsiam
    >>> model = AugmentationModel(4, [3.0, 2.0], [1.0], rho=0.5, noise=0.5, mixing=np.eye(4)[:, :3])
    >>> U, m, sigma = common_eigenbasis(simsiam(model))
    >>> m.round(3).tolist(), sigma.round(3).tolist()
    ([3.0, 2.0, 0.5, 0.0], [3.25, 2.25, 1.25, 0.25])
    """
    _predictor_loss(loss)
    S, M = loss.Sigma, loss.M
    scale = max(1.0, float(np.max(np.abs(S))), float(np.max(np.abs(M))))
    comm = float(np.max(np.abs(S @ M - M @ S)))
    if comm > COMMUTE_RTOL * scale**2:
        raise ValueError(
            f"loss: Sigma and M do not commute (max|Sigma M - M Sigma| = {comm:.3g}); the eigenmode "
            "prediction needs a common eigenbasis (a data model with zero mean)"
        )
    # a generic combination separates directions that only one of the two distinguishes
    _, U = np.linalg.eigh(M + (np.sqrt(2.0) / 7.0) * S)
    m = np.einsum("ij,ik,kj->j", U, M, U)
    sigma = np.einsum("ij,ik,kj->j", U, S, U)
    order = np.lexsort((-sigma, -m))
    return U[:, order], m[order], sigma[order]


def aligned_state(
    loss: Any, modes: ArrayLike, w: ArrayLike, p: ArrayLike, a: ArrayLike | None = None
) -> dict[str, np.ndarray]:
    """The matrix state ``W = U[:, modes] diag(w)``, ``Wp = diag(p)`` (and ``Wa = U[:, modes] diag(a)``).

    Pass it as ``W0`` to :func:`grassdyn.sgd.simulate` or
    :func:`grassdyn.flows.integrate`; ``a`` defaults to ``w`` (BYOL only).
    """
    _predictor_loss(loss)
    U, _, _ = common_eigenbasis(loss)
    idx = np.asarray(modes, dtype=int)
    valid = idx.ndim == 1 and idx.size >= 1 and np.all((idx >= 0) & (idx < loss.d))
    if not valid or np.unique(idx).size != idx.size:
        raise ValueError(f"modes must be distinct indices in [0, {loss.d}), got {modes!r}")
    h = idx.size
    w, p = as_float_array(w, "w"), as_float_array(p, "p")
    for name, v in (("w", w), ("p", p)):
        if v.shape != (h,):
            raise ValueError(f"{name} must have shape ({h},) like modes, got {v.shape}")
    state = {"W": U[:, idx] * w, "predictor": np.diag(p)}
    if loss.has_target:
        a = w if a is None else as_float_array(a, "a")
        if a.shape != (h,):
            raise ValueError(f"a must have shape ({h},) like modes, got {a.shape}")
        state["target"] = U[:, idx] * a
    elif a is not None:
        raise ValueError("a (the target) is only used with BYOL (ema > 0)")
    return state


def eigenmode_rhs(
    y: np.ndarray, m: np.ndarray, sigma: np.ndarray, eta: float, alpha: float, beta: float | None
) -> np.ndarray:
    """Right-hand side of the mode ODEs, ``y`` of shape (2 or 3, h): rows ``p``, ``w`` (, ``a``)."""
    p, w = y[0], y[1]
    a = w if beta is None else y[2]
    out = [alpha * (m * a * w - sigma * w * w * p) - eta * p, m * a * p - sigma * w * p * p - eta * w]
    if beta is not None:
        out.append(beta * (w - a))
    return np.stack(out)


@dataclass(frozen=True)
class EigenmodePrediction:
    """Predicted mode trajectories: ``p`` (predictor eigenvalues), ``s = m w^2`` (correlation eigenvalues)."""

    t: np.ndarray
    p: np.ndarray
    w: np.ndarray
    s: np.ndarray
    a: np.ndarray | None
    m: np.ndarray
    sigma: np.ndarray


def eigenmode_trajectory(
    loss: Any,
    modes: ArrayLike,
    w: ArrayLike,
    p: ArrayLike,
    t: ArrayLike,
    a: ArrayLike | None = None,
    *,
    rtol: float = 1e-10,
    atol: float = 1e-12,
) -> EigenmodePrediction:
    """Integrate the decoupled mode ODEs from the aligned start of :func:`aligned_state`.

    Returns arrays of shape ``(T, h)``: the predicted eigenvalues of the
    predictor (``p``) and of ``F = W^T M W`` (``s``), to compare with a
    simulation or the matrix ODE started at ``aligned_state(...)``.

    Examples
    --------
    >>> from grassdyn.data import AugmentationModel
    >>> from grassdyn.ssl import simsiam
    >>> model = AugmentationModel(4, [1.0], [0.5], rho=0.0, noise=0.5, mixing=np.eye(4)[:, :2])
    >>> loss = simsiam(model, weight_decay=0.05)
    >>> pred = eigenmode_trajectory(loss, [0], [1.0], [1.0], [0.0, 200.0])
    >>> p_plus = fixed_point_values(1.0, 1.25, 0.05, 1.0)["p+"][0]
    >>> bool(abs(pred.p[-1, 0] - p_plus) < 1e-8)
    True
    """
    _predictor_loss(loss)
    state = aligned_state(loss, modes, w, p, a)
    idx = np.asarray(modes, dtype=int)
    _, m_all, s_all = common_eigenbasis(loss)
    m, sigma = m_all[idx], s_all[idx]
    t_out = as_times(t, "t")
    rtol = as_real(rtol, "rtol", low=100 * np.finfo(float).eps)
    atol = as_real(atol, "atol", low=0.0)
    h = idx.size
    beta = loss.ema_rate if loss.has_target else None
    rows_0 = [np.diag(state["predictor"]), as_float_array(w, "w")]
    if beta is not None:
        rows_0.append(as_float_array(w if a is None else a, "a"))
    y0 = np.stack(rows_0)
    rows = y0.shape[0]
    eta, alpha = loss.weight_decay, loss.predictor_lr

    def fun(_: float, y: np.ndarray) -> np.ndarray:
        return eigenmode_rhs(y.reshape(rows, h), m, sigma, eta, alpha, beta).ravel()

    if t_out[-1] == 0.0:
        Y = np.repeat(y0[None], t_out.size, axis=0)
    else:
        sol = solve_ivp(fun, (0.0, float(t_out[-1])), y0.ravel(), method="DOP853", t_eval=t_out, rtol=rtol,
                        atol=atol)
        if not sol.success:
            raise RuntimeError(f"eigenmode integration failed: {sol.message}")
        Y = sol.y.T.reshape(t_out.size, rows, h)
    return EigenmodePrediction(
        t=t_out, p=Y[:, 0], w=Y[:, 1], s=m * Y[:, 1] ** 2, a=Y[:, 2] if beta is not None else None,
        m=m, sigma=sigma,
    )


def weight_decay_threshold(m: ArrayLike, sigma: ArrayLike) -> np.ndarray:
    """``eta* = m^2 / (4 sigma)``: above it a mode has no non-trivial fixed point and collapses.

    Derived in :func:`grassdyn.symbolic.weight_decay_threshold`; [TCG21]_
    has ``tau^2 / (4 (1 + sigma^2))`` (``m = 1``, ``tau = 1``).

    Examples
    --------
    >>> float(weight_decay_threshold(1.0, 1.25))
    0.2
    """
    m, sigma = as_float_array(m, "m"), as_float_array(sigma, "sigma")
    if np.any(sigma <= 0):
        raise ValueError("sigma must be > 0")
    return m**2 / (4.0 * sigma)


def fixed_point_values(m: ArrayLike, sigma: ArrayLike, eta: float, alpha: float) -> dict[str, np.ndarray]:
    """``p_(+-)`` and ``s_(+-) = m p^2 / alpha`` per mode (NaN where ``eta > m^2 / (4 sigma)``).

    Keys ``"p+"``, ``"p-"``, ``"s+"``, ``"s-"``; the trivial point is ``p = s = 0``.
    """
    m, sigma = np.atleast_1d(as_float_array(m, "m")), np.atleast_1d(as_float_array(sigma, "sigma"))
    eta = as_real(eta, "eta", low=0.0)
    alpha = as_real(alpha, "alpha", low=0.0, low_open=True)
    disc = m**2 - 4.0 * sigma * eta
    root = np.sqrt(np.where(disc >= 0, disc, np.nan))
    out = {"p+": (m + root) / (2 * sigma), "p-": (m - root) / (2 * sigma)}
    out["s+"] = m * out["p+"] ** 2 / alpha
    out["s-"] = m * out["p-"] ** 2 / alpha
    return out


def eigen_alignment(P: ArrayLike, F: ArrayLike) -> np.ndarray:
    """Largest angle between an eigenvector of ``F`` and the nearest eigenvector of ``sym P``.

    ``P`` and ``F`` of shape ``(..., h, h)``; returns ``(...)`` in
    ``[0, pi/2]``: ``max_j min_i theta(u_j, v_i)``, the principal angle
    between the eigenlines ``span u_j`` of ``F`` and ``span v_i`` of
    ``sym P``. It is 0 exactly when every eigenvector of ``F`` is one of
    ``sym P``'s (for distinct eigenvalues: when they commute), whatever the
    order of their eigenvalues. Close eigenvalues make the eigenlines
    ill-defined, and the angle says so by being large.

    Examples
    --------
    >>> float(eigen_alignment(np.diag([1.0, 2.0]), np.diag([5.0, 3.0])))
    0.0
    >>> c, s = np.cos(0.3), np.sin(0.3)
    >>> R = np.array([[c, -s], [s, c]])
    >>> round(float(eigen_alignment(R @ np.diag([2.0, 1.0]) @ R.T, np.diag([5.0, 3.0]))), 12)
    0.3
    """
    P, F = as_float_array(P, "P", min_ndim=2), as_float_array(F, "F", min_ndim=2)
    h = P.shape[-1]
    if P.shape[-2:] != (h, h) or F.shape[-2:] != (h, h):
        raise ValueError(f"P and F must be square (..., h, h) of the same size, got {P.shape} and {F.shape}")
    _, UP = np.linalg.eigh(0.5 * (P + _mT(P)))
    _, UF = np.linalg.eigh(0.5 * (F + _mT(F)))
    # eigenvectors as (..., j, i, h, 1) lines: every pair (u_j, v_i) at once
    lines_F = _mT(UF)[..., :, None, :, None]
    lines_P = _mT(UP)[..., None, :, :, None]
    theta = grassmann.principal_angles(lines_F, lines_P, check=False)[..., 0]
    return np.max(np.min(theta, axis=-1), axis=-1)
