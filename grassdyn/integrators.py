r"""ODE integrators for gradient flows on Gr(d, h) and on R^{d x h}.

What is integrated is the gradient flow of an objective (docs/conventions.md; time is
gradient-flow time):

- ``manifold="grassmann"``: ``dW/dt = -(I - W W^T) egrad(W)``, the
  Riemannian gradient flow of the quotient metric ``tr(V1^T V2)``
  [EAS98, §2.5.3]; for ``Quadratic(C)`` it is Oja's subspace flow
  ``dW/dt = (I - W W^T) C W``. The objective must be invariant under
  ``W -> W R``, ``R`` in O(h), so that the flow is one of subspaces.
- ``manifold="euclidean"``: ``dW/dt = -egrad(W)``, the unconstrained flow.

The design follows diffrax: the vector field (:class:`GradientFlow`), the
chart in which steps are taken (:class:`GraphChart`, :class:`LinearChart`),
the solver (an explicit Runge–Kutta method whose Butcher tableau is data:
:class:`Dopri5`, :class:`Bosh3`, :class:`RK4`), the step-size controller
(:class:`PIController`, :class:`ConstantStep`) and the record (dense output
at the requested times, or every accepted step) are separate objects, and
:func:`integrate` wires them together.

**Geometric methods: Runge–Kutta in the graph chart.** Each step from ``W_n``
is taken in the chart ``X -> span(W_n + X)`` of the subspaces not orthogonal
to ``W_n``, with ``X`` horizontal at ``W_n`` (``W_n^T X = 0``): the graph (or
affine) chart, which in this form needs no ``d x d`` matrix. Write
``Y = W_n + X = Q R`` with ``Q`` orthonormal and ``R`` invertible (h x h).
If ``span Q(t)`` follows the flow, ``X`` obeys the ODE on a linear space

.. math:: \dot X = \tilde F - Y\, W_n^\top \tilde F, \qquad
   \tilde F = -(I - Q Q^\top)\, \mathrm{egrad}(Q)\, R,

(the horizontal velocity of ``Q`` is ``-(I - QQ^T) egrad(Q)``, carried to the
non-orthonormal frame ``Y``, then made horizontal at ``W_n``; ``tilde F``
does not depend on the choice of ``Q``, because ``egrad(Q O) = egrad(Q) O``
for ``O`` in O(h) when the objective is invariant). A Runge–Kutta
method of order ``p`` applied to this ODE for one step, followed by the exact
chart map, is a method of order ``p`` on Gr(d, h): the "methods based on local
coordinates" of Hairer, Lubich & Wanner [HLW06, §IV.5.3], of which
Runge–Kutta–Munthe-Kaas methods [MK99] are the case of the exponential chart.
The chart map's frame is the Q factor of ``Y`` (Cholesky QR: ``Y^T Y`` is
close to ``I``), orthonormal to rounding, and there is no
re-orthonormalisation anywhere else; the defect is reported in ``stats``. With
an FSAL tableau the last stage of a step is evaluated exactly at the next base
point, so its gradient is reused.

**Baselines.** ``method="scipy-RK45"`` (and ``-RK23``, ``-DOP853``) run
:func:`scipy.integrate.solve_ivp` on the ODE embedded in R^{d x h}; frames then
drift off the Stiefel manifold, so the outputs are re-orthonormalised
explicitly (polar factor) and the defect before that is reported as
``stats["max_orthogonality_defect_before_reorthonormalisation"]``.

References
----------
.. [EAS98] A. Edelman, T. A. Arias, S. T. Smith, "The geometry of algorithms
   with orthogonality constraints", SIAM J. Matrix Anal. Appl. 20 (1998).
.. [HLW06] E. Hairer, C. Lubich, G. Wanner, *Geometric Numerical Integration*,
   2nd ed., Springer (2006).
.. [MK99] H. Munthe-Kaas, "High order Runge–Kutta methods on manifolds",
   Appl. Numer. Math. 29 (1999).
.. [DP80] J. R. Dormand, P. J. Prince, "A family of embedded Runge–Kutta
   formulae", J. Comput. Appl. Math. 6 (1980).
.. [Sh86] L. F. Shampine, "Some practical Runge–Kutta formulas", Math. Comp. 46
   (1986) — the dense output of DOPRI5.
.. [BS89] P. Bogacki, L. F. Shampine, "A 3(2) pair of Runge–Kutta formulas",
   Appl. Math. Lett. 2 (1989).
.. [HNW93] E. Hairer, S. P. Nørsett, G. Wanner, *Solving Ordinary Differential
   Equations I*, 2nd ed., Springer (1993): step-size selection (§II.4), dense
   output of RK4 (§II.6).
.. [HW96] E. Hairer, G. Wanner, *Solving Ordinary Differential Equations II*,
   2nd ed., Springer (1996), §IV.2: the PI step-size controller.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
from numpy.typing import ArrayLike
from scipy.integrate import DOP853, RK23, RK45

from grassdyn._validation import (
    as_frame,
    as_int,
    as_real,
    as_times,
    check_allocation,
    check_choice,
    orthogonality_defect,
)
from grassdyn.trajectory import MANIFOLDS, Trajectory

__all__ = [
    "BOSH3",
    "CLASSIC_RK4",
    "DOPRI5",
    "METHODS",
    "RK4",
    "Bosh3",
    "ButcherTableau",
    "ConstantStep",
    "DivergenceError",
    "Dopri5",
    "GradientFlow",
    "GraphChart",
    "IntegrationError",
    "LinearChart",
    "PIController",
    "RungeKutta",
    "integrate",
]

#: Entries of a Euclidean solution beyond this are reported as divergence:
#: squaring them (in ``W^T W`` or a quadratic loss) would overflow float64.
DIVERGENCE_BOUND = 1e150


#: Default ``max_steps`` of :func:`integrate`: attempted steps per initial frame. A
#: budget counted in steps, not seconds, so that where a run stops never depends on
#: the machine; about 2 s of DOPRI5 steps at small d.
MAX_STEPS = 10_000


class IntegrationError(RuntimeError):
    """The integration stopped before the last time (step limit or step-size underflow).

    Says how far it got: ``t_reached`` (the time of the last accepted step),
    ``steps`` (attempted steps of the member that stopped), ``member`` (its
    index in the batch of initial frames, ``()`` for one frame) and
    ``partial``, the :class:`~grassdyn.trajectory.Trajectory` of that member
    at the requested times up to ``t_reached`` (None if no time beyond 0 was
    reached).
    """

    def __init__(
        self,
        message: str,
        *,
        t_reached: float = 0.0,
        steps: int = 0,
        member: tuple[int, ...] = (),
        partial: Trajectory | None = None,
    ) -> None:
        super().__init__(message)
        self.t_reached = t_reached
        self.steps = steps
        self.member = member
        self.partial = partial


class DivergenceError(FloatingPointError):
    """The solution or the gradient left the finite range; the message names the time."""


# -- what to integrate ---------------------------------------------------------------------------
class GradientFlow:
    """The gradient flow of ``objective``: counts and checks its ``egrad`` evaluations.

    Parameters
    ----------
    objective : Objective
        Any object with ``value(W)`` and ``egrad(W)``.
    manifold : {"grassmann", "euclidean"}
        Grassmann: ``dW/dt = -(I - W W^T) egrad(W)``; Euclidean: ``dW/dt = -egrad(W)``.
    """

    def __init__(self, objective: Any, manifold: str) -> None:
        for attr in ("value", "egrad"):
            if not callable(getattr(objective, attr, None)):
                raise TypeError(
                    f"objective must have value(W) and egrad(W) methods; "
                    f"{type(objective).__name__} has no callable {attr!r}"
                )
        self.objective = objective
        self.manifold = check_choice(manifold, "manifold", MANIFOLDS)
        if self.manifold == "grassmann" and getattr(objective, "grassmann_invariant", True) is False:
            raise ValueError(
                f"manifold='grassmann' needs an objective invariant under W -> W Q; "
                f"{type(objective).__name__} is not (grassmann_invariant is False): use manifold='euclidean'"
            )
        self.nfev = 0

    def egrad(self, W: np.ndarray, t: float) -> np.ndarray:
        """``objective.egrad(W)`` at time ``t``, checked for shape and finiteness."""
        G = np.asarray(self.objective.egrad(W), dtype=np.float64)
        self.nfev += 1
        if G.shape != W.shape:
            raise ValueError(f"objective.egrad returned shape {G.shape}, expected {W.shape}")
        if not np.all(np.isfinite(G)):
            raise DivergenceError(f"objective.egrad returned non-finite values at t = {t:.6g}")
        return G

    def velocity(self, W: np.ndarray, G: np.ndarray) -> np.ndarray:
        """``dW/dt`` at ``W`` from ``G = egrad(W)``, in the ambient space R^{d x h}."""
        if self.manifold == "grassmann":
            return -(G - W @ (W.T @ G))
        return -G


# -- where steps are taken -----------------------------------------------------------------------
@dataclass(frozen=True)
class Evaluation:
    """One evaluation of the vector field in a chart: the point, its gradient, the chart velocity."""

    point: np.ndarray
    egrad: np.ndarray
    velocity: np.ndarray


class GraphChart:
    r"""The graph chart ``X -> span(W + X)`` of Gr(d, h) at a base frame ``W`` (``W^T X = 0``).

    Points are represented by the Q factor of ``Y = W + X`` (positive-diagonal
    R, the Gram–Schmidt frame), orthonormal to rounding since ``Y^T Y >= I``
    is well conditioned. The chart velocity is the ODE for ``X`` in the module
    docstring; at ``X = 0`` it is the Riemannian gradient flow itself.
    """

    def __init__(self, flow: GradientFlow) -> None:
        self.flow = flow

    @staticmethod
    def _frame(Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(Q, R)`` with ``Y = Q R``, ``R = L^T`` from the Cholesky factor of ``S = Y^T Y = L L^T``.

        Since ``S = I + X^T X >= I`` (up to the base's own rounding defect) is
        well conditioned, this Cholesky QR is as accurate as Householder QR:
        ``Q`` is orthonormal to rounding [the defect is ``O(eps cond(S))``].
        """
        L = np.linalg.cholesky(Y.T @ Y)
        return Y @ np.linalg.inv(L).T, L.T

    def point(self, base: np.ndarray, X: np.ndarray) -> np.ndarray:
        return self._frame(base + X)[0]

    def evaluate(self, base: np.ndarray, X: np.ndarray, t: float) -> Evaluation:
        Y = base + X
        Q, R = self._frame(Y)
        G = self.flow.egrad(Q, t)
        F = self.flow.velocity(Q, G) @ R
        return Evaluation(Q, G, F - Y @ (base.T @ F))

    def velocity_at_base(self, base: np.ndarray, G: np.ndarray) -> np.ndarray:
        return self.flow.velocity(base, G)


