r"""Predictions for the flows of :mod:`grassdyn.flows`: rates, times to accuracy, collapse.

Conventions (docs/conventions.md): ``L(W) = -1/2 tr(W^T C W)``, Oja's subspace flow
``dW/dt = (I - W W^T) C W`` and the naive flow ``dW/dt = C W``, in
gradient-flow time ``t``; ``C = Q diag(lam) Q^T`` with ``lam`` descending.

**Distance to the limit.** Here the distance of ``span W`` to the top-h
eigenspace ``span Q_h`` is the *largest principal angle* ``theta_max``
(radians), which bounds the geodesic distance ``||theta||_2`` between
``theta_max`` and ``sqrt(h) theta_max``. In the eigenbasis, with
``Y = Q^T W`` split into its top ``h`` rows ``Y_a`` and the rest ``Y_b``,
the subspace is the graph ``span [I; X]`` of ``X = Y_b Y_a^{-1}`` (when
``Y_a`` is invertible) and the tangents of the principal angles are the
singular values of ``X`` [BZA24]_. Along the flow,
``X(t) = e^{Lambda_b t} X(0) e^{-Lambda_a t}``, entrywise
``X_ij(t) = X_ij(0) e^{-(lam_j - lam_{h+i}) t}`` [YHM94]_: an exact formula
whose exponents are all ``<= 0``. Hence

- ``tan theta_max(t) = ||X(t)||_2`` is non-increasing, and
  ``tan theta_max(t) <= tan theta_max(0) e^{-(lam_h - lam_{h+1}) t}``;
- the asymptotic rate of ``log tan theta_max`` (and of the geodesic
  distance) is ``-(lam_h - lam_{h+1})`` for every start with ``X_{1h}(0) != 0``
  (a dense open set), [YHM94]_, [Oja89]_.

References
----------
.. [Oja89] E. Oja, "Neural networks, principal components, and subspaces",
   Int. J. Neural Syst. 1 (1989).
.. [YHM94] W.-Y. Yan, U. Helmke, J. B. Moore, "Global analysis of Oja's flow
   for neural networks", IEEE Trans. Neural Netw. 5 (1994).
.. [BZA24] T. Bendokat, R. Zimmermann, P.-A. Absil, "A Grassmann manifold
   handbook: basic geometry and computational aspects", Adv. Comput. Math.
   50 (2024).
.. [RV07] O. Roy, M. Vetterli, "The effective rank: a measure of effective
   dimensionality", EUSIPCO (2007).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy.optimize import brentq

from grassdyn import _krylov
from grassdyn._array import mT as _mT
from grassdyn._validation import as_float_array, as_frame, as_int, as_real, as_symmetric, as_times
from grassdyn.flows import GAP_RTOL, Eig, _check_frame_dim, _decomposition

__all__ = [
    "effective_rank",
    "largest_angle",
    "rate",
    "time_to_epsilon",
    "time_to_epsilon_bound",
    "top_alignment",
]



def rate(C: ArrayLike | None, h: int, *, eig: Eig | None = None) -> float:
    """Asymptotic exponential rate ``lam_h - lam_{h+1}`` of convergence of Oja's flow.

    Parameters
    ----------
    C : array_like, shape (d, d), scipy.sparse matrix or LinearOperator
        Symmetric generator (sparse / operator: ``eigsh``, matrix-free).
    h : int
        Subspace dimension, ``1 <= h < d``.
    eig : (lam, Q), optional
        A known decomposition ``C = Q diag(lam) Q^T`` (validated as in
        :func:`grassdyn.flows.grassmann_closed_form`); ``C`` may then be None.

    Returns
    -------
    float
        ``lam_h - lam_{h+1} >= 0`` (eigenvalues descending): for generic
        starts ``log tan theta_max(t) = -rate * t + const + o(1)`` and the
        geodesic distance to the top-h eigenspace decays like
        ``e^{-rate t}`` [YHM94]_. Zero means no exponential convergence.

    Examples
    --------
    >>> rate(np.diag([3.0, 2.5, 1.0]), 1)
    0.5
    """
    h = as_int(h, "h", minimum=1)
    if eig is None and _krylov.is_operator(C):  # the top h + 1 eigenvalues by Lanczos, matrix-free
        C = _krylov.as_operator(C, "C")[0]
        d = C.shape[0]
        if h >= d:
            raise ValueError(f"h must be < d = {d} (with h = d every start is the limit), got h = {h}")
        lam = _krylov.top_eigenpairs(C, h + 1)[0]
        return float(lam[h - 1] - lam[h])
    _, lam, _ = _decomposition(C, eig)
    d = lam.size
    if h >= d:
        raise ValueError(f"h must be < d = {d} (with h = d every start is the limit), got h = {h}")
    return float(lam[h - 1] - lam[h])


def _graph_chart(
    C: ArrayLike | None, W0: ArrayLike, eig: Eig | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Eigenvalues, and ``X(0) = Y_b Y_a^{-1}`` (inf where ``Y_a`` is singular), shape ``(..., d-h, h)``."""
    _, lam, Q = _decomposition(C, eig)
    W0 = as_frame(W0, "W0")
    _check_frame_dim(W0, lam.size)
    d, h = W0.shape[-2:]
    if h >= d:
        raise ValueError(f"W0 must have h < d columns to have a distance to a limit, got shape {W0.shape}")
    Y = _mT(Q) @ W0
    Ya, Yb = Y[..., :h, :], Y[..., h:, :]
    U, s, Vt = np.linalg.svd(Ya)
    singular = s[..., -1] == 0.0
    s_safe = np.where(s > 0, s, 1.0)
    X = Yb @ (_mT(Vt) / s_safe[..., None, :]) @ _mT(U)
    return lam, X, singular


