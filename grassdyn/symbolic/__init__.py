r"""Exact fixed points, stability and closed-form checks for the quadratic flows, with sympy.

Conventions (docs/conventions.md): ``L(W) = -1/2 tr(W^T C W)``, ``C`` symmetric, ``t``
gradient-flow time, and

- the Grassmannian flow (Oja's subspace flow) ``dW/dt = (I - W W^T) C W`` on
  orthonormal frames, whose projector obeys ``dP/dt = CP + PC - 2PCP``;
- the unconstrained ("naive") flow ``dW/dt = C W``.

What is derived here, and how:

- :func:`grassmann_chart` derives the flow in the graph chart
  ``W = Pi^T [I; X] N`` (rows permuted by ``Pi`` so that the chosen index set
  ``I`` comes first, ``N`` any invertible normalisation) in noncommutative
  block-matrix algebra, once for all sizes: differentiating the chart
  condition ``X W_1 = W_2`` along the flow and solving for ``dX/dt`` gives the
  matrix Riccati equation ``dX/dt = C21 + C22 X - X C11 - X C12 X``
  [YHM94]_, [AMS08, §3.4]_; sympy checks the derived expression against that
  displayed form and the normalisation ``N`` cancels (the chart is gauge
  invariant).
- :func:`linearize` differentiates any sympy vector field at a point.
- :func:`critical_points` enumerates the critical points ``span{e_i : i in I}``
  of the Grassmannian flow for ``C = diag(eigenvalues)``, linearises the
  derived chart field at ``X = 0`` and classifies the spectrum; nothing about
  the spectrum (``lam_j - lam_i``) is typed in. The critical set has
  dimension ``sum_clusters j (m - j)`` (a cluster is a repeated eigenvalue of
  multiplicity ``m`` of which ``I`` holds ``j``), which equals the number of
  zero eigenvalues: such points are reported ``"non-hyperbolic"``.
- :func:`euclidean_fixed_points` and :func:`rank_one_collapse` treat the
  unconstrained flow: its fixed points (the kernel of ``C``), their
  linearisation, and ``e^{Ct} W0 / e^{lam_1 t} -> e_1 e_1^T W0`` as a sympy limit.
- :mod:`grassdyn.symbolic.predictor` (SimSiam and BYOL with a linear
  predictor, Tian, Chen & Ganguli 2021): :func:`matrix_dynamics` from the
  loss with a stop-gradient, :func:`eigenmode_ode`, :func:`weight_decay_threshold`,
  :func:`fixed_points` and :func:`stability_table` as functions of weight
  decay, predictor learning-rate ratio and EMA rate.
- :func:`barlow_twins_modes` derives the logistic mode equation of Barlow
  Twins' unconstrained flow from an aligned small start, its solution and
  step time (Simon et al. 2023; :mod:`grassdyn.symbolic.stepwise`).
- :func:`verify_solution` checks a candidate closed form against an
  :class:`ODE` by simplifying the residual, with a high-precision numeric spot
  check when simplification does not reach zero. The shipped examples
  (:func:`angle_solution`, :func:`projector_solution`,
  :func:`naive_solution`, :func:`sqrt_frame_candidate`) return
  :class:`ClosedForm` objects that verify themselves and ``lambdify`` to
  numpy functions comparable with :mod:`grassdyn.flows`.

Every result has ``to_latex()``.

Indices are 0-based in Python (``.indices``) and 1-based in LaTeX and in
symbol names (``x_{j,i}``, ``lambda_1``), as in the mathematics.

Safety
------
Strings are never parsed: ``sympy.sympify`` and ``parse_expr`` evaluate
Python code, so a string reaching them is a code-execution hole. Every
function here accepts sympy objects and numbers (``int``, ``float``,
``fractions.Fraction``, numpy scalars and arrays) only, and raises
``TypeError`` for ``str`` or ``bytes``. Build expressions with
``sympy.symbols`` instead. Integers and Rationals stay exact; a float becomes
a ``sympy.Float`` holding exactly its binary64 value, so the signs that decide
a classification are exact (a difference of two floats is correctly rounded,
hence zero only for equal floats). A repeated eigenvalue is recognised by
exact equality: pass it as the same number or symbol. The one exception is
:func:`critical_points`: floats equal up to rounding (``0.1 + 0.2`` and
``0.3``) are taken as a repeated eigenvalue, with a warning, and ``tol=``
sets the tie tolerance (``tol=0``: exact). Symbolic spectra are taken as
descending; an order sympy can disprove (``[a, a + 1]``, ``[a, b, a]``) is
refused, one it cannot decide is the stated assumption of the result.

References
----------
.. [YHM94] W.-Y. Yan, U. Helmke, J. B. Moore, "Global analysis of Oja's flow
   for neural networks", IEEE Trans. Neural Netw. 5 (1994).
.. [AMS08] P.-A. Absil, R. Mahony, R. Sepulchre, *Optimization Algorithms on
   Matrix Manifolds*, Princeton University Press (2008).
.. [EAS98] A. Edelman, T. A. Arias, S. T. Smith, "The geometry of algorithms
   with orthogonality constraints", SIAM J. Matrix Anal. Appl. 20 (1998).
.. [HM94] U. Helmke, J. B. Moore, *Optimization and Dynamical Systems*,
   Springer (1994).
.. [Lev80] B. W. Levinger, "The square root of a 2 x 2 matrix", Math. Mag.
   53 (1980).
"""