class LinearChart:
    """The identity chart ``X -> W + X`` of R^{d x h}, for the unconstrained flow."""

    def __init__(self, flow: GradientFlow) -> None:
        self.flow = flow

    def point(self, base: np.ndarray, X: np.ndarray) -> np.ndarray:
        return base + X

    def evaluate(self, base: np.ndarray, X: np.ndarray, t: float) -> Evaluation:
        Y = base + X
        size = float(np.max(np.abs(Y)))
        if not size <= DIVERGENCE_BOUND:
            raise DivergenceError(
                f"the Euclidean flow diverged: max|W| = {size:.3g} exceeds {DIVERGENCE_BOUND:.0e} "
                f"at t = {t:.6g}"
            )
        G = self.flow.egrad(Y, t)
        return Evaluation(Y, G, self.flow.velocity(Y, G))

    def velocity_at_base(self, base: np.ndarray, G: np.ndarray) -> np.ndarray:
        return self.flow.velocity(base, G)


# -- how to step ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class ButcherTableau:
    """An explicit Runge–Kutta method as data.

    ``c`` (s,), ``a`` (s, s) strictly lower triangular, ``b`` (s,) the
    propagated weights, ``error`` (s,) the weights ``b - b_hat`` of the
    embedded error estimate (None: no estimate, fixed steps only), ``dense``
    (s, q) the coefficients of ``theta, ..., theta^q`` in the weights of the
    continuous extension ``X(theta h) = h sum_i b_i(theta) K_i``.
    """

    c: np.ndarray
    a: np.ndarray
    b: np.ndarray
    error: np.ndarray | None
    dense: np.ndarray
    order: int
    error_order: int | None
    dense_order: int

    @property
    def stages(self) -> int:
        return self.c.shape[0]

    @property
    def fsal(self) -> bool:
        """First same as last: the last stage is evaluated at the step's end point."""
        return bool(self.c[-1] == 1.0 and np.array_equal(self.a[-1], self.b))