def largest_angle(C: ArrayLike | None, W0: ArrayLike, t: ArrayLike, *, eig: Eig | None = None) -> np.ndarray:
    """Largest principal angle ``theta_max(t)`` between Oja's flow from ``W0`` and the top-h eigenspace.

    Parameters
    ----------
    C : array_like, shape (d, d)
    W0 : array_like, shape (..., d, h)
        Orthonormal initial frame(s), ``h < d``.
    t : array_like, shape (T,)
        Non-decreasing times ``>= 0``.
    eig : (lam, Q), optional
        A known decomposition of ``C`` (see :func:`rate`).

    Returns
    -------
    ndarray, shape (..., T)
        Angles in ``[0, pi/2]``; ``pi/2`` throughout when ``W0`` has no
        component along some direction of the top eigenspace.

    Notes
    -----
    Exact graph-chart formula of the module notes,
    ``tan theta_max(t) = ||e^{Lambda_b t} X(0) e^{-Lambda_a t}||_2``: every
    exponent is ``<= 0``, so it never overflows and tiny angles keep their
    relative accuracy. The top-h eigenspace must be unique for the angle to
    be defined: ``lam_h > lam_{h+1}`` (see :func:`grassdyn.flows.limit`).

    Examples
    --------
    >>> C = np.diag([2.0, 1.0])
    >>> W0 = np.array([[1.0], [1.0]]) / np.sqrt(2)
    >>> theta = largest_angle(C, W0, [0.0, 500.0])
    >>> bool(np.allclose(np.tan(theta), [1.0, np.exp(-500.0)], rtol=1e-15, atol=0))
    True
    """
    t = as_times(t, "t")
    lam, X, singular = _graph_chart(C, W0, eig)
    _require_gap(lam, X.shape[-1])
    tan = _tan_max(lam, X, t)
    return np.where(singular[..., None], np.pi / 2, np.arctan(tan))


def _require_gap(lam: np.ndarray, h: int) -> None:
    gap = lam[h - 1] - lam[h]
    if gap <= GAP_RTOL * max(1.0, float(np.max(np.abs(lam)))):
        raise ValueError(
            f"C: the top-{h} eigenspace is not unique (lam_h - lam_(h+1) = {gap:.3g}), "
            "so the distance to the limit is undefined"
        )


def _tan_max(lam: np.ndarray, X: np.ndarray, t: np.ndarray) -> np.ndarray:
    h = X.shape[-1]
    expo = (lam[h:, None] - lam[None, :h]) * t[:, None, None]  # (T, d-h, h), all <= 0
    Xt = X[..., None, :, :] * np.exp(expo)
    return np.linalg.norm(Xt, ord=2, axis=(-2, -1))


def _one_frame(W0: np.ndarray, fn_name: str) -> None:
    if W0.ndim != 2:
        raise ValueError(f"W0 must be one frame of shape (d, h) for {fn_name}, got {W0.shape}")


