r"""Gradient flows of quadratic objectives: exact solutions, vector fields and the limit.

Conventions (docs/conventions.md): ``L(W) = -1/2 tr(W^T C W)`` with ``C`` symmetric,
``t`` is gradient-flow time, and

- the Grassmannian flow (Oja's subspace flow) is ``dW/dt = (I - W W^T) C W``;
  its projector ``P = W W^T`` obeys the Riccati equation
  ``dP/dt = C P + P C - 2 P C P`` and ``span W(t) = span(e^{Ct} W0)``
  [Oja82]_, [Oja89]_, [YHM94]_;
- the unconstrained ("naive") flow is ``dW/dt = C W``, ``W(t) = e^{Ct} W0``.

Every dense closed form here uses one eigendecomposition ``C = Q diag(lam) Q^T``
(``lam`` descending), shared by all times and all initial frames of a batch,
and works in the eigenbasis ``Y = Q^T W``, where the flow is diagonal:
``span Y(t) = span(e^{diag(lam) t} Y0)``, followed exactly at any ``t``
through pivoted graph charts (``grassdyn/_chart.py``: cost independent of
``t``). A diagonal ``C`` is recognised and its eigenvectors taken as exact
coordinate vectors, and a known decomposition can be passed as
``eig=(lam, Q)``, so that degenerate starts (``W0`` inside a coordinate
subspace) stay exactly degenerate. A sparse or ``LinearOperator`` ``C`` is
used matrix-free (``grassdyn/_krylov.py``).

:func:`integrate` (any objective, numerically) lives in
:mod:`grassdyn.integrators` and is re-exported here.

References
----------
.. [Oja82] E. Oja, "A simplified neuron model as a principal component
   analyzer", J. Math. Biol. 15 (1982).
.. [Oja89] E. Oja, "Neural networks, principal components, and subspaces",
   Int. J. Neural Syst. 1 (1989).
.. [YHM94] W.-Y. Yan, U. Helmke, J. B. Moore, "Global analysis of Oja's flow
   for neural networks", IEEE Trans. Neural Netw. 5 (1994).
.. [EAS98] A. Edelman, T. A. Arias, S. T. Smith, "The geometry of algorithms
   with orthogonality constraints", SIAM J. Matrix Anal. Appl. 20 (1998).
.. [YNYF15] Y. Yamamoto, Y. Nakatsukasa, Y. Yanagisawa, T. Fukaya,
   "Roundoff error analysis of the CholeskyQR2 algorithm", Electron. Trans.
   Numer. Anal. 44 (2015).
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike
from scipy.optimize import brentq

from grassdyn import _chart, _krylov
from grassdyn._array import mT as _mT
from grassdyn._validation import (
    as_float_array,
    as_frame,
    as_int,
    as_real,
    as_symmetric,
    as_times,
    check_allocation,
    check_choice,
    check_finite_result,
    orthogonality_defect,
    require_gradient,
)
from grassdyn.trajectory import Trajectory

__all__ = [
    "GAP_RTOL",
    "eigen",
    "euclidean_closed_form",
    "grassmann_closed_form",
    "integrate",
    "limit",
    "oja_rhs",
    "projector_closed_form",
    "riccati_rhs",
]

#: Relative spectral gap below which an eigenspace is treated as not unique:
#: ``lam_h - lam_{h+1} <= GAP_RTOL * max(1, max|lam|)``. At this gap the
#: computed eigenspace is determined only to about ``eps / GAP_RTOL`` ~ 1e-6.
GAP_RTOL = 1e-10

_LOG_MAX = math.log(np.finfo(np.float64).max)

def _check_output(W0: np.ndarray, t: np.ndarray, what: str, *, square: bool = False) -> None:
    """Refuse, before any work, outputs ``(..., T, d, h)`` (or ``(..., T, d, d)``) too large for memory."""
    d, h = W0.shape[-2:]
    check_allocation((*W0.shape[:-2], t.size, d, d if square else h),
                     f"len(t) = {t.size}, {what} of shape {W0.shape}: the output "
                     f"(..., len(t), d, {'d' if square else 'h'})")


#: Largest ``max|C Q - Q diag(lam)|``, relative to ``max(1, max|lam|)``, accepted for a
#: decomposition ``eig = (lam, Q)`` of a given ``C`` (a float64 ``eigh`` has about
#: ``d eps``; a decomposition of another matrix is off by the size of the difference).
EIG_RTOL = 1e-8

Eig = tuple[ArrayLike, ArrayLike]



# -- eigendecomposition ------------------------------------------------------------------
def eigen(C: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues in descending order and orthonormal eigenvectors of a symmetric ``C``.

    Parameters
    ----------
    C : array_like, shape (d, d)
        Symmetric (validated).

    Returns
    -------
    lam : ndarray, shape (d,)
        Descending eigenvalues.
    Q : ndarray, shape (d, d)
        ``C = Q diag(lam) Q^T``. For a diagonal ``C`` the columns are exact
        coordinate vectors (a permutation matrix), so that frames inside
        coordinate subspaces keep their exact zeros in the eigenbasis.

    Examples
    --------
    >>> lam, Q = eigen(np.diag([1.0, 3.0, 2.0]))
    >>> lam.tolist(), Q[:, 0].tolist()
    ([3.0, 2.0, 1.0], [0.0, 1.0, 0.0])
    """
    C = as_symmetric(C, "C")
    return _eigen(C)