def _tableau(c, a_rows, b, error, dense, order, error_order, dense_order) -> ButcherTableau:
    s = len(c)
    a = np.zeros((s, s))
    for i, row in enumerate(a_rows):
        a[i, : len(row)] = row
    err = None if error is None else np.array(error, dtype=float)
    return ButcherTableau(
        np.array(c, dtype=float), a, np.array(b, dtype=float), err, np.array(dense, dtype=float),
        order, error_order, dense_order,
    )


#: Dormand–Prince 5(4) [DP80] with Shampine's quartic dense output [Sh86]
#: (coefficients as in scipy's RK45).
DOPRI5 = _tableau(
    c=[0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1, 1],
    a_rows=[
        [],
        [1 / 5],
        [3 / 40, 9 / 40],
        [44 / 45, -56 / 15, 32 / 9],
        [19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729],
        [9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656],
        [35 / 384, 0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84],
    ],
    b=[35 / 384, 0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84, 0],
    error=[-71 / 57600, 0, 71 / 16695, -71 / 1920, 17253 / 339200, -22 / 525, 1 / 40],
    dense=[
        [1, -8048581381 / 2820520608, 8663915743 / 2820520608, -12715105075 / 11282082432],
        [0, 0, 0, 0],
        [0, 131558114200 / 32700410799, -68118460800 / 10900136933, 87487479700 / 32700410799],
        [0, -1754552775 / 470086768, 14199869525 / 1410260304, -10690763975 / 1880347072],
        [0, 127303824393 / 49829197408, -318862633887 / 49829197408, 701980252875 / 199316789632],
        [0, -282668133 / 205662961, 2019193451 / 616988883, -1453857185 / 822651844],
        [0, 40617522 / 29380423, -110615467 / 29380423, 69997945 / 29380423],
    ],
    order=5,
    error_order=4,
    dense_order=4,
)