def _epsilon_problem(
    C: ArrayLike | None, W0: ArrayLike, eps: float, caller: str, eig: Eig | None
) -> tuple[float, np.ndarray, np.ndarray, bool]:
    """Validate the arguments of the time-to-epsilon functions and set up the graph chart."""
    W0 = as_frame(W0, "W0")
    _one_frame(W0, caller)
    eps = as_real(eps, "eps", low=0.0, high=np.pi / 2, low_open=True)
    lam, X, singular = _graph_chart(C, W0, eig)
    _require_gap(lam, X.shape[-1])
    return eps, lam, X, singular


def time_to_epsilon(C: ArrayLike | None, W0: ArrayLike, eps: float, *, eig: Eig | None = None) -> float:
    """Exact first time at which Oja's flow from ``W0`` is within ``eps`` of its limit.

    Parameters
    ----------
    C : array_like, shape (d, d)
        Symmetric generator with ``lam_h > lam_{h+1}``.
    W0 : array_like, shape (d, h)
        Orthonormal initial frame, ``h < d``.
    eps : float in (0, pi/2)
        Target largest principal angle ``theta_max`` (radians) to the top-h
        eigenspace.
    eig : (lam, Q), optional
        A known decomposition of ``C`` (see :func:`rate`).

    Returns
    -------
    float
        ``min {t >= 0 : theta_max(t) <= eps}``; 0 if already there, ``inf``
        if ``W0`` has no component along some direction of the top
        eigenspace (the flow never gets there).

    Notes
    -----
    ``theta_max(t)`` is non-increasing (module notes), so the crossing is
    unique; it is bracketed by 0 and :func:`time_to_epsilon_bound` and found
    by Brent's method on ``log tan theta_max(t) - log tan eps`` to a relative
    tolerance of 1e-13.

    Examples
    --------
    >>> C = np.diag([2.0, 1.0])
    >>> W0 = np.array([[1.0], [1.0]]) / np.sqrt(2)
    >>> round(float(time_to_epsilon(C, W0, np.arctan(1e-3)) / np.log(10)), 10)  # tan theta = e^{-t}
    3.0
    """
    eps, lam, X, singular = _epsilon_problem(C, W0, eps, "time_to_epsilon", eig)
    if singular:
        return math.inf
    target = math.log(math.tan(eps))
    tan0 = float(_tan_max(lam, X, np.zeros(1))[0])
    if tan0 == 0.0 or math.log(tan0) <= target:
        return 0.0
    upper = _bound(lam, X.shape[-1], tan0, eps)

    def excess(s: float) -> float:
        return math.log(float(_tan_max(lam, X, np.array([s]))[0])) - target

    if excess(upper) >= 0.0:  # the bound is attained (a start with X = rank one on the slowest entry)
        return upper
    return float(brentq(excess, 0.0, upper, xtol=1e-300, rtol=1e-13))


def _bound(lam: np.ndarray, h: int, tan0: float, eps: float) -> float:
    gap = float(lam[h - 1] - lam[h])
    return max(0.0, float(math.log(tan0) - math.log(math.tan(eps))) / gap)


def time_to_epsilon_bound(
    C: ArrayLike | None, W0: ArrayLike, eps: float, *, eig: Eig | None = None
) -> float:
    """Upper bound ``log(tan theta_max(0) / tan eps) / (lam_h - lam_{h+1})`` on :func:`time_to_epsilon`.

    From ``tan theta_max(t) <= tan theta_max(0) e^{-(lam_h - lam_{h+1}) t}``
    (module notes; distance = largest principal angle to the top-h
    eigenspace, in radians). It is attained when the start's graph
    coordinates ``X(0)`` are supported on the slowest entry only, and is
    asymptotically tight up to ``log(tan theta_max(0) / c) / gap`` otherwise.

    Parameters
    ----------
    C : array_like, shape (d, d)
    W0 : array_like, shape (d, h)
    eps : float in (0, pi/2)
    eig : (lam, Q), optional
        A known decomposition of ``C`` (see :func:`rate`).

    Returns
    -------
    float
        ``inf`` when ``theta_max(0) = pi/2``.

    Examples
    --------
    >>> C = np.diag([3.0, 1.0, 0.0])
    >>> W0 = np.array([[1.0], [1.0], [0.0]]) / np.sqrt(2)
    >>> round(float(time_to_epsilon_bound(C, W0, np.arctan(1e-4)) / np.log(10)), 12)  # gap 2
    2.0
    """
    eps, lam, X, singular = _epsilon_problem(C, W0, eps, "time_to_epsilon_bound", eig)
    if singular:
        return math.inf
    tan0 = float(_tan_max(lam, X, np.zeros(1))[0])
    if tan0 == 0.0:
        return 0.0
    return _bound(lam, X.shape[-1], tan0, eps)


