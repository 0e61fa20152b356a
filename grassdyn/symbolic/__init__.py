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
exact equality: pass it as the same number or symbol.

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

from grassdyn.symbolic._common import CLASSIFICATIONS, SIMPLIFY_MAX_NODES, SPOT_DPS, VERDICTS, t_symbol
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
from grassdyn.symbolic.stepwise import StepwiseModes, barlow_twins_modes
from grassdyn.symbolic.verify import ODE, Verification, verify_solution

__all__ = [
    "CLASSIFICATIONS",
    "ODE",
    "SIMPLIFY_MAX_NODES",
    "SPOT_DPS",
    "VERDICTS",
    "ChartFlow",
    "ClosedForm",
    "CollapseLimit",
    "CriticalPoint",
    "CriticalPoints",
    "EuclideanFixedPoints",
    "Linearization",
    "StepwiseModes",
    "Verification",
    "angle_solution",
    "barlow_twins_modes",
    "critical_points",
    "euclidean_fixed_points",
    "grassmann_chart",
    "linearize",
    "naive_solution",
    "projector_solution",
    "rank_one_collapse",
    "sqrt_frame_candidate",
    "t_symbol",
    "verify_solution",
]