#: Bogacki–Shampine 3(2) [BS89] with its cubic Hermite dense output.
BOSH3 = _tableau(
    c=[0, 1 / 2, 3 / 4, 1],
    a_rows=[[], [1 / 2], [0, 3 / 4], [2 / 9, 1 / 3, 4 / 9]],
    b=[2 / 9, 1 / 3, 4 / 9, 0],
    error=[5 / 72, -1 / 12, -1 / 9, 1 / 8],
    dense=[[1, -4 / 3, 5 / 9], [0, 1, -2 / 3], [0, 4 / 3, -8 / 9], [0, -1, 1]],
    order=3,
    error_order=2,
    dense_order=3,
)

#: The classical Runge–Kutta method with its third-order continuous extension [HNW93, §II.6].
CLASSIC_RK4 = _tableau(
    c=[0, 1 / 2, 1 / 2, 1],
    a_rows=[[], [1 / 2], [0, 1 / 2], [0, 0, 1]],
    b=[1 / 6, 1 / 3, 1 / 3, 1 / 6],
    error=None,
    dense=[[1, -3 / 2, 2 / 3], [0, 1, -2 / 3], [0, 1, -2 / 3], [0, -1 / 2, 2 / 3]],
    order=4,
    error_order=None,
    dense_order=3,
)


@dataclass(frozen=True)
class Step:
    """One attempted step: its size, stage velocities, end coordinate and error estimate."""

    h: float
    K: np.ndarray
    X: np.ndarray
    error: np.ndarray | None
    end: Evaluation | None


def _combine(weights: np.ndarray, K: np.ndarray) -> np.ndarray:
    """``sum_i weights[i] K[i]`` for stage velocities ``K`` of shape (i, d, h), as one matmul."""
    n = weights.shape[0]
    return (weights @ K[:n].reshape(n, -1)).reshape(K.shape[1:])


class RungeKutta:
    """An explicit Runge–Kutta method applied in a chart (see the subclasses)."""

    tableau: ClassVar[ButcherTableau]
    name: ClassVar[str]

    def step(self, chart: Any, base: np.ndarray, k1: np.ndarray, t: float, h: float) -> Step:
        """One step of size ``h`` from chart coordinate 0 at ``base``; ``k1`` is the velocity there."""
        tab = self.tableau
        K = np.empty((tab.stages, *k1.shape))
        K[0] = k1
        end = None
        for i in range(1, tab.stages):
            X = h * _combine(tab.a[i, :i], K)
            end = chart.evaluate(base, X, t + tab.c[i] * h)
            K[i] = end.velocity
        if tab.fsal:
            X_new = X
        else:
            X_new = h * _combine(tab.b, K)
            end = None
        error = None if tab.error is None else h * _combine(tab.error, K)
        return Step(h, K, X_new, error, end)

    def interpolate(self, step: Step, theta: float) -> np.ndarray:
        """Chart coordinate at ``t_n + theta h`` from the continuous extension (order ``dense_order``)."""
        powers = theta ** np.arange(1, self.tableau.dense.shape[1] + 1)
        return step.h * _combine(self.tableau.dense @ powers, step.K)


class Dopri5(RungeKutta):
    """Order 5, embedded order-4 error estimate, dense output of order 4 (Dormand–Prince).

    Preserves the manifold when stepped in :class:`GraphChart`: every frame is
    a chart point, orthonormal to rounding. Seven stages, the last evaluated at the step's end point
    and reused (FSAL): six gradient evaluations per step [DP80, Sh86].
    """

    tableau = DOPRI5
    name = "dopri5"


class Bosh3(RungeKutta):
    """Order 3, embedded order-2 error estimate, dense output of order 3 (Bogacki–Shampine).

    Preserves the manifold when stepped in :class:`GraphChart`. Four stages
    with FSAL: three gradient evaluations per step [BS89].
    """

    tableau = BOSH3
    name = "bosh3"


class RK4(RungeKutta):
    """Order 4, no error estimate (fixed steps only), dense output of order 3 (classical RK4).

    Preserves the manifold when stepped in :class:`GraphChart`. Four stages
    plus one gradient evaluation at each new base point.
    """

    tableau = CLASSIC_RK4
    name = "rk4"


SOLVERS: dict[str, type[RungeKutta]] = {cls.name: cls for cls in (Dopri5, Bosh3, RK4)}
SCIPY_METHODS = {"scipy-RK23": 3, "scipy-RK45": 6, "scipy-DOP853": 12}  # evaluations per step
SCIPY_SOLVERS = {"scipy-RK23": RK23, "scipy-RK45": RK45, "scipy-DOP853": DOP853}
METHODS: tuple[str, ...] = (*SOLVERS, *SCIPY_METHODS)