# -- collapse diagnostics for the naive flow -----------------------------------------------
def effective_rank(W: ArrayLike) -> np.ndarray:
    r"""Effective rank of the columns of ``W``: ``exp`` of the entropy of its normalised singular values.

    Parameters
    ----------
    W : array_like, shape (..., d, h)
        Any matrices (not all zero).

    Returns
    -------
    ndarray, shape (...)
        ``exp(-sum_i p_i log p_i)`` with ``p_i = sigma_i / sum_j sigma_j``
        (Roy & Vetterli 2007 [RV07]_), in ``[1, min(d, h)]``: ``h`` for
        orthonormal columns, 1 for rank one. Scale invariant, so it applies
        to normalised trajectories. A collapsed naive flow (all columns along
        the top eigenvector) has effective rank tending to 1.

    Examples
    --------
    >>> float(effective_rank(np.eye(3)[:, :2]))
    2.0
    >>> round(float(effective_rank(np.ones((3, 2)))), 12)  # rank one
    1.0
    >>> round(float(effective_rank(np.diag([1.0, 1e-9]))), 6)
    1.0
    """
    W = as_frame(W, "W", orthonormal=False)
    s = np.linalg.svd(W, compute_uv=False)
    total = s.sum(axis=-1, keepdims=True)
    if np.any(total == 0.0):
        raise ValueError("W must not be zero: the effective rank of a zero matrix is undefined")
    p = s / total
    plogp = np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0)
    return np.exp(-plogp.sum(axis=-1))


def top_alignment(W: ArrayLike, C: ArrayLike | None, *, eig: Eig | None = None) -> np.ndarray:
    """``|cos|`` of the angle between each column of ``W`` and the top eigenvector of ``C``.

    Parameters
    ----------
    W : array_like, shape (..., d, h)
        Matrices with non-zero columns.
    C : array_like, shape (d, d)
        Symmetric, with a simple top eigenvalue (``lam_1 > lam_2`` beyond
        :data:`grassdyn.flows.GAP_RTOL`, else the top eigenvector is not unique).
    eig : (lam, Q), optional
        A known decomposition of ``C`` (see :func:`rate`).

    Returns
    -------
    ndarray, shape (..., h)
        ``|u_1^T w_j| / ||w_j||`` in ``[0, 1]``; all tend to 1 under the
        naive flow ``dW/dt = C W`` (dimension collapse).

    Examples
    --------
    >>> top_alignment(np.array([[1.0, 1.0], [0.0, 1.0]]), np.diag([2.0, 1.0])).round(6).tolist()
    [1.0, 0.707107]
    """
    _, lam, Q = _decomposition(C, eig)
    W = as_float_array(W, "W", min_ndim=2)
    if W.shape[-2] != lam.size:
        raise ValueError(f"W must have d = {lam.size} rows to match C, got shape {W.shape}")
    norms = np.linalg.norm(W, axis=-2)
    if np.any(norms == 0.0):
        raise ValueError("W must have non-zero columns")
    if lam.size > 1:
        _require_gap(lam, 1)
    return np.abs(Q[:, 0] @ W) / norms


