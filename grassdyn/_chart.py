r"""Pivoted graph charts of ``span(e^{diag(lam) t} Y0)``: exact at every ``t``, few chart changes.

Convention (docs/conventions.md): Oja's subspace flow in the eigenbasis of
``C = Q diag(lam) Q^T`` (``lam`` descending), where
``span Y(t) = span(e^{Lambda t} Y0)`` [YHM94]_.

**Charts.** For a set ``S = (p_1, ..., p_h)`` of pivot rows with ``Y_S``
invertible, the subspace is the graph ``span Z``, ``Z = Y Y_S^{-1}``
(``Z_S = I``). Along the flow ``Z(t) = e^{Lambda t} Z(0) e^{-Lambda_S t}``,
entrywise

.. math:: Z_{ij}(t) = Z_{ij}(s)\, e^{(\lambda_i - \lambda_{p_j})(t - s)},

exactly, for every ``t``: each entry is one product, evaluated without
overflow as long as the growing entries (``lam_i > lam_{p_j}``) stay bounded.
Entries that are exactly zero stay zero (degenerate starts stay degenerate),
equal eigenvalues give factors exactly 1.

**Re-pivoting.** A chart is *dominant* when every ``|Z_ij| <= 1 + DELTA``;
it is reached from any chart by swaps (maxvol, [GOSTZ10]_): exchanging
``p_j`` for the row ``i`` of the largest ``|Z_ij| > 1 + DELTA`` multiplies
the Plücker coordinate ``|det Y_S|`` by ``|Z_ij|``, so swaps terminate. A
swap is the rank-one update ``Z <- Z - Z_{:j} (Z_i - e_j^T) / Z_ij``
(Sherman–Morrison on ``Z_{S'}``). A chart started at time ``s`` is kept
until its first growing entry reaches ``K = K_BASE e^c``, with
``e^c = prod`` of the ``h`` largest row norms of ``Z(s)`` (at least 1): the
*event* time is known in closed form,
``s + min_ij log(K / |Z_ij(s)|) / (lam_i - lam_{p_j})``. At an event the
chart is made dominant again.

**Bound on the chart changes (independent of t).** Write
``pi_S(t) = det(e^{Lambda t} Y0)_S = pi_S(0) e^{lam_S t}``,
``lam_S = sum_{i in S} lam_i``: the Plücker coordinates are exact
exponentials, and ``pi_{S'} / pi_S = det Z_{S'}``. Let ``S_k`` be the chart
started at ``tau_{k-1}`` and ended by the event at ``tau_k``, ``S_{k+1}``
the chart after the swaps at ``tau_k``.

1. At ``tau_{k-1}``, by Hadamard's inequality on the rows of ``Z_{S'}``,
   ``|pi_{S'}| <= e^c |pi_{S_k}|`` for every ``S'``.
2. At ``tau_k`` one neighbour has ``|pi_{S'}| = K |pi_{S_k}|`` and every
   swap increases ``|pi|``, so ``|pi_{S_{k+1}}| >= K e^{-c} e^c |pi_{S_k}|``,
   i.e. ``log|pi_{S_{k+1}}/pi_{S_k}|`` grew by at least ``log K_BASE > 0``
   over ``[tau_{k-1}, tau_k]``.
3. That log-ratio is linear in ``t`` with slope ``lam_{S_{k+1}} - lam_{S_k}``,
   hence ``lam_{S_{k+1}} > lam_{S_k}``.

So the sums ``lam_{S_k}`` strictly increase along the events: the number of
events is at most the number of distinct values of ``lam_S`` over the
h-subsets with ``pi_S(0) != 0`` minus one, at most ``C(d, h) - 1`` and
``0`` once the chart is the echelon chart of the limit; no bound depends on
``t``. The swaps at one event are at most
``log((K sqrt h)^h) / log(1 + DELTA)`` (Hadamard again). In practice a few
events occur (``benchmarks/flows.py`` prints the worst count it finds).

**Accuracy.** Each entry of ``Z(t)`` is one product with relative error of a
few ulps (times ``|log|`` of the factor, which only matters for entries far
below rounding); the subspace of a graph moves by at most ``||dZ||_2``, and
its Cholesky-QR2 orthonormalisation acts from the right (row-relative
errors, [YNYF15]_), so the projector error is about
``eps K sqrt(h (d - h))``.

References
----------
.. [YHM94] W.-Y. Yan, U. Helmke, J. B. Moore, "Global analysis of Oja's flow
   for neural networks", IEEE Trans. Neural Netw. 5 (1994).
.. [GOSTZ10] S. A. Goreinov, I. V. Oseledets, D. V. Savostyanov, E. E.
   Tyrtyshnikov, N. L. Zamarashkin, "How to find a good submatrix", in
   Matrix Methods: Theory, Algorithms and Applications (2010).
.. [YNYF15] Y. Yamamoto, Y. Nakatsukasa, Y. Yanagisawa, T. Fukaya,
   "Roundoff error analysis of the CholeskyQR2 algorithm", Electron. Trans.
   Numer. Anal. 44 (2015).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.linalg

from grassdyn._array import cholqr, mT, qr_positive

#: Dominance tolerance: after re-pivoting every chart entry is at most ``1 + DELTA``.
DELTA = 0.05
#: An event occurs when a growing entry reaches ``K_BASE`` times the chart's Hadamard constant.
K_BASE = 1.5


@dataclass
class Chart:
    """One chart: pivots ``piv`` (h,), coordinates ``Z`` (d, h) at time ``start``, valid until ``end``."""

    start: float
    piv: np.ndarray
    Z: np.ndarray
    end: float

    def rates(self, lam: np.ndarray) -> np.ndarray:
        return lam[:, None] - lam[self.piv][None, :]

    def at(self, lam: np.ndarray, dt: np.ndarray) -> np.ndarray:
        """``Z(start + dt)`` for every ``dt`` (T,) >= 0, shape (T, d, h): one product per entry."""
        # a decaying entry's exponent may overflow to -inf at t ~ 1e308: its factor is then 0,
        # which is right; growing entries are bounded by the event time
        with np.errstate(over="ignore"):
            expo = self.rates(lam)[None] * np.asarray(dt, dtype=np.float64)[:, None, None]
        # exact zeros stay zero (and 0 * inf never arises)
        return np.where(self.Z != 0.0, self.Z * np.exp(np.where(self.Z != 0.0, expo, 0.0)), 0.0)


def _swap(Z: np.ndarray, piv: np.ndarray, i: int, j: int) -> None:
    """Exchange pivot ``p_j`` for row ``i`` in place: ``Z <- Z (Z_{S'})^{-1}``."""
    r = Z[i, j]
    v = Z[i].copy()
    v[j] -= 1.0
    Z -= np.outer(Z[:, j] / r, v)
    Z[i] = 0.0
    Z[i, j] = 1.0
    piv[j] = i


def _dominate(Z: np.ndarray, piv: np.ndarray, cap: int) -> int:
    """Swap the largest entry while it exceeds ``1 + DELTA`` (maxvol); returns the number of swaps."""
    swaps = 0
    while True:
        flat = int(np.argmax(np.abs(Z)))
        i, j = divmod(flat, Z.shape[1])
        if abs(Z[i, j]) <= 1.0 + DELTA:
            return swaps
        _swap(Z, piv, i, j)
        swaps += 1
        if swaps > cap:  # impossible in exact arithmetic (|det Y_S| grows by > 1 + DELTA per swap)
            raise RuntimeError("chart re-pivoting did not terminate; please report this input")


def initial_chart(Y0: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Dominant chart of an orthonormal ``Y0`` (d, h): column-pivoted QR of ``Y0^T``, then maxvol."""
    h = Y0.shape[1]
    _, _, perm = scipy.linalg.qr(Y0.T, mode="economic", pivoting=True)
    piv = np.array(perm[:h], dtype=np.intp)
    Z = np.linalg.solve(Y0[piv].T, Y0.T).T  # Y0 Y0_S^{-1}: exact zero rows stay zero
    Z[piv] = np.eye(h)
    swaps = _dominate(Z, piv, cap=_swap_cap(Z))
    return Z, piv, swaps


def _hadamard_log(Z: np.ndarray) -> float:
    """``c = sum`` of the logs of the ``h`` largest row norms of ``Z`` (each at least 1)."""
    h = Z.shape[1]
    norms = np.sort(np.linalg.norm(Z, axis=1))[-h:]
    return float(np.sum(np.log(np.maximum(norms, 1.0))))


def _swap_cap(Z: np.ndarray) -> int:
    h = Z.shape[1]
    top = float(np.max(np.abs(Z), initial=1.0))
    bound = h * math.log(max(top, 1.0) * math.sqrt(h) + 1.0) / math.log1p(DELTA)
    return int(bound) + 2 * h + 8


def _event(lam: np.ndarray, Z: np.ndarray, piv: np.ndarray) -> float:
    """Time until the first growing entry of a dominant chart reaches ``K_BASE e^c`` (inf if none grows)."""
    rates = lam[:, None] - lam[piv][None, :]
    growing = (rates > 0.0) & (Z != 0.0)
    if not np.any(growing):
        return math.inf
    log_k = math.log(K_BASE) + _hadamard_log(Z)
    with np.errstate(over="ignore"):  # a subnormal rate: the entry never grows in float64 time
        wait = (log_k - np.log(np.abs(Z[growing]))) / rates[growing]
    return float(np.min(wait))


def charts(lam: np.ndarray, Y0: np.ndarray, t_max: float) -> tuple[list[Chart], int]:
    """The charts covering ``[0, t_max]`` of the flow from an orthonormal ``Y0`` (d, h), and the swap count.

    Events are at most ``C(d, h) - 1`` (module notes); the loop is capped
    there so that it can never hang.
    """
    d, h = Y0.shape
    Z, piv, swaps = initial_chart(Y0)
    start = 0.0
    out: list[Chart] = []
    cap = min(math.comb(d, h), 10**6)
    while True:
        wait = _event(lam, Z, piv)
        end = start + wait
        out.append(Chart(start, piv.copy(), Z.copy(), end))
        if math.isinf(end) or end > t_max:
            return out, swaps
        if len(out) >= cap:
            raise RuntimeError("more chart changes than C(d, h) - 1; please report this input")
        Z = out[-1].at(lam, np.array([wait]))[0]
        Z[piv] = np.eye(h)
        swaps += _dominate(Z, piv, cap=_swap_cap(Z))
        start = end


def chart_index(chart_list: list[Chart], t: np.ndarray) -> np.ndarray:
    """Index of the chart that covers each time (the later one at an event)."""
    starts = np.array([c.start for c in chart_list])
    return np.searchsorted(starts, t, side="right") - 1


def orthonormal(Z: np.ndarray) -> np.ndarray:
    """Orthonormal frames of graphs ``Z`` (..., d, h) by Cholesky-QR2 (row-relative accuracy)."""
    try:
        return cholqr(cholqr(Z))
    except np.linalg.LinAlgError:  # a chart too ill-conditioned for Cholesky: Householder
        return qr_positive(Z)


def subspace_frames(lam: np.ndarray, Y0: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, dict]:
    """Orthonormal frames of ``span(e^{Lambda t_k} Y0)`` for one frame ``Y0`` (d, h): shape (T, d, h)."""
    chart_list, swaps = charts(lam, Y0, float(t[-1]))
    k_of = chart_index(chart_list, t)
    Zt = np.empty((t.size, *Y0.shape))
    for k in np.unique(k_of):
        sel = k_of == k
        c = chart_list[k]
        Zt[sel] = c.at(lam, t[sel] - c.start)
    stats = {"chart_changes": len(chart_list) - 1, "pivot_swaps": swaps,
             "max_chart_entry": float(np.max(np.abs(Zt), initial=0.0))}
    return orthonormal(Zt), stats


# -- the horizontal frame ----------------------------------------------------------------------
def _generator(lam_rates: np.ndarray, Z: np.ndarray) -> np.ndarray:
    """``A = -(Z^T Z)^{-1} Z^T dZ/dt``, ``dZ/dt = R o Z``: ``W = Z M`` is horizontal iff ``dM/dt = A M``."""
    N = mT(Z) @ Z
    return -np.linalg.solve(N, mT(Z) @ (lam_rates * Z))


def _freeze_time(lam: np.ndarray, chart: Chart, tol: float) -> float:
    """A time after which ``M`` moves by less than ``tol`` in the last chart (no growing entries).

    With every non-constant entry decaying, ``||A|| <= ||Z||_2 ||dZ/dt||_F`` and
    ``int_t^inf ||dZ/dt||_F <= sum |Z_ij(t)|`` over decaying entries, while
    ``||Z(s)||_2 <= ||Z(t)||_F`` for ``s >= t``; so
    ``int_t^inf ||A|| <= rho(t) = ||Z(t)||_F sum_dec |Z_ij(t)|`` (Grönwall: M moves
    by at most ``e^rho - 1``), and ``rho(t) <= rho(s) e^{-r_min (t - s)}``.
    """
    rates = chart.rates(lam)
    decaying = (rates < 0.0) & (chart.Z != 0.0)
    if not np.any(decaying):
        return chart.start
    rho = float(np.linalg.norm(chart.Z)) * float(np.sum(np.abs(chart.Z[decaying])))
    r_min = float(np.min(-rates[decaying]))
    return chart.start + max(0.0, math.log(rho / tol)) / r_min


def horizontal_frames(
    lam: np.ndarray, Y0: np.ndarray, t: np.ndarray, rtol: float
) -> tuple[np.ndarray, dict]:
    r"""Oja's own frames ``W(t_k)`` (T, d, h) in the eigenbasis, from ``W(0) = Y0``.

    ``W = Z M`` with ``Z`` the chart of the subspace and ``M`` (h, h) solving
    ``dM/dt = A(t) M``, ``A = -(Z^T Z)^{-1} Z^T dZ/dt`` (from ``W^T dW/dt = 0``),
    ``M(0) = Y0_S``; at an event ``M <- Z_{S'} M``. ``A`` tends to 0
    exponentially in the last chart: past :func:`_freeze_time` (``M`` moves by
    less than ``eps``) ``M`` is constant. DOP853 therefore integrates over
    ``[0, min(t_max, t_freeze)]`` only, and its step count is bounded by the
    spectrum, the start and ``rtol``, not by ``t`` (at most its value at
    ``t = t_freeze``). For ``h = 1`` no ODE is needed: ``M`` keeps its sign
    and the caller's normalisation does the rest.
    """
    from scipy.integrate import DOP853

    d, h = Y0.shape
    chart_list, swaps = charts(lam, Y0, float(t[-1]))
    k_of = chart_index(chart_list, t)
    M = Y0[chart_list[0].piv].copy()
    out = np.empty((t.size, d, h))
    steps = evaluations = 0
    eps = np.finfo(np.float64).eps
    for k, c in enumerate(chart_list):
        rates = c.rates(lam)
        last = k == len(chart_list) - 1
        seg_end = min(c.end, float(t[-1]))
        if math.isinf(c.end):  # no growing entry: M settles
            seg_end = min(seg_end, _freeze_time(lam, c, eps))
        seg_end = max(seg_end, c.start)
        sel = np.nonzero(k_of == k)[0]

        def rhs(s, m, c=c, rates=rates):
            nonlocal evaluations
            evaluations += 1
            Z = c.at(lam, np.array([s - c.start]))[0]
            return (_generator(rates, Z) @ m.reshape(h, h)).ravel()

        Ms = np.empty((sel.size, h, h))
        pos = 0  # outputs of this chart are sorted: fill them in order
        while pos < sel.size and t[sel[pos]] <= c.start:
            Ms[pos] = M
            pos += 1
        # h = 1: every unit-vector curve is horizontal, M only carries the sign (no ODE)
        if h > 1 and seg_end > c.start and (pos < sel.size or not last):
            solver = DOP853(rhs, c.start, M.ravel(), seg_end, rtol=rtol, atol=rtol)
            while solver.status == "running":
                t_old = solver.t
                message = solver.step()
                if solver.status == "failed":
                    raise RuntimeError(f"horizontal frame integration failed: {message}")
                steps += 1
                dense = solver.dense_output()
                while pos < sel.size and t[sel[pos]] <= solver.t:
                    Ms[pos] = dense(max(float(t[sel[pos]]), t_old)).reshape(h, h)
                    pos += 1
            M = solver.y.reshape(h, h)
        Ms[pos:] = M  # past the segment: M is frozen
        if sel.size:
            out[sel] = c.at(lam, t[sel] - c.start) @ Ms
        if not last:
            Z_end = c.at(lam, np.array([c.end - c.start]))[0]
            M = Z_end[chart_list[k + 1].piv] @ M
    stats = {"chart_changes": len(chart_list) - 1, "pivot_swaps": swaps,
             "rotation_steps": steps, "rotation_evaluations": evaluations}
    return out, stats