"""Every ``method`` name :func:`grassdyn.flows.integrate` accepts: grassdyn's own
Runge-Kutta solvers, then scipy's ``solve_ivp`` methods."""


# -- how to choose steps -------------------------------------------------------------------------
@dataclass(frozen=True)
class ConstantStep:
    """Equal steps of size ``t_end / ceil(t_end / step)`` (at most ``step``); no error control."""

    step: float

    def initial(self, t_end: float, **_: Any) -> float:
        # the 1e-12 slack keeps t_end = n * step from rounding up to n + 1 steps
        return t_end / max(1.0, np.ceil(t_end / self.step - 1e-12))

    def adapt(self, state: dict, step: Step, base: np.ndarray, tableau: ButcherTableau):
        return True, step.h


@dataclass(frozen=True)
class PIController:
    r"""Proportional–integral step-size control on an embedded error estimate [HW96, §IV.2].

    The error norm is the RMS of ``err / (atol + rtol max(|Y_n|, |Y_{n+1}|))``
    over the entries of the ambient frames ``Y``; a step is accepted when it
    is ``<= 1``. The next step is ``h * safety * e_n^{-(icoeff + pcoeff)/k} *
    e_{n-1}^{pcoeff/k}``, ``k = error_order + 1``, clipped to
    ``[factormin, factormax]`` (no growth right after a rejection).
    ``pcoeff = 0`` is the classical I controller. The defaults are Hairer's
    DOPRI5 values (``beta = 0.04`` for ``k = 5``).
    """

    rtol: float
    atol: float
    first_step: float | None = None
    pcoeff: float = 0.2
    icoeff: float = 0.65
    safety: float = 0.9
    factormin: float = 0.2
    factormax: float = 10.0

    def norm(self, err: np.ndarray, Y0: np.ndarray, Y1: np.ndarray) -> float:
        scale = self.atol + self.rtol * np.maximum(np.abs(Y0), np.abs(Y1))
        return float(np.sqrt(np.mean((err / scale) ** 2)))

    def initial(self, t_end: float, *, Y0: np.ndarray, f0: np.ndarray, probe, order: int) -> float:
        """``first_step``, or Hairer's starting step [HNW93, §II.4] from ``|Y0|``, ``|f0|``, ``f'``."""
        if self.first_step is not None:
            return min(self.first_step, t_end)
        scale = self.atol + self.rtol * np.abs(Y0)
        d0 = np.sqrt(np.mean((Y0 / scale) ** 2))
        d1 = np.sqrt(np.mean((f0 / scale) ** 2))
        h0 = 1e-6 if d0 < 1e-5 or d1 < 1e-5 else 0.01 * d0 / d1
        h0 = min(h0, t_end)
        f1 = probe(h0)
        d2 = np.sqrt(np.mean(((f1 - f0) / scale) ** 2)) / h0
        if max(d1, d2) <= 1e-15:
            h1 = max(1e-6, 1e-3 * h0)
        else:
            h1 = (0.01 / max(d1, d2)) ** (1.0 / (order + 1))
        return min(100 * h0, h1, t_end)

    def adapt(self, state: dict, step: Step, base: np.ndarray, tableau: ButcherTableau):
        """``(accept, next step size)``; ``state`` carries the previous error between calls."""
        h, k = step.h, tableau.error_order + 1
        err_norm = self.norm(step.error, base, base + step.X)
        if err_norm <= 1.0:
            if err_norm == 0.0:
                factor = self.factormax
            else:
                factor = (
                    self.safety
                    * err_norm ** (-(self.icoeff + self.pcoeff) / k)
                    * state.get("previous", 1.0) ** (self.pcoeff / k)
                )
            high = 1.0 if state.get("rejected", False) else self.factormax
            state["previous"] = max(err_norm, 1e-4)
            state["rejected"] = False
            return True, h * min(high, max(self.factormin, factor))
        state["rejected"] = True
        return False, h * max(self.factormin, self.safety * err_norm ** (-1.0 / k))


# -- the driver ----------------------------------------------------------------------------------
@dataclass
class _Counts:
    """Statistics accumulated over the members of a batch."""

    accepted: int = 0
    rejected: int = 0
    defect: float = 0.0
    step_times: list = field(default_factory=list)
    step_frames: list = field(default_factory=list)