# -- stepwise learning of Barlow Twins from a small start -----------------------------------------
@dataclass(frozen=True)
class StepwisePrediction:
    r"""Predicted stepwise learning of Barlow Twins on the unconstrained model (:func:`stepwise`).

    Attributes
    ----------
    t : ndarray, shape (T,)
        Gradient-flow times (SGD step ``k`` at learning rate ``lr`` sits at ``t = k lr``).
    modes : ndarray, shape (T, h)
        Eigenvalues ``s_i(t)`` of the embedding's cross-correlation
        ``C_cc = W^T Gamma W``, mode ``i`` in the order of ``eigenvalues``.
    step_times : ndarray, shape (h,)
        ``t_i`` at which ``s_i = 1/2`` (``inf`` for a mode with ``gamma_i <= 0``).
    eigenvalues : ndarray, shape (h,)
        ``gamma_i``, the eigenvalues of ``Gamma = sym E[x x+^T]`` of the modes.
    initial : ndarray, shape (h,)
        ``s_i(0)``.
    """

    t: np.ndarray
    modes: np.ndarray
    step_times: np.ndarray
    eigenvalues: np.ndarray
    initial: np.ndarray

    def step_counts(self, lr: float) -> np.ndarray:
        """The predicted step times in SGD steps at learning rate ``lr``: ``t_i / lr``."""
        return self.step_times / as_real(lr, "lr", low=0.0, low_open=True)


def stepwise(
    eigenvalues: ArrayLike, initial: ArrayLike, t: ArrayLike, *, lr: float | None = None
) -> StepwisePrediction:
    r"""Learning curve and step time of each eigenmode of Barlow Twins from a small start.

    For the Barlow Twins loss of :func:`grassdyn.ssl.barlow_twins`
    (``L = sum_ij omega_ij (C_cc - I)_ij^2``, ``C_cc = W^T Gamma W``) on the
    unconstrained flow ``dW/dt = -egrad L = -4 Gamma W (omega * (C_cc - I))``
    (gradient-flow time, ``t = k lr`` for SGD; docs/conventions.md), a start
    aligned with the eigenvectors ``v_i`` of ``Gamma``,
    ``W = sum_i a_i v_i u_i^T`` (``u_i`` orthonormal for ``off_diagonal = 1``;
    the coordinate axes ``e_i`` otherwise, as the loss is then not invariant
    under ``W -> W Q``), stays aligned, and the
    embedding eigenvalue ``s_i = gamma_i a_i^2`` of mode ``i`` obeys the
    logistic equation

    .. math:: \frac{ds_i}{dt} = 8 \gamma_i s_i (1 - s_i), \qquad
              s_i(t) = \frac{s_i(0) e^{8\gamma_i t}}{1 - s_i(0) + s_i(0) e^{8\gamma_i t}},

    whatever the off-diagonal weight (it multiplies entries that stay zero).
    Mode ``i`` steps up (``s_i = 1/2``) at

    .. math:: t_i = \frac{1}{8\gamma_i} \ln\frac{1 - s_i(0)}{s_i(0)}
              \approx \frac{\ln(1/s_i(0))}{8 \gamma_i},

    so from a small start the modes are learned one at a time in decreasing
    order of ``gamma_i``, each in a sigmoidal step of width ``~ 1/(8 gamma_i)``.
    With ``s_i(0) = gamma_i s0^2`` (initial singular values ``s0``),
    ``t_i ~ ln(1/s0) / (4 gamma_i)``: the solution of Simon et al. ("On the
    stepwise nature of self-supervised learning", ICML 2023, §4), where
    ``Gamma`` is their symmetrised cross-correlation of the inputs and time
    is ``lr x step`` as here. Derived and checked in sympy by
    :func:`grassdyn.symbolic.barlow_twins_modes`.

    A small *random* start is not aligned: each mode's row ``r_i = v_i^T W``
    starts in a random direction of R^h and grows as ``e^{4 gamma_i t}`` while
    the dynamics are linear, keeping its direction. Once mode ``j`` is learned,
    ``C_cc`` is about ``u_j u_j^T`` on its direction ``u_j``, so
    ``dr_i/dt = 4 gamma_i (I - C_cc) r_i`` freezes the part of a later row
    along ``u_j`` and only the orthogonal part goes on to a step. Mode ``i``
    therefore starts, in effect, from ``s_i(0) = gamma_i ||P_i r_i(0)||^2``,
    ``P_i`` the projector orthogonal to ``r_1(0), ..., r_{i-1}(0)`` (rows in
    decreasing order of ``gamma``): Gram-Schmidt on the initial rows, an LQ
    decomposition (:func:`stepwise_initial`). For an aligned start the rows are
    orthogonal and nothing changes. (This correction is ours; the report
    measures its error, claim ``stepwise``.)

    *Learning-rate time scale.* Gradient descent at learning rate ``lr`` grows
    a row by ``1 + 4 gamma lr`` per step in the linear phase, so with ``lr``
    given the rate ``8 gamma`` becomes ``2 ln(1 + 4 gamma lr) / lr`` (at
    ``t = k lr``), which tends to ``8 gamma`` as ``lr -> 0``; the step is then
    ``t_i = ln((1 - s_i(0)) / s_i(0)) lr / (2 ln(1 + 4 gamma_i lr))``.

    Parameters
    ----------
    eigenvalues : array_like, shape (h,)
        ``gamma_i``, in any order (a mode with ``gamma_i <= 0`` decays).
    initial : array_like, shape (h,) or scalar
        ``s_i(0)`` in ``(0, 1/2)``.
    t : array_like, shape (T,)
        Times, non-decreasing, ``>= 0``.
    lr : float > 0, optional
        Learning rate of gradient descent (``t = k lr``); None: the flow.

    Returns
    -------
    StepwisePrediction

    Examples
    --------
    >>> p = stepwise([2.0, 1.0], 1e-4, [0.0, 1.0])
    >>> p.step_times.round(4).tolist()
    [0.5756, 1.1513]
    >>> bool(p.step_times[1] / p.step_times[0] == 2.0)
    True
    """
    gamma = np.atleast_1d(as_float_array(eigenvalues, "eigenvalues"))
    if gamma.ndim != 1:
        raise ValueError(f"eigenvalues must be 1-D, got shape {gamma.shape}")
    s0 = np.broadcast_to(np.atleast_1d(as_float_array(initial, "initial")), gamma.shape).astype(float)
    if np.any(s0 <= 0.0) or np.any(s0 >= 0.5):
        raise ValueError(f"initial mode values must lie in (0, 1/2) (a small start), got {s0.tolist()}")
    t = as_times(t, "t")
    if lr is None:
        rate = 8.0 * gamma
    else:
        lr = as_real(lr, "lr", low=0.0, low_open=True)
        if np.any(4.0 * gamma * lr <= -1.0):
            raise ValueError(f"lr = {lr} is too large: 1 + 4 gamma lr must stay > 0 for every eigenvalue")
        rate = 2.0 * np.log1p(4.0 * gamma * lr) / lr
    with np.errstate(over="ignore"):
        # s = 1 / (1 + (1/s0 - 1) e^{-8 gamma t}): no overflow for either sign of gamma
        modes = 1.0 / (1.0 + (1.0 / s0 - 1.0) * np.exp(-np.outer(t, rate)))
    logit = np.log((1.0 - s0) / s0)
    step_times = np.where(gamma > 0, logit / np.where(gamma > 0, rate, 1.0), np.inf)
    return StepwisePrediction(t=t, modes=modes, step_times=step_times, eigenvalues=gamma, initial=s0)


