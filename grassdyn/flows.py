r"""Gradient flows of quadratic objectives: exact solutions, vector fields and the limit.

Conventions (docs/conventions.md): ``L(W) = -1/2 tr(W^T C W)`` with ``C`` symmetric,
``t`` is gradient-flow time, and

- the Grassmannian flow (Oja's subspace flow) is ``dW/dt = (I - W W^T) C W``;
  its projector ``P = W W^T`` obeys the Riccati equation
  ``dP/dt = C P + P C - 2 P C P`` and ``span W(t) = span(e^{Ct} W0)``
  [Oja82]_, [Oja89]_, [YHM94]_;
- the unconstrained ("naive") flow is ``dW/dt = C W``, ``W(t) = e^{Ct} W0``.

Every closed form here uses one eigendecomposition ``C = Q diag(lam) Q^T``
(``lam`` descending), shared by all times and all initial frames of a batch,
and works in the eigenbasis ``Y = Q^T W``, where the flow is diagonal:
``span Y(t) = span(e^{diag(lam) t} Y0)``. A diagonal ``C`` is recognised and
its eigenvectors taken as exact coordinate vectors, so that degenerate starts
(``W0`` inside a coordinate subspace) stay exactly degenerate.

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
from scipy.integrate import DOP853
from scipy.optimize import brentq

from grassdyn._array import cholqr as _cholqr
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
    check_steps,
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

#: Largest ``(lam_max - lam_min) * dt`` of one sub-step of the Grassmannian
#: closed form. A sub-step scales the rows of an orthonormal frame by factors
#: in ``[e^{-KAPPA}, 1]``, so the matrix it re-orthonormalises has condition
#: number at most ``e^{KAPPA}`` (about 55): Cholesky-QR is then accurate to a
#: few ulps [YNYF15]_. Larger values save sub-steps but lose accuracy as
#: ``eps * e^{KAPPA}`` per sub-step.
KAPPA = 4.0

#: Relative spectral gap below which an eigenspace is treated as not unique:
#: ``lam_h - lam_{h+1} <= GAP_RTOL * max(1, max|lam|)``. At this gap the
#: computed eigenspace is determined only to about ``eps / GAP_RTOL`` ~ 1e-6.
GAP_RTOL = 1e-10

_LOG_MAX = math.log(np.finfo(np.float64).max)

#: Most sub-steps that ``grassmann_closed_form(..., frame="horizontal")`` may take:
#: the horizontal frame follows the QR gauge over the whole interval, at a cost
#: linear in ``t[-1] (lam_max - lam_min)`` (measured: about 30 s at 1e5 sub-steps for d = 5).
MAX_HORIZONTAL_SUBSTEPS = 10**5


#: Most sub-steps that ``grassmann_closed_form`` (subspace frame) may need before its chart
#: jump takes over (measured: a few seconds per 1e5 sub-steps at small d).
MAX_SUBSTEPS = 10**6


def _check_substeps(lam: np.ndarray, Y0: np.ndarray, t_end: float) -> None:
    """Refuse, naming ``t``, a subspace closed form that would sub-step more than :data:`MAX_SUBSTEPS` times.

    Sub-steps run until the frame is within 60 degrees of its pivot rows
    (then one chart jump covers any remaining time). In the chart
    ``X = Y Y_p^{-1}`` the non-pivot entries shrink at least like
    ``e^{-g t}``, ``g = lam_(p_h) - max lam_i`` over the touched non-pivot
    rows, and 60 degrees is reached once ``||X||_F <= sqrt(3)``: by
    ``t_ready = log(||X0||_F / sqrt 3) / g``. The sub-steps needed are at
    most ``min(t_end, t_ready) (lam_max - lam_min) / KAPPA``; with ``g = 0``
    (a tie across the pivots' boundary) the chart may never be reached.
    """
    spread = float(lam[0] - lam[-1])
    if _substeps(t_end, spread) <= MAX_SUBSTEPS:
        return
    flat = Y0.reshape(-1, *Y0.shape[-2:])
    piv = _pivots(flat)
    t_ready = 0.0
    for Y, p in zip(flat, piv, strict=True):
        touched = np.flatnonzero(np.any(Y != 0.0, axis=-1))
        rest = np.setdiff1d(touched, p)
        if rest.size == 0:
            continue
        Yp = Y[p]
        if float(np.linalg.svd(Yp, compute_uv=False)[-1]) >= 0.5:
            continue  # already in the chart: one jump
        g = float(np.min(lam[p]) - np.max(lam[rest]))
        x0 = float(np.linalg.norm(Y[rest] @ np.linalg.pinv(Yp)))
        if g <= 0.0 or not math.isfinite(x0):
            t_ready = math.inf
            break
        t_ready = max(t_ready, math.log(max(x0, math.sqrt(3.0)) / math.sqrt(3.0)) / g)
    n = _substeps(min(t_end, t_ready), spread)
    check_steps(n, f"t[-1] = {t_end:.6g}: the closed form needs up to {n:.3g} sub-steps of "
                f"(lam_max - lam_min) dt <= {KAPPA:g} before W0 comes within 60 degrees of its limit",
                limit=MAX_SUBSTEPS)


def _check_output(W0: np.ndarray, t: np.ndarray, what: str, *, square: bool = False) -> None:
    """Refuse, before any work, outputs ``(..., T, d, h)`` (or ``(..., T, d, d)``) too large for memory."""
    d, h = W0.shape[-2:]
    check_allocation((*W0.shape[:-2], t.size, d, d if square else h),
                     f"len(t) = {t.size}, {what} of shape {W0.shape}: the output "
                     f"(..., len(t), d, {'d' if square else 'h'})")



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


def _check_pair(C: ArrayLike, W0: ArrayLike, *, orthonormal: bool = True) -> tuple[np.ndarray, np.ndarray]:
    require_gradient(C, "C")
    C = as_symmetric(C, "C")
    W0 = as_frame(W0, "W0", orthonormal=orthonormal)
    if W0.shape[-2] != C.shape[0]:
        raise ValueError(
            f"C and W0 must have the same ambient dimension d: C is {C.shape}, W0 is {W0.shape}"
        )
    return C, W0


# -- stable propagation of span(e^{diag(lam) t} Y0) ----------------------------------------
def _substeps(dt: float, spread: float) -> int:
    return 0 if dt <= 0.0 or spread <= 0.0 else math.ceil(dt * spread / KAPPA)


def _pivots(Y0: np.ndarray) -> np.ndarray:
    """Indices of the first ``h`` rows of ``Y0`` that are not exactly zero, shape ``(..., h)``.

    Zero rows stay zero along the flow, so these are the rows of the
    largest eigenvalues the flow can reach: the rows of its limit.
    """
    h = Y0.shape[-1]
    active = np.any(Y0 != 0.0, axis=-1)
    return np.argsort(~active, axis=-1, kind="stable")[..., :h]


def _pivot_rows(Y: np.ndarray, piv: np.ndarray) -> np.ndarray:
    """``Y_p``: the pivot rows of each frame, shape ``(B, h, h)`` for ``Y`` (B, d, h), ``piv`` (B, h)."""
    return Y[np.arange(Y.shape[0])[:, None], piv]


def _chart_ready(Y: np.ndarray, piv: np.ndarray) -> np.ndarray:
    """Which frames are within 60 degrees of their pivot rows (``sigma_min(Y_p) >= 1/2``), shape (B,)."""
    Yp = _pivot_rows(Y, piv)
    return np.linalg.eigvalsh(_mT(Yp) @ Yp)[:, 0] >= 0.25


def _chart_jumps(lam: np.ndarray, Y: np.ndarray, dts: np.ndarray, piv: np.ndarray) -> np.ndarray:
    """``span(e^{diag(lam) dt} Y)`` for every ``dt`` in ``dts``, through the graph chart of the pivot rows.

    ``Y`` (B, d, h) orthonormal, ``piv`` (B, h), ``dts`` (T,) >= 0; returns
    frames of shape (B, T, d, h). With ``X = Y Y_p^{-1}`` (identity on the
    pivot rows ``p``), the flow acts entrywise,
    ``X_ij -> X_ij e^{(lam_i - lam_{p_j}) dt}``. Every row outside the pivots
    that is not zero has ``lam_i <= lam_{p_j}`` (pivots are the reachable
    rows of largest eigenvalue), so the factors are at most 1 for any
    ``dt``: no overflow, and ``||X||`` does not grow. With
    ``sigma_min(Y_p) >= 1/2`` the result ``[I; X]`` has condition number at
    most 2, so its Cholesky-QR2 is accurate. All times are done in one
    batched pass: in this regime nothing is propagated step by step.
    """
    h = Y.shape[-1]
    rows = np.arange(Y.shape[0])[:, None]
    X = Y @ np.linalg.inv(Y[rows, piv])
    # zero rows (the only rows that may have lam_i > lam_p) stay zero: clip their factor to 1
    rate = np.minimum(lam[:, None] - lam[piv][:, None, :], 0.0)
    A = X[:, None] * np.exp(rate[:, None] * dts[None, :, None, None])
    for b in range(A.shape[0]):
        A[b][:, piv[b], :] = np.eye(h)
    return _cholqr(_cholqr(A))


#: Sub-steps between two checks of whether the chart jump can take over.
_CHECK_EVERY = 8


def _propagate(
    lam: np.ndarray, Y: np.ndarray, dt: float, piv: np.ndarray | None = None
) -> tuple[np.ndarray, int]:
    """An orthonormal frame of ``span(e^{diag(lam) dt} Y)`` for orthonormal ``Y`` (..., d, h).

    Returns the frame and the number of (batched) re-orthonormalisations.
    Without ``piv`` (pivot rows, :func:`_pivots`) the frame is
    ``qf(e^{diag(lam) dt} Y)``, ``qf`` the Q factor with positive-diagonal R:
    this does not depend on how ``[0, dt]`` is cut, as a product of such
    triangular factors is one. With ``piv``, each frame of the batch that
    comes close to its pivot rows covers the rest of the interval by one
    :func:`_chart_jumps` (a frame of the same subspace in another gauge),
    while the others go on sub-stepping.
    """
    spread = float(lam[0] - lam[-1])
    n = _substeps(dt, spread)
    if n == 0:
        return Y, 0
    step = dt / n
    # shifting by lam_max keeps every factor in (0, 1]: no overflow at any t
    scale = np.exp((lam - lam[0]) * step)[:, None]
    shape = Y.shape
    out = Y.reshape(-1, *shape[-2:]).copy()
    flat_piv = None if piv is None else piv.reshape(-1, shape[-1])
    todo = np.arange(out.shape[0])
    work = out
    done = passes = 0
    while done < n and todo.size:
        if flat_piv is not None and done % _CHECK_EVERY == 0:
            ready = _chart_ready(work, flat_piv[todo])
            if np.any(ready):
                jumped = todo[ready]
                remaining = np.array([(n - done) * step])
                out[jumped] = _chart_jumps(lam, work[ready], remaining, flat_piv[jumped])[:, 0]
                passes = max(passes, done + 2)
                todo, work = todo[~ready], work[~ready]
                if not todo.size:
                    break
        work = _cholqr(scale * work)
        done += 1
    if todo.size:
        # one more pass (Cholesky-QR2) brings the orthogonality defect to rounding level
        out[todo] = _cholqr(work)
        passes = n + 1
    return out.reshape(shape), passes


def _eigenbasis_trajectory(
    lam: np.ndarray, Y0: np.ndarray, t: np.ndarray, *, chart: bool = True
) -> tuple[np.ndarray, int]:
    """Orthonormal frames of ``span(e^{diag(lam) t_k} Y0)``, shape ``(..., T, d, h)``, and the work done.

    ``chart=False`` keeps the QR gauge ``qf(e^{diag(lam) t} Y0)`` throughout
    (smooth in ``t``), at the price of sub-steps over the whole interval.
    """
    out = np.empty((*Y0.shape[:-2], t.size, *Y0.shape[-2:]))
    piv = _pivots(Y0) if chart else None
    Y, now, total = Y0, 0.0, 0
    for k, tk in enumerate(t):
        if piv is not None and k > 0:
            flat = Y.reshape(-1, *Y.shape[-2:])
            flat_piv = piv.reshape(-1, Y.shape[-1])
            if np.all(_chart_ready(flat, flat_piv)):
                # every frame is in its chart: all remaining times at once
                rest = _chart_jumps(lam, flat, t[k:] - now, flat_piv)
                out[..., k:, :, :] = rest.reshape(*Y.shape[:-2], t.size - k, *Y.shape[-2:])
                return out, total + 2
        Y, n = _propagate(lam, Y, float(tk) - now, piv)
        now, total = float(tk), total + n
        out[..., k, :, :] = Y
    return out, total


# -- the horizontal (Oja) frame ----------------------------------------------------------
def _qr_generator(lam: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """``Omega = Y^T dY/dt`` for the QR frame ``Y = qf(e^{diag(lam) t} Y0)``.

    With ``S = Y^T diag(lam) Y``: ``Omega = tril(S, -1) - triu(S, 1)``, the
    skew matrix for which ``S - Omega`` is upper triangular.
    """
    S = _mT(Y) @ (lam[:, None] * Y)
    return np.tril(S, -1) - np.triu(S, 1)


def _horizontal_rotations(
    lam: np.ndarray, Y0: np.ndarray, t: np.ndarray, rtol: float
) -> tuple[np.ndarray, dict[str, Any]]:
    """Rotations ``G(t_k)`` in O(h), shape ``(..., T, h, h)``, with ``Y(t) G(t)`` horizontal.

    ``W = Y G`` satisfies ``W^T dW/dt = G^T (Omega G + dG/dt) = 0`` iff
    ``dG/dt = -Omega(t) G``, ``G(0) = I``. This h x h linear ODE is solved by
    DOP853 (order 8, dense output of order 7) at tolerance ``rtol`` on the
    entries of ``G`` (which are bounded by 1). Its coefficient
    ``Omega(t)`` is evaluated exactly: from the last accepted step, ``Y`` is
    propagated by the stable sub-steps of the closed form.
    """
    batch, h = Y0.shape[:-2], Y0.shape[-1]
    shape = (*batch, h, h)
    state = {"t": 0.0, "Y": Y0}
    evaluations = 0

    def rhs(s: float, g: np.ndarray) -> np.ndarray:
        nonlocal evaluations
        evaluations += 1
        Y, _ = _propagate(lam, state["Y"], s - state["t"])
        return -(_qr_generator(lam, Y) @ g.reshape(shape)).ravel()

    out = np.empty((*batch, t.size, h, h))
    g0 = np.broadcast_to(np.eye(h), shape).ravel()
    k = 0
    while k < t.size and t[k] == 0.0:
        out[..., k, :, :] = np.eye(h)
        k += 1
    steps = 0
    if k < t.size:
        solver = DOP853(rhs, 0.0, g0, float(t[-1]), rtol=rtol, atol=rtol)
        while k < t.size:
            t_old = solver.t
            message = solver.step()
            if solver.status == "failed":
                raise RuntimeError(f"horizontal frame integration failed: {message}")
            steps += 1
            dense = solver.dense_output()
            while k < t.size and t[k] <= solver.t:
                out[..., k, :, :] = dense(max(float(t[k]), t_old)).reshape(shape)
                k += 1
            state["Y"], _ = _propagate(lam, state["Y"], solver.t - state["t"])
            state["t"] = solver.t
    defect = float(np.max(orthogonality_defect(out), initial=0.0))
    # the ODE preserves orthogonality exactly; its integration error is removed by
    # the polar factor (the nearest rotation), and reported before removal
    U, _, Vt = np.linalg.svd(out)
    stats = {"rotation_steps": steps, "rotation_evaluations": evaluations,
             "rotation_defect_before_polar": defect}
    return U @ Vt, stats


def _rotate(Q: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """``Q @ Y`` for a stack ``Y`` (..., d, h) as one GEMM (a broadcast matmul loops over the stack)."""
    d, h = Y.shape[-2:]
    rows = np.ascontiguousarray(_mT(Y)).reshape(-1, d) @ Q.T
    return _mT(rows.reshape(*Y.shape[:-2], h, d))


# -- public closed forms ------------------------------------------------------------------
def grassmann_closed_form(
    C: ArrayLike,
    W0: ArrayLike,
    t: ArrayLike,
    *,
    frame: Literal["subspace", "horizontal"] = "subspace",
    rtol: float = 1e-12,
) -> Trajectory:
    r"""Exact solution of Oja's subspace flow ``dW/dt = (I - W W^T) C W``.

    Parameters
    ----------
    C : array_like, shape (d, d)
        Symmetric generator of ``L(W) = -1/2 tr(W^T C W)``.
    W0 : array_like, shape (..., d, h)
        Orthonormal initial frame(s); leading axes form a batch.
    t : array_like, shape (T,)
        Non-decreasing gradient-flow times ``>= 0``.
    frame : {"subspace", "horizontal"}
        ``"subspace"``: some orthonormal frame of ``span(e^{Ct} W0)``, exact
        as a subspace; the gauge (which frame of it) is unspecified and may
        jump between times. ``"horizontal"``: the frame Oja's ODE itself
        produces, ``e^{Ct} W0 M(t)``, with ``W^T dW/dt = 0`` and ``W(0) = W0``.
    rtol : float
        Tolerance of the rotation ODE behind ``frame="horizontal"`` (the
        subspace is exact either way).

    Returns
    -------
    Trajectory
        ``W`` of shape ``(..., T, d, h)``, method ``"closed_form"``, manifold
        ``"grassmann"``; ``stats`` holds ``max_orthogonality_defect``,
        ``orthonormalisations`` (Cholesky-QR passes, summed over the batch's
        shared steps) and, for the horizontal frame, the rotation ODE's
        steps, evaluations and defect.

    Notes
    -----
    ``span W(t) = span(e^{Ct} W0)`` [YHM94]_. Forming ``e^{Ct} W0`` and
    orthonormalising it fails for large ``t``: its columns all turn towards
    the top eigenvector (their components along the rest shrink like
    ``e^{-(lam_1 - lam_i) t}``) and overflow. Instead, with one ``eigh``
    ``C = Q diag(lam) Q^T``, the flow is followed in the eigenbasis
    ``Y = Q^T W`` in two regimes.

    *Transient: sub-steps.* Time is cut into sub-steps ``dt`` with
    ``(lam_max - lam_min) dt <= KAPPA``, each scaling the rows of ``Y`` by
    ``e^{(lam_i - lam_max) dt}`` (in ``[e^{-KAPPA}, 1]``: no overflow, and the
    scaled matrix has condition number at most ``e^{KAPPA}``) and
    re-orthonormalising it by Cholesky-QR, ``Y <- A R^{-1}`` [YNYF15]_.
    Because ``R^{-1}`` acts from the right, every row keeps its own relative
    accuracy: exact zero rows stay zero, so a start with no component along
    some eigenvectors (a degenerate start) never acquires one, and the flow
    converges to the best eigenspace it can reach, never to the top one;
    tiny angles keep their relative accuracy (to about ``n eps`` after ``n``
    sub-steps).

    *Near the limit: one jump.* Let ``p`` be the ``h`` rows of largest
    eigenvalue among the rows of ``Y0`` that are not zero. Once
    ``sigma_min(Y_p) >= 1/2`` (largest angle to ``span e_p`` at most 60
    degrees, which then never increases), the subspace is the graph
    ``[I; X]`` of ``X = Y Y_p^{-1}``, on which the flow acts entrywise with
    factors ``e^{(lam_i - lam_{p_j}) t} <= 1`` [YHM94]_: any remaining time
    is covered exactly by one step, whose ``[I; X]`` has condition number at
    most 2. Cost: ``O(min(t, t_60) (lam_max - lam_min) / KAPPA * d h^2)``
    after the ``eigh``, with ``t_60`` the time the flow needs to come within
    60 degrees of its limit; the batch shares every step. Accuracy: ~1e-15
    on the projector against a 50-digit reference for
    ``t (lam_max - lam_min)`` in the thousands (``tests/test_flows.py``).

    The horizontal frame is ``W = Y G`` with ``Y = qf(e^{Ct} W0)`` (the QR
    gauge: sub-steps only, so its cost grows linearly with ``t``) and ``G``
    in O(h) solving ``dG/dt = -Omega G``,
    ``Omega = Y^T dY/dt = tril(S,-1) - triu(S,1)``, ``S = Y^T diag(lam) Y``
    (differentiate ``e^{Lambda t} Y0 = Y R``). It differs from the polar
    frame ``e^{Ct} W0 (W0^T e^{2Ct} W0)^{-1/2}`` by a time-dependent rotation
    (docs/conventions.md); both span the same subspace.

    Examples
    --------
    >>> C = np.diag([2.0, 1.0, 0.0])
    >>> W0 = np.array([[1.0], [1.0], [1.0]]) / np.sqrt(3)
    >>> traj = grassmann_closed_form(C, W0, [0.0, 1.0, 300.0])
    >>> traj.W.shape
    (3, 3, 1)
    >>> np.round(traj.W[-1, :, 0], 12).tolist()  # converged to the top eigenvector
    [1.0, 0.0, 0.0]
    >>> round(float(traj.distance_to(limit(C, 1))[-1] / np.exp(-300.0)), 12)  # e^{-300}, not lost
    1.0
    """
    C, W0 = _check_pair(C, W0)
    t = as_times(t, "t")
    check_choice(frame, "frame", ("subspace", "horizontal"))
    rtol = as_real(rtol, "rtol", low=1e-14, high=1e-3)
    _check_output(W0, t, "W0")
    lam, Q = _eigen(C)
    if frame == "subspace":
        _check_substeps(lam, _mT(Q) @ W0, float(t[-1]))
    if frame == "horizontal":
        n = _substeps(float(t[-1]), float(lam[0] - lam[-1]))
        check_steps(n, f't[-1] = {t[-1]:.6g} with frame="horizontal" (sub-steps t[-1] (lam_max - lam_min) '
                    f"/ {KAPPA:g})", limit=MAX_HORIZONTAL_SUBSTEPS)
    Y, substeps = _eigenbasis_trajectory(lam, _mT(Q) @ W0, t, chart=frame == "subspace")
    stats: dict[str, Any] = {"orthonormalisations": substeps}
    if frame == "horizontal" and W0.shape[-1] > 1:
        G, rot_stats = _horizontal_rotations(lam, _mT(Q) @ W0, t, rtol)
        Y = Y @ G
        stats.update(rot_stats)
    W = _rotate(Q, Y)
    stats["max_orthogonality_defect"] = float(np.max(orthogonality_defect(W), initial=0.0))
    params = {"frame": frame, "kappa": KAPPA}
    if frame == "horizontal":
        params["rtol"] = rtol
    return Trajectory(t=t, W=W, method="closed_form", manifold="grassmann", params=params, stats=stats)


def projector_closed_form(C: ArrayLike, X0: ArrayLike, t: ArrayLike) -> np.ndarray:
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
        Non-decreasing times ``>= 0``.

    Returns
    -------
    ndarray, shape (..., T, d, d)
        ``P(t) = W(t) W(t)^T`` for ``W`` of :func:`grassmann_closed_form`.

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
        W = grassmann_closed_form(C, X0, t).W
    except ValueError as exc:
        raise ValueError(str(exc).replace("W0", "X0")) from None
    return W @ _mT(W)


def _is_projector(P: np.ndarray, atol: float = 1e-8) -> bool:
    return bool(
        np.max(np.abs(P - _mT(P)), initial=0.0) <= atol and np.max(np.abs(P @ P - P), initial=0.0) <= atol
    )


def euclidean_closed_form(
    C: ArrayLike, W0: ArrayLike, t: ArrayLike, *, normalize: bool = False
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
    C, W0 = _check_pair(C, W0, orthonormal=False)
    t = as_times(t, "t")
    if not isinstance(normalize, (bool, np.bool_)):
        raise TypeError(f"normalize must be True or False, got {type(normalize).__name__} {normalize!r}")
    _check_output(W0, t, "W0")
    if not np.any(W0):
        raise ValueError("W0 must not be zero: the flow stays at 0 and has no direction")
    lam, Q = _eigen(C)
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
def limit(C: ArrayLike, h: int, *, gap_rtol: float = GAP_RTOL) -> np.ndarray:
    """Frame of the top-h eigenspace of ``C``: the limit of Oja's flow from generic starts.

    Parameters
    ----------
    C : array_like, shape (d, d)
        Symmetric generator.
    h : int
        Subspace dimension, ``1 <= h <= d``.
    gap_rtol : float
        The limit is unique only if ``lam_h > lam_{h+1}``; a gap
        ``lam_h - lam_{h+1} <= gap_rtol * max(1, max|lam|)`` raises.

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
    C = as_symmetric(C, "C")
    d = C.shape[0]
    h = as_int(h, "h", minimum=1)
    if h > d:
        raise ValueError(f"h must be <= d = {d}, got h = {h}")
    gap_rtol = as_real(gap_rtol, "gap_rtol", low=0.0)
    lam, Q = _eigen(C)
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