def _run_rk(
    solver: RungeKutta,
    chart: Any,
    controller: Any,
    W0: np.ndarray,
    t_out: np.ndarray,
    max_steps: int,
    counts: _Counts,
    track_defect: bool,
) -> np.ndarray:
    """Integrate from ``W0`` at time 0; frames at ``t_out``, shape ``(T, d, h)``."""
    t_end = float(t_out[-1])
    out = np.empty((t_out.shape[0], *W0.shape))
    n_zero = int(np.searchsorted(t_out, 0.0, side="right"))
    out[:n_zero] = W0
    counts.step_times.append(0.0)
    counts.step_frames.append(W0)
    if t_end == 0.0:
        return out
    tab = solver.tableau
    base, t = W0, 0.0
    k1 = chart.velocity_at_base(base, chart.flow.egrad(base, 0.0))
    h = controller.initial(
        t_end,
        Y0=W0,
        f0=k1,
        probe=lambda dt: chart.evaluate(base, dt * k1, dt).velocity,
        order=tab.order,
    )
    state: dict = {}
    i, attempts = n_zero, 0
    while t < t_end:
        attempts += 1
        if attempts > max_steps:
            raise _stopped(
                f"max_steps = {max_steps} reached at t = {t:.6g} before t = {t_end:.6g}; "
                "raise max_steps or loosen rtol/atol",
                t, max_steps, t_out[:i], out[:i],
            )
        if t_end - (t + h) <= 1e-10 * h:
            h = t_end - t
        step = solver.step(chart, base, k1, t, h)
        accept, h_next = controller.adapt(state, step, base, tab)
        if not accept:
            counts.rejected += 1
            if h_next < 16 * np.finfo(float).eps * max(t, 1.0):
                raise _stopped(f"step size underflow at t = {t:.6g}: the flow is too stiff here",
                               t, attempts, t_out[:i], out[:i])
            h = h_next
            continue
        counts.accepted += 1
        t_new = t_end if h == t_end - t else t + h
        end = step.end
        new_base = end.point if end is not None else chart.point(base, step.X)
        while i < t_out.shape[0] and t_out[i] <= t_new:
            theta = (t_out[i] - t) / h
            out[i] = new_base if theta >= 1.0 else chart.point(base, solver.interpolate(step, theta))
            i += 1
        G = end.egrad if end is not None else chart.flow.egrad(new_base, t_new)
        base, t, h = new_base, t_new, h_next
        k1 = chart.velocity_at_base(base, G)
        if track_defect:
            counts.defect = max(counts.defect, float(orthogonality_defect(base)))
        counts.step_times.append(t)
        counts.step_frames.append(base)
    return out


def _stopped(message: str, t: float, steps: int, t_done: np.ndarray, W_done: np.ndarray) -> IntegrationError:
    """An :class:`IntegrationError` holding the raw frames at the requested times reached so far.

    :func:`integrate` turns them into the error's ``partial`` trajectory (it
    knows the batch index and the manifold); they are copied, as the caller's
    buffer is reused.
    """
    err = IntegrationError(message, t_reached=float(t), steps=int(steps))
    err._raw = (np.array(t_done, dtype=float), np.array(W_done))  # type: ignore[attr-defined]
    return err


def _polar_frames(Y: np.ndarray) -> np.ndarray:
    U, _, Vt = np.linalg.svd(Y, full_matrices=False)
    return U @ Vt


def _run_scipy(
    name: str,
    flow: GradientFlow,
    W0: np.ndarray,
    t_out: np.ndarray,
    rtol: float,
    atol: float,
    first_step: float | None,
    max_steps: int,
    counts: _Counts,
) -> np.ndarray:
    """A scipy ``OdeSolver`` on the flow embedded in R^{d x h}, stepped here so that ``max_steps``
    counts its steps exactly; raw (not re-orthonormalised) outputs at ``t_out``."""
    t_end = float(t_out[-1])
    d, h = W0.shape
    out = np.empty((t_out.shape[0], d, h))
    n_zero = int(np.searchsorted(t_out, 0.0, side="right"))
    out[:n_zero] = W0
    counts.step_times.append(0.0)
    counts.step_frames.append(W0)
    if t_end == 0.0:
        return out

    def fun(t: float, y: np.ndarray) -> np.ndarray:
        W = y.reshape(d, h)
        size = float(np.max(np.abs(W)))
        if not size <= DIVERGENCE_BOUND:
            raise DivergenceError(f"the solution diverged: max|W| = {size:.3g} at t = {t:.6g}")
        return flow.velocity(W, flow.egrad(W, t)).ravel()

    solver_class = SCIPY_SOLVERS[name]
    kwargs = {} if first_step is None else {"first_step": first_step}
    solver = solver_class(fun, 0.0, W0.ravel(), t_end, rtol=rtol, atol=atol, **kwargs)
    i, steps = n_zero, 0
    while solver.status == "running":
        if steps >= max_steps:
            raise _stopped(
                f"max_steps = {max_steps} reached at t = {solver.t:.6g} before t = {t_end:.6g} ({name}); "
                "raise max_steps or loosen rtol/atol",
                solver.t, steps, t_out[:i], out[:i],
            )
        message = solver.step()
        steps += 1
        if solver.status == "failed":
            raise _stopped(f"{name} failed at t = {solver.t:.6g}: {message}", solver.t, steps,
                           t_out[:i], out[:i])
        j = int(np.searchsorted(t_out, solver.t, side="right"))
        if j > i:
            out[i:j] = solver.dense_output()(t_out[i:j]).T.reshape(-1, d, h)
            i = j
        counts.accepted += 1
        counts.step_times.append(float(solver.t))
        counts.step_frames.append(solver.y.reshape(d, h).copy())
    return out