def stepwise_initial(Gamma: ArrayLike, W0: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    r"""Top ``h`` eigenvalues of ``Gamma`` (descending) and the effective initial mode values.

    ``s_i(0) = gamma_i ||P_i r_i||^2`` with ``r_i = v_i^T W0`` and ``P_i`` the
    projector orthogonal to ``r_1, ..., r_{i-1}`` (see :func:`stepwise`):
    ``gamma_i L_ii^2`` for the LQ decomposition ``[r_1; ...; r_h] = L Q``.

    Parameters
    ----------
    Gamma : array_like, shape (d, d)
        Symmetric (Barlow Twins' ``sym E[x x+^T]``, ``.Gamma`` of the loss).
    W0 : array_like, shape (d, h)
        The (small) initial matrix.

    Returns
    -------
    eigenvalues, initial : ndarray, shape (h,)
        Arguments of :func:`stepwise`.
    """
    Gamma = as_symmetric(Gamma, "Gamma")
    W0 = as_frame(W0, "W0", orthonormal=False)
    if W0.ndim != 2 or W0.shape[0] != Gamma.shape[0]:
        raise ValueError(f"W0 must have shape ({Gamma.shape[0]}, h), got {W0.shape}")
    _, lam, Q = _decomposition(Gamma, None)
    h = W0.shape[1]
    rows = Q[:, :h].T @ W0
    L_diag = np.diagonal(np.linalg.qr(rows.T, mode="r"))  # R of rows^T = L^T: Gram-Schmidt norms
    return lam[:h], lam[:h] * L_diag**2


__all__ += ["StepwisePrediction", "stepwise", "stepwise_initial"]