def _eigen(C: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    diag = np.diagonal(C)
    if np.array_equal(C, np.diag(diag)):
        order = np.argsort(-diag, kind="stable")
        return diag[order].copy(), np.eye(C.shape[0])[:, order]
    lam, Q = np.linalg.eigh(C)
    return lam[::-1].copy(), Q[:, ::-1].copy()


def _check_eig(eig: Any, C: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Validate ``eig = (lam, Q)``: lam (d,) descending, Q (d, d) orthonormal, ``C Q = Q diag(lam)``."""
    if not isinstance(eig, (tuple, list)) or len(eig) != 2:
        raise TypeError(f"eig must be a pair (lam, Q), got {type(eig).__name__}")
    lam = as_float_array(eig[0], "eig lam")
    if lam.ndim != 1 or lam.size < 1:
        raise ValueError(f"eig: lam must be 1-D with d >= 1 entries, got shape {lam.shape}")
    Q = as_frame(eig[1], "eig Q")
    d = lam.size
    if Q.shape != (d, d):
        raise ValueError(f"eig: Q must have shape ({d}, {d}) to match lam, got {Q.shape}")
    if np.any(np.diff(lam) > 0):
        i = int(np.argmax(np.diff(lam) > 0))
        raise ValueError(
            f"eig: lam must be in descending order, but lam[{i + 1}] = {lam[i + 1]:.6g} "
            f"> lam[{i}] = {lam[i]:.6g}"
        )
    if C is not None:
        if C.shape != (d, d):
            raise ValueError(f"eig: lam has d = {d} entries but C has shape {C.shape}")
        CQ = C.matmat(Q) if isinstance(C, _krylov.sla.LinearOperator) else C @ Q
        residual = float(np.max(np.abs(CQ - Q * lam)))
        tol = EIG_RTOL * max(1.0, float(np.max(np.abs(lam))))
        if residual > tol:
            raise ValueError(
                f"eig does not decompose C: max|C Q - Q diag(lam)| = {residual:.3g} exceeds {tol:.3g}"
            )
    return lam, Q


def _decomposition(C: Any, eig: Any) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
    """``(C, lam, Q)`` from ``C`` and/or ``eig``; ``C`` may be None when ``eig`` is given."""
    if eig is None:
        if C is None:
            raise ValueError("C must be given (or its decomposition eig=(lam, Q))")
        if _krylov.is_operator(C):
            raise ValueError(
                "C: a sparse matrix or LinearOperator is supported by grassmann_closed_form, "
                "projector_closed_form, limit and theory.rate; here pass a dense C or eig=(lam, Q)"
            )
        C = as_symmetric(C, "C")
        return (C, *_eigen(C))
    if C is not None:
        C = _krylov.as_operator(C, "C")[0] if _krylov.is_operator(C) else as_symmetric(C, "C")
    lam, Q = _check_eig(eig, C)
    return C, lam, Q


def _check_frame_dim(W0: np.ndarray, d: int, name: str = "W0") -> None:
    if W0.shape[-2] != d:
        raise ValueError(
            f"C and {name} must have the same ambient dimension d: C is ({d}, {d}), {name} is {W0.shape}"
        )


def _check_pair(C: ArrayLike, W0: ArrayLike, *, orthonormal: bool = True) -> tuple[np.ndarray, np.ndarray]:
    require_gradient(C, "C")
    C = as_symmetric(C, "C")
    W0 = as_frame(W0, "W0", orthonormal=orthonormal)
    if W0.shape[-2] != C.shape[0]:
        raise ValueError(
            f"C and W0 must have the same ambient dimension d: C is {C.shape}, W0 is {W0.shape}"
        )
    return C, W0


# -- the flow in the eigenbasis: pivoted graph charts (grassdyn._chart) ---------------------
def _eigenbasis_trajectory(
    lam: np.ndarray, Y0: np.ndarray, t: np.ndarray, frame: str, rtol: float
) -> tuple[np.ndarray, dict[str, Any]]:
    """Frames of ``span(e^{diag(lam) t_k} Y0)`` for a batch ``Y0`` (..., d, h): shape (..., T, d, h).

    Each frame of the batch has its own charts (its own events), so the batch
    is a loop; every frame's cost is independent of ``t`` (grassdyn._chart).
    """
    d, h = Y0.shape[-2:]
    flat = Y0.reshape(-1, d, h)
    out = np.empty((flat.shape[0], t.size, d, h))
    stats: dict[str, Any] = {"chart_changes": 0, "pivot_swaps": 0}
    horizontal = frame == "horizontal"
    if horizontal:
        stats.update(rotation_steps=0, rotation_evaluations=0)
    for b, Yb in enumerate(flat):
        if horizontal:
            out[b], st = _chart.horizontal_frames(lam, Yb, t, rtol)
        else:
            out[b], st = _chart.subspace_frames(lam, Yb, t)
        for key in stats:
            stats[key] = max(stats[key], st[key])
    if horizontal:
        # W^T W = I is an invariant of the ODE; its integration error is removed by
        # the polar factor (the nearest orthonormal frame), and reported before removal
        stats["rotation_defect_before_polar"] = float(np.max(orthogonality_defect(out), initial=0.0))
        gram = _mT(out) @ out
        s, V = np.linalg.eigh(gram)
        out = out @ ((V / np.sqrt(s)[..., None, :]) @ _mT(V))
    return out.reshape(*Y0.shape[:-2], t.size, d, h), stats


def _rotate(Q: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """``Q @ Y`` for a stack ``Y`` (..., d, h) as one GEMM (a broadcast matmul loops over the stack)."""
    d, h = Y.shape[-2:]
    rows = np.ascontiguousarray(_mT(Y)).reshape(-1, d) @ Q.T
    return _mT(rows.reshape(*Y.shape[:-2], h, d))


# -- public closed forms ------------------------------------------------------------------
def grassmann_closed_form(
    C: ArrayLike | None,
    W0: ArrayLike,
    t: ArrayLike,
    *,
    frame: Literal["subspace", "horizontal"] = "subspace",
    rtol: float = 1e-12,
    eig: Eig | None = None,
) -> Trajectory:
    r"""Exact solution of Oja's subspace flow ``dW/dt = (I - W W^T) C W``, at a cost independent of ``t``.

    Parameters
    ----------
    C : array_like, shape (d, d), scipy.sparse matrix, LinearOperator, or None
        Symmetric generator of ``L(W) = -1/2 tr(W^T C W)``; may be None when
        ``eig`` is given. A sparse matrix or ``LinearOperator`` (real, square,
        symmetric: checked) is used matrix-free, never as a dense ``d x d``
        array: ``span(e^{Ct} W0)`` by ``expm_multiply`` on the ``d x h``
        block with re-orthonormalisation (``grassdyn/_krylov.py``, which
        states the error estimate; cost linear in ``t`` times a bound on the
        spectral spread, ``frame="subspace"`` only).
    W0 : array_like, shape (..., d, h)
        Orthonormal initial frame(s); leading axes form a batch.
    t : array_like, shape (T,)
        Non-decreasing, finite gradient-flow times ``>= 0`` (any size up to
        the float64 maximum; ``inf`` is rejected: the limit is
        :func:`limit`).
    frame : {"subspace", "horizontal"}
        ``"subspace"``: some orthonormal frame of ``span(e^{Ct} W0)``, exact
        as a subspace; the gauge (which frame of it) is unspecified and may
        jump between times. ``"horizontal"``: the frame Oja's ODE itself
        produces, ``e^{Ct} W0 M(t)``, with ``W^T dW/dt = 0`` and ``W(0) = W0``.
    rtol : float
        Tolerance of the h x h ODE behind ``frame="horizontal"`` (the
        subspace is exact either way).
    eig : (lam, Q), optional
        A known decomposition ``C = Q diag(lam) Q^T``: ``lam`` (d,)
        descending, ``Q`` (d, d) orthonormal; checked against ``C`` when both
        are given. Degeneracies exact in that basis (zero components, equal
        eigenvalues) then stay exact, which a fresh ``eigh`` cannot promise.

    Returns
    -------
    Trajectory
        ``W`` of shape ``(..., T, d, h)``, method ``"closed_form"``, manifold
        ``"grassmann"``; ``stats`` holds ``max_orthogonality_defect``,
        ``chart_changes`` (the most events of any frame of the batch),
        ``pivot_swaps`` and, for the horizontal frame, the ODE's steps,
        evaluations and its defect before the final polar factor.

    Notes
    -----
    ``span W(t) = span(e^{Ct} W0)`` [YHM94]_. Forming ``e^{Ct} W0`` fails for
    large ``t`` (its columns all turn towards the top eigenvector and
    overflow). Instead, with one ``eigh`` ``C = Q diag(lam) Q^T``, the flow
    is followed in the eigenbasis ``Y = Q^T W`` through pivoted graph charts
    (``grassdyn/_chart.py``): in a chart with pivot rows ``S``, the subspace
    is ``span Z`` with ``Z_S = I`` and
    ``Z_ij(t) = Z_ij(s) e^{(lam_i - lam_{p_j})(t - s)}`` exactly, one product
    per entry at any ``t``. A chart is changed (re-pivoted by maxvol swaps)
    only at *events*, when a growing entry reaches a bound; the Plücker
    coordinates ``det Y_S(t) = det Y_S(0) e^{t sum_S lam}`` show that the
    eigenvalue sum of the pivots strictly increases at every event, so the
    number of events ``p`` is at most ``C(d, h) - 1`` whatever ``t``
    (proof in ``grassdyn/_chart.py``; a few in practice, reported as
    ``stats["chart_changes"]``). Exact zeros in ``Q^T W0`` stay exactly
    zero: a degenerate start never acquires a component it lacks, and the
    flow converges to the best eigenspace it can reach.

    Cost: one ``eigh`` (``O(d^3)``), ``O(p d h^2)`` for the charts and
    ``O(T d h^2)`` for the output frames (Cholesky-QR2 of the graphs), plus
    the rotation back by ``Q`` (``O(T d^2 h)``), per frame of the batch.
    Accuracy: projector error about ``eps K sqrt(h (d - h))`` with ``K`` the
    chart bound (``stats["max_chart_entry"]``), ~1e-15 against a
    high-precision reference for every ``t`` up to 1e300
    (``tests/test_flows.py``).

    The horizontal frame is ``W = Z M`` with ``M`` (h x h) solving
    ``dM/dt = -(Z^T Z)^{-1} Z^T (dZ/dt) M`` (which is ``W^T dW/dt = 0``) by
    DOP853 at ``rtol``. The chart is exact, so the ODE is only integrated
    while ``M`` moves: once the remaining motion is below ``eps`` (a bound
    from the decay rates of the last chart, ``_chart._freeze_time``), ``M``
    is constant. The step count is bounded by the spectrum, ``W0`` and
    ``rtol``, not by ``t``. It differs from the polar frame
    ``e^{Ct} W0 (W0^T e^{2Ct} W0)^{-1/2}`` by a time-dependent rotation
    (docs/conventions.md); both span the same subspace.

    Examples
    --------
    >>> C = np.diag([2.0, 1.0, 0.0])
    >>> W0 = np.array([[1.0], [1.0], [1.0]]) / np.sqrt(3)
    >>> traj = grassmann_closed_form(C, W0, [0.0, 1.0, 300.0])
    >>> traj.W.shape
    (3, 3, 1)
    >>> np.round(np.abs(traj.W[-1, :, 0]), 12).tolist()  # converged to the top eigenvector
    [1.0, 0.0, 0.0]
    >>> round(float(traj.distance_to(limit(C, 1))[-1] / np.exp(-300.0)), 12)  # e^{-300}, not lost
    1.0
    >>> float(grassmann_closed_form(C, W0, [1e300]).distance_to(limit(C, 1))[0])
    0.0
    """
    if eig is None and _krylov.is_operator(C):
        return _operator_closed_form(C, W0, t, frame)
    C, lam, Q = _decomposition(C, eig)
    W0 = as_frame(W0, "W0")
    _check_frame_dim(W0, lam.size)
    t = as_times(t, "t")
    check_choice(frame, "frame", ("subspace", "horizontal"))
    rtol = as_real(rtol, "rtol", low=1e-14, high=1e-3)
    _check_output(W0, t, "W0")
    Y, stats = _eigenbasis_trajectory(lam, _mT(Q) @ W0, t, frame, rtol)
    W = _rotate(Q, Y)
    stats["max_orthogonality_defect"] = float(np.max(orthogonality_defect(W), initial=0.0))
    params: dict[str, Any] = {"frame": frame, "eig_given": eig is not None}
    if frame == "horizontal":
        params["rtol"] = rtol
    return Trajectory(t=t, W=W, method="closed_form", manifold="grassmann", params=params, stats=stats)


def _operator_closed_form(C: Any, W0: ArrayLike, t: ArrayLike, frame: str) -> Trajectory:
    """:func:`grassmann_closed_form` for a sparse / LinearOperator ``C`` (grassdyn._krylov)."""
    C, lo, hi = _krylov.as_operator(C, "C")
    W0 = as_frame(W0, "W0")
    _check_frame_dim(W0, C.shape[0])
    t = as_times(t, "t")
    check_choice(frame, "frame", ("subspace", "horizontal"))
    if frame != "subspace":
        raise ValueError('frame="horizontal" needs a dense C or eig=(lam, Q); a sparse C gives the subspace')
    _check_output(W0, t, "W0")
    d, h = W0.shape[-2:]
    Y, stats = _krylov.subspace_frames(C, lo, hi, W0.reshape(-1, d, h), t)
    W = Y.reshape(*W0.shape[:-2], t.size, d, h)
    stats["max_orthogonality_defect"] = float(np.max(orthogonality_defect(W), initial=0.0))
    params = {"frame": frame, "eig_given": False, "matrix_free": True, "kappa": _krylov.KAPPA}
    return Trajectory(t=t, W=W, method="closed_form", manifold="grassmann", params=params, stats=stats)


def projector_closed_form(
    C: ArrayLike | None, X0: ArrayLike, t: ArrayLike, *, eig: Eig | None = None
) -> np.ndarray:
    """Exact solution ``P(t)`` of the Riccati equation ``dP/dt = CP + PC - 2PCP``.

    Parameters
    ----------
    C : array_like, shape (d, d)
        Symmetric generator.
    X0 : array_like, shape (..., d, h) or (..., d, d)
        Initial frame(s) ``W0``, or initial projector(s) ``P0`` (a symmetric
        idempotent square matrix is read as a projector; an orthogonal
        ``d x d`` frame and the projector ``I`` give the same answer).
    t : array_like, shape (T,)
        Non-decreasing finite times ``>= 0``.
    eig : (lam, Q), optional
        A known decomposition of ``C`` (see :func:`grassmann_closed_form`).

    Returns
    -------
    ndarray, shape (..., T, d, d)
        ``P(t) = W(t) W(t)^T`` for ``W`` of :func:`grassmann_closed_form`
        (same cost, independent of ``t``).

    Notes
    -----
    If ``W`` solves Oja's flow then ``P = W W^T`` solves the Riccati
    equation (it is the flow written on projectors, [YHM94]_), and
    ``range P(t) = span(e^{Ct} W0)``.

    Examples
    --------
    >>> P = projector_closed_form(np.diag([1.0, 0.0]), np.diag([0.5, 0.5]) + 0.5 * np.eye(2)[::-1], [40.0])
    >>> np.round(P[0], 12).tolist()
    [[1.0, 0.0], [0.0, 0.0]]
    """
    X0 = as_float_array(X0, "X0", min_ndim=2)
    if X0.shape[-1] == X0.shape[-2] and _is_projector(X0):
        from grassdyn.grassmann import from_projector

        try:
            X0 = from_projector(X0)
        except ValueError as exc:
            raise ValueError(f"X0 (read as a projector): {exc}".replace("P must", "X0 must")) from None
        _check_output(X0, as_times(t, "t"), "X0", square=True)
    elif X0.shape[-1] >= X0.shape[-2] and X0.shape[-1] != X0.shape[-2]:
        raise ValueError(f"X0 must be a frame (..., d, h) or a projector (..., d, d), got {X0.shape}")
    try:
        W = grassmann_closed_form(C, X0, t, eig=eig).W
    except ValueError as exc:
        raise ValueError(str(exc).replace("W0", "X0")) from None
    return W @ _mT(W)


def _is_projector(P: np.ndarray, atol: float = 1e-8) -> bool:
    return bool(
        np.max(np.abs(P - _mT(P)), initial=0.0) <= atol and np.max(np.abs(P @ P - P), initial=0.0) <= atol
    )


def euclidean_closed_form(
    C: ArrayLike | None, W0: ArrayLike, t: ArrayLike, *, normalize: bool = False, eig: Eig | None = None
) -> Trajectory:
    r"""Exact solution ``W(t) = e^{Ct} W0`` of the unconstrained flow ``dW/dt = C W``.

    Parameters
    ----------
    C : array_like, shape (d, d)
        Symmetric generator.
    W0 : array_like, shape (..., d, h)
        Initial matrices (need not be orthonormal; not all zero).
    t : array_like, shape (T,)
        Non-decreasing times ``>= 0``.
    normalize : bool
        Return ``W(t) / ||W(t)||_2`` instead of ``W(t)``, which is finite at
        every time.
    eig : (lam, Q), optional
        A known decomposition of ``C`` (see :func:`grassmann_closed_form`).

    Returns
    -------
    Trajectory
        ``W`` of shape ``(..., T, d, h)``, manifold ``"euclidean"``;
        ``stats["log_scale"]`` (shape ``(..., T)``) is ``log ||W(t)||_2``.

    Raises
    ------
    ValueError
        If ``normalize=False`` and ``W(t)`` overflows float64 at some
        requested ``t``; the message gives the time from which it does.

    Notes
    -----
    With ``C = Q diag(lam) Q^T`` and ``Y0 = Q^T W0``,
    ``W(t) = e^{lam* t} Q (e^{(lam - lam*) t} Y0)`` where ``lam*`` is the
    largest eigenvalue whose eigenvector ``W0`` touches (a row of ``Y0``
    that is not zero). The bracket is bounded and does not underflow to zero,
    so ``log||W(t)||_2 = lam* t + log||e^{(lam - lam*) t} Y0||_2`` is exact
    in log space. For ``h >= 2`` and ``lam_1 > lam_2`` every column turns
    towards the top eigenvector: dimension collapse
    (:func:`grassdyn.theory.effective_rank` tends to 1).

    Examples
    --------
    >>> traj = euclidean_closed_form(np.diag([1.0, -1.0]), np.eye(2), [0.0, 1000.0], normalize=True)
    >>> traj.stats["log_scale"].tolist()
    [0.0, 1000.0]
    """
    C, lam, Q = _decomposition(C, eig)
    W0 = as_frame(W0, "W0", orthonormal=False)
    _check_frame_dim(W0, lam.size)
    t = as_times(t, "t")
    if not isinstance(normalize, (bool, np.bool_)):
        raise TypeError(f"normalize must be True or False, got {type(normalize).__name__} {normalize!r}")
    _check_output(W0, t, "W0")
    if not np.any(W0):
        raise ValueError("W0 must not be zero: the flow stays at 0 and has no direction")
    Y0 = _mT(Q) @ W0
    touched = np.any(Y0 != 0.0, axis=-1)  # (..., d)
    lam_star = np.max(np.where(touched, lam, -np.inf), axis=-1)  # (...)
    lam_star = np.where(np.isfinite(lam_star), lam_star, lam[0])  # an all-zero member of a batch
    # exponent <= 0 on touched rows; untouched rows are zero and get exponent 0
    expo = np.where(touched[..., None, :], (lam - lam_star[..., None])[..., None, :] * t[:, None], 0.0)
    U = Q @ (np.exp(expo)[..., :, :, None] * Y0[..., None, :, :])  # (..., T, d, h)
    norms = np.linalg.norm(U, ord=2, axis=(-2, -1))
    with np.errstate(divide="ignore"):
        log_scale = lam_star[..., None] * t + np.log(norms)
    if normalize:
        W = U / np.where(norms > 0, norms, 1.0)[..., None, None]
    else:
        if np.any(log_scale >= _LOG_MAX):
            t_over = _overflow_time(lam, Y0, touched, lam_star, t, log_scale)
            raise ValueError(
                f"t: W(t) = e^(Ct) W0 overflows float64 (||W(t)||_2 > 1.8e308) for t >= {t_over:.6g}, "
                f"and t reaches {t[-1]:.6g}; pass normalize=True to get W(t)/||W(t)||_2 "
                "with log||W(t)||_2 in stats['log_scale']"
            )
        W = (U / np.where(norms > 0, norms, 1.0)[..., None, None]) * np.exp(log_scale)[..., None, None]
    return Trajectory(
        t=t,
        W=W,
        method="closed_form",
        manifold="euclidean",
        params={"normalize": normalize},
        stats={"log_scale": log_scale},
    )


def _overflow_time(lam, Y0, touched, lam_star, t, log_scale) -> float:
    """Earliest time at which ``log||e^{Ct} W0||_2`` reaches ``log(float max)``.

    ``t -> log||e^{Lambda t} Y0||_2`` is convex (a maximum of log-sum-exps), so
    once above the threshold it stays above, and the crossing is bracketed by
    0 and the first failing requested time.
    """
    flat_Y = Y0.reshape(-1, *Y0.shape[-2:])
    flat_touched = touched.reshape(-1, touched.shape[-1])
    flat_star = lam_star.reshape(-1)
    flat_log = log_scale.reshape(-1, t.size)
    times = []
    for Y, tch, ls, logs in zip(flat_Y, flat_touched, flat_star, flat_log, strict=True):
        bad = np.nonzero(logs >= _LOG_MAX)[0]
        if bad.size == 0:
            continue

        def excess(s: float, Y=Y, tch=tch, ls=ls) -> float:
            e = np.exp(np.where(tch, (lam - ls) * s, 0.0))[:, None] * Y
            return ls * s + math.log(np.linalg.norm(e, ord=2)) - _LOG_MAX

        times.append(brentq(excess, 0.0, float(t[bad[0]]), xtol=1e-12, rtol=1e-12))
    return min(times)


# -- vector fields ------------------------------------------------------------------------
def oja_rhs(C: ArrayLike, W: ArrayLike, *, check: bool = True) -> np.ndarray:
    """Oja's subspace vector field ``(I - W W^T) C W``, shape ``(..., d, h)``.

    The negative Riemannian gradient of ``L = -1/2 tr(W^T C W)`` on Gr(d, h)
    [EAS98, §2.5.3]_, computed as ``CW - W (W^T C W)`` in O(d^2 h).

    Parameters
    ----------
    C : array_like, shape (d, d)
    W : array_like, shape (..., d, h)
    check : bool
        Validate the arguments (``False``: the fast path for inner loops).

    Examples
    --------
    >>> oja_rhs(np.diag([1.0, 2.0]), np.array([[1.0], [1.0]]) / np.sqrt(2)).ravel().round(6).tolist()
    [-0.353553, 0.353553]
    """
    if check:
        C, W = _check_pair(C, W, orthonormal=False)
    else:
        C, W = np.asarray(C, dtype=np.float64), np.asarray(W, dtype=np.float64)
    CW = C @ W
    with np.errstate(over="ignore", invalid="ignore"):
        out = CW - W @ (_mT(W) @ CW)
    if check and not np.all(np.isfinite(out)):
        # cubic in W: computed again on W / s (s = max|W|) and scaled back by s^3, which is finite
        # whenever the field itself is representable
        s = np.max(np.abs(W), axis=(-2, -1), keepdims=True)
        Ws = W / np.where(s > 0, s, 1.0)
        CWs = C @ Ws
        with np.errstate(over="ignore", invalid="ignore"):
            out = (CWs / s**2 - Ws @ (_mT(Ws) @ CWs)) * s**3
        check_finite_result(out, "oja_rhs(C, W)", f"W is too large (max|W| = {float(np.max(s)):.3g}; the "
                            "field is cubic in W and exceeds float64's range)")
    return out


def riccati_rhs(C: ArrayLike, P: ArrayLike, *, check: bool = True) -> np.ndarray:
    """The Riccati vector field ``C P + P C - 2 P C P`` on projectors, shape ``(..., d, d)``.

    Oja's flow written for ``P = W W^T`` [YHM94]_ (docs/conventions.md).

    Parameters
    ----------
    C : array_like, shape (d, d)
    P : array_like, shape (..., d, d)
    check : bool
        Validate the arguments.

    Examples
    --------
    >>> riccati_rhs(np.diag([1.0, 2.0]), np.diag([1.0, 0.0])).tolist()
    [[0.0, 0.0], [0.0, 0.0]]
    """
    if check:
        C = as_symmetric(C, "C")
        P = as_float_array(P, "P", min_ndim=2)
        if P.shape[-2:] != C.shape:
            raise ValueError(f"P must have shape (..., {C.shape[0]}, {C.shape[0]}) to match C, got {P.shape}")
    else:
        C, P = np.asarray(C, dtype=np.float64), np.asarray(P, dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        CP = C @ P
        out = CP + _mT(CP) - 2.0 * P @ CP
    if check and not np.all(np.isfinite(out)):
        # cubic in P: again on P / s (s = max|P|), scaled back, finite whenever the field is representable
        s = np.max(np.abs(P), axis=(-2, -1), keepdims=True)
        Ps = P / np.where(s > 0, s, 1.0)
        CPs = C @ Ps
        with np.errstate(over="ignore", invalid="ignore"):
            out = (CPs + _mT(CPs)) * s - 2.0 * (Ps @ CPs) * s**2
        check_finite_result(out, "riccati_rhs(C, P)", f"P is too large (max|P| = {float(np.max(s)):.3g}; "
                            "the field is quadratic in P and exceeds float64's range)")
    return out


# -- the limit ----------------------------------------------------------------------------
def limit(C: ArrayLike | None, h: int, *, gap_rtol: float = GAP_RTOL, eig: Eig | None = None) -> np.ndarray:
    """Frame of the top-h eigenspace of ``C``: the limit of Oja's flow from generic starts.

    Parameters
    ----------
    C : array_like, shape (d, d), scipy.sparse matrix or LinearOperator
        Symmetric generator. Sparse / operator: the top ``h + 1`` eigenpairs
        by ``eigsh`` (Lanczos), never a dense ``d x d`` matrix.
    h : int
        Subspace dimension, ``1 <= h <= d``.
    gap_rtol : float
        The limit is unique only if ``lam_h > lam_{h+1}``; a gap
        ``lam_h - lam_{h+1} <= gap_rtol * max(1, max|lam|)`` raises.
    eig : (lam, Q), optional
        A known decomposition of ``C`` (see :func:`grassmann_closed_form`);
        ``C`` may then be None.

    Returns
    -------
    ndarray, shape (d, h)
        Eigenvectors of the ``h`` largest eigenvalues.

    Notes
    -----
    From every ``W0`` whose span meets the bottom ``d - h`` eigenspace's
    orthogonal complement fully (``Q_h^T W0`` invertible, a dense open set)
    Oja's flow converges to the top-h eigenspace; all other critical points
    (spans of other h eigenvectors) are saddles or sources [YHM94]_.

    Examples
    --------
    >>> limit(np.diag([1.0, 3.0, 2.0]), 2).tolist()
    [[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]]
    """
    h = as_int(h, "h", minimum=1)
    gap_rtol = as_real(gap_rtol, "gap_rtol", low=0.0)
    if eig is None and _krylov.is_operator(C):
        C, _, _ = _krylov.as_operator(C, "C")
        d = C.shape[0]
        if h > d:
            raise ValueError(f"h must be <= d = {d}, got h = {h}")
        lam, Q, _ = _krylov.top_eigenpairs(C, min(h + 1, d))
    else:
        _, lam, Q = _decomposition(C, eig)
        d = lam.size
        if h > d:
            raise ValueError(f"h must be <= d = {d}, got h = {h}")
    if h < d:
        gap = lam[h - 1] - lam[h]
        tol = gap_rtol * max(1.0, float(np.max(np.abs(lam))))
        if gap <= tol:
            raise ValueError(
                f"h: no unique limit, the spectral gap lam_h - lam_(h+1) = {gap:.3g} is <= {tol:.3g} "
                f"(h = {h}, lam_h = {lam[h - 1]:.6g}): the top-{h} eigenspace is not determined"
            )
    return Q[:, :h].copy()


# -- numerical integration (grassdyn.integrators) ------------------------------------------
def integrate(*args: Any, **kwargs: Any) -> Trajectory:
    """Integrate the gradient flow of any objective numerically: see :func:`grassdyn.integrators.integrate`.

    Re-exported here so that every flow is reachable from :mod:`grassdyn.flows`;
    the integrators are imported on first call.
    """
    from grassdyn.integrators import integrate as _integrate

    return _integrate(*args, **kwargs)