def integrate(
    objective: Any,
    W0: ArrayLike,
    t: ArrayLike,
    manifold: str = "grassmann",
    method: str | None = None,
    *,
    rtol: float = 1e-8,
    atol: float = 1e-10,
    step: float | None = None,
    first_step: float | None = None,
    max_steps: int = MAX_STEPS,
    record: str = "t",
) -> Trajectory:
    r"""Integrate the gradient flow of any objective from ``W0`` at time 0.

    Parameters
    ----------
    objective : Objective
        Any object with ``value(W)`` and ``egrad(W)`` (Euclidean gradient);
        on the Grassmannian it must be invariant under ``W -> W R``.
    W0 : array_like, shape (..., d, h)
        Initial frame(s) at time 0: orthonormal for ``"grassmann"``, any
        full-rank matrices for ``"euclidean"``. Leading axes are a batch,
        each member integrated with its own steps.
    t : array_like, shape (T,)
        Output times, non-decreasing, ``>= 0`` (gradient-flow time).
    manifold : {"grassmann", "euclidean"}
        ``dW/dt = -(I - W W^T) egrad(W)`` or ``dW/dt = -egrad(W)``.
    method : str, optional
        ``"dopri5"`` (default; order 5), ``"bosh3"`` (order 3), ``"rk4"``
        (order 4, needs ``step``): Runge–Kutta in the graph chart, frames
        orthonormal to rounding. ``"scipy-RK45"``, ``"scipy-DOP853"``,
        ``"scipy-RK23"``: scipy's ``RK45``/``DOP853``/``RK23`` solvers (those of
        :func:`scipy.integrate.solve_ivp`), stepped one by one, on the embedded
        ODE, outputs re-orthonormalised (polar factor) on the Grassmannian.
    rtol, atol : float
        Tolerances of the error control (``rtol >= 100 eps``, ``atol >= 0``).
    step : float, optional
        Fixed steps of size ``t[-1] / ceil(t[-1] / step)`` with no error
        control (geometric methods only): for convergence tests.
    first_step : float, optional
        Initial step of the adaptive methods (estimated by default).
    max_steps : int
        Step budget: attempted steps per initial frame, in every method
        (default ``MAX_STEPS``). Counted in steps, not seconds, so where
        a run stops does not depend on the machine; with fixed ``step`` a
        run that needs more is refused before it starts.
    record : {"t", "steps"}
        ``"t"``: the frames at the times ``t`` (dense output). ``"steps"``:
        the frames at every accepted step from 0 to ``t[-1]`` (one initial
        frame only); the trajectory's times are then the step times.

    Returns
    -------
    Trajectory
        ``W`` of shape ``(..., T, d, h)``; ``stats`` holds ``accepted_steps``,
        ``rejected_steps`` (None for scipy), ``nfev`` (gradient evaluations),
        ``max_orthogonality_defect`` of the returned frames (Grassmannian),
        ``max_orthogonality_defect_before_reorthonormalisation`` (scipy on the
        Grassmannian), ``success`` and ``message``.

    Raises
    ------
    ValueError, TypeError
        Bad arguments, naming them.
    IntegrationError
        ``max_steps`` reached or the step size underflowed. The message names
        the time reached; the error says how far it got: ``t_reached``,
        ``steps``, ``member`` (which initial frame) and ``partial``, the
        trajectory of that frame at the requested times reached. Raising
        (rather than returning ``success=False``) keeps every returned
        trajectory complete; ``stats["success"]`` is then always True.
    DivergenceError
        The solution or the gradient became non-finite or, on the Euclidean
        flow, larger than ``1e150``; names the time.

    Notes
    -----
    The geometric methods and their order are described in the module
    docstring: an order-``p`` Runge–Kutta method in the graph chart is of
    order ``p`` on Gr(d, h) [HLW06, §IV.5.3]. Between steps the frames come
    from the tableau's continuous extension, of order ``p - 1`` or more, so
    they keep the global order ``p``.

    Examples
    --------
    >>> import numpy as np
    >>> from grassdyn.objectives import Quadratic
    >>> C = np.diag([2.0, 1.0, 0.0])
    >>> W0 = np.array([[1.0], [1.0], [1.0]]) / np.sqrt(3)
    >>> traj = integrate(Quadratic(C), W0, [0.0, 20.0], rtol=1e-10)
    >>> float(traj.distance_to(np.eye(3)[:, :1])[-1]) < 1e-8
    True
    >>> bool(traj.stats["max_orthogonality_defect"] < 1e-14)
    True
    """
    if getattr(objective, "is_gradient", True) is False:
        # a loss that carries state beyond W (SimSiam, BYOL): grassdyn.dynamics integrates all of it
        from grassdyn.dynamics import integrate as _integrate_state

        return _integrate_state(
            objective, W0, t, manifold, method, rtol=rtol, atol=atol, step=step, first_step=first_step,
            max_steps=max_steps, record=record,
        )
    flow = GradientFlow(objective, manifold)
    method = "dopri5" if method is None else check_choice(method, "method", METHODS)
    W0 = as_frame(W0, "W0", orthonormal=manifold == "grassmann")
    if manifold == "euclidean" and np.any(np.linalg.matrix_rank(W0) < W0.shape[-1]):
        raise ValueError("W0 must have full column rank for the euclidean flow")
    t_out = as_times(t, "t")
    rtol = as_real(rtol, "rtol", low=100 * np.finfo(float).eps)
    atol = as_real(atol, "atol", low=0.0)
    max_steps = as_int(max_steps, "max_steps", minimum=1)
    check_choice(record, "record", ("t", "steps"))
    if step is not None:
        step = as_real(step, "step", low=0.0, low_open=True)
        if method not in SOLVERS:
            raise ValueError(f"step (fixed steps) needs a geometric method {tuple(SOLVERS)}, got {method!r}")
        if first_step is not None:
            raise ValueError("first_step has no effect with fixed steps: pass step or first_step, not both")
    elif method == "rk4":
        raise ValueError("method 'rk4' has no embedded error estimate: pass a fixed step size step=...")
    if first_step is not None:
        first_step = as_real(first_step, "first_step", low=0.0, low_open=True)
    batch = W0.shape[:-2]
    if record == "steps" and batch:
        raise ValueError(f"record='steps' needs a single initial frame W0 of shape (d, h), got {W0.shape}")

    d, h = W0.shape[-2:]
    check_allocation((*batch, t_out.shape[0], d, h),
                     f"len(t) = {t_out.shape[0]}, W0 of shape {W0.shape}: the output (..., len(t), d, h)")
    if record == "steps":
        check_allocation((max_steps + 1, d, h),
                         f"max_steps = {max_steps} with record='steps' (up to one frame per step)")
    if step is not None:
        # fixed steps: the number is known up front
        n_fixed = int(np.ceil(float(t_out[-1]) / step - 1e-12))
        if n_fixed > max_steps:
            raise IntegrationError(
                f"step = {step:.6g}: t[-1] / step = {n_fixed} fixed steps exceed max_steps = {max_steps}; "
                "raise step or max_steps", t_reached=0.0, steps=0,
            )

    counts = _Counts()
    outs = np.empty((*batch, t_out.shape[0], d, h))
    grassmann = manifold == "grassmann"
    with np.errstate(over="ignore", invalid="ignore"):
        for idx in np.ndindex(*batch):
            try:
                if method in SOLVERS:
                    chart = GraphChart(flow) if grassmann else LinearChart(flow)
                    controller = (ConstantStep(step) if step is not None
                                  else PIController(rtol, atol, first_step))
                    outs[idx] = _run_rk(
                        SOLVERS[method](), chart, controller, W0[idx], t_out, max_steps, counts, grassmann
                    )
                else:
                    outs[idx] = _run_scipy(
                        method, flow, W0[idx], t_out, rtol, atol, first_step, max_steps, counts
                    )
            except IntegrationError as exc:
                exc.member = idx
                t_done, W_done = getattr(exc, "_raw", (np.empty(0), None))
                if t_done.size and t_done[-1] > 0.0:
                    if grassmann and method in SCIPY_METHODS:
                        W_done = _polar_frames(W_done)
                    exc.partial = Trajectory(t=t_done, W=W_done, method=method, manifold=manifold,
                                             stats={"success": False, "message": str(exc)})
                if batch:
                    exc.args = (f"{exc.args[0]} (initial frame W0[{', '.join(map(str, idx))}])",)
                raise
    stats: dict[str, Any] = {
        "accepted_steps": counts.accepted,
        "rejected_steps": None if method in SCIPY_METHODS else counts.rejected,
        "nfev": flow.nfev,
    }
    if record == "steps":
        times = np.array(counts.step_times)
        outs = np.stack(counts.step_frames)
    else:
        times = t_out
    if grassmann:
        defect = float(np.max(orthogonality_defect(outs)))
        if method in SCIPY_METHODS:
            stats["max_orthogonality_defect_before_reorthonormalisation"] = defect
            outs = _polar_frames(outs)
            defect = float(np.max(orthogonality_defect(outs)))
        stats["max_orthogonality_defect"] = max(defect, counts.defect)
    stats["success"] = True
    stats["message"] = f"reached t = {float(t_out[-1]):.6g}"
    params = {"rtol": rtol, "atol": atol, "step": step, "first_step": first_step, "max_steps": max_steps,
              "record": record}
    return Trajectory(t=times, W=outs, method=method, manifold=manifold, params=params, stats=stats)