from grassdyn.symbolic._common import (
    CLASSIFICATIONS,
    ROUNDING_ULPS,
    SIMPLIFY_MAX_NODES,
    SPOT_DPS,
    SYMBOLIC_MAX_SIZE,
    VERDICTS,
    t_symbol,
)
from grassdyn.symbolic.charts import ChartFlow, Linearization, grassmann_chart, linearize
from grassdyn.symbolic.critical import (
    CollapseLimit,
    CriticalPoint,
    CriticalPoints,
    EuclideanFixedPoints,
    critical_points,
    euclidean_fixed_points,
    rank_one_collapse,
)
from grassdyn.symbolic.examples import (
    ClosedForm,
    angle_solution,
    naive_solution,
    projector_solution,
    sqrt_frame_candidate,
)
from grassdyn.symbolic.predictor import (
    EigenmodeODE,
    FixedPoint,
    MatrixDynamics,
    StabilityRow,
    eigenmode_ode,
    fixed_points,
    matrix_dynamics,
    stability_table,
    weight_decay_threshold,
)
from grassdyn.symbolic.stepwise import StepwiseModes, barlow_twins_modes
from grassdyn.symbolic.verify import ODE, Verification, verify_solution

__all__ = [
    "CLASSIFICATIONS",
    "ODE",
    "ROUNDING_ULPS",
    "SIMPLIFY_MAX_NODES",
    "SPOT_DPS",
    "SYMBOLIC_MAX_SIZE",
    "VERDICTS",
    "ChartFlow",
    "ClosedForm",
    "CollapseLimit",
    "CriticalPoint",
    "CriticalPoints",
    "EigenmodeODE",
    "EuclideanFixedPoints",
    "FixedPoint",
    "Linearization",
    "MatrixDynamics",
    "StabilityRow",
    "StepwiseModes",
    "Verification",
    "angle_solution",
    "barlow_twins_modes",
    "critical_points",
    "eigenmode_ode",
    "euclidean_fixed_points",
    "fixed_points",
    "grassmann_chart",
    "linearize",
    "matrix_dynamics",
    "naive_solution",
    "projector_solution",
    "rank_one_collapse",
    "sqrt_frame_candidate",
    "stability_table",
    "t_symbol",
    "verify_solution",
    "weight_decay_threshold",
]
