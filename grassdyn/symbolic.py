r"""Exact fixed points, stability and closed-form checks for the quadratic flows, with sympy.

Conventions (DESIGN.md §1): ``L(W) = -1/2 tr(W^T C W)``, ``C`` symmetric, ``t``
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

from __future__ import annotations

import functools
import itertools
import numbers
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import mpmath
import numpy as np
import sympy as sp
from sympy.assumptions import Q, ask

from grassdyn._validation import as_int, as_rng, as_symmetric

__all__ = [
    "CLASSIFICATIONS",
    "ODE",
    "VERDICTS",
    "ChartFlow",
    "ClosedForm",
    "CollapseLimit",
    "CriticalPoint",
    "CriticalPoints",
    "EuclideanFixedPoints",
    "Linearization",
    "Verification",
    "angle_solution",
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

#: Classes of a fixed point. ``"undetermined"`` is used only when the sign of a
#: linearised eigenvalue does not follow from the stated assumptions.
CLASSIFICATIONS = ("stable", "saddle", "unstable", "non-hyperbolic", "undetermined")

#: Verdicts of :func:`verify_solution`.
VERDICTS = ("solves", "does not solve", "undecided")

#: Residuals with more expression-tree nodes than this are not simplified
#: (``sympy.simplify`` can run for minutes on them); the numeric spot check decides instead.
SIMPLIFY_MAX_NODES = 3000

#: Working precision (decimal digits) of the numeric spot check; it is repeated at
#: twice this precision to tell true non-zero residuals from rounding noise.
SPOT_DPS = 30

#: Gradient-flow time in every shipped ODE and closed form.
t_symbol = sp.Symbol("t", nonnegative=True)


# -- input ------------------------------------------------------------------------------
def _scalar(x: object, name: str) -> sp.Expr:
    """A number or sympy expression as a real sympy scalar; strings are refused, never parsed."""
    if isinstance(x, (str, bytes)):
        raise TypeError(
            f"{name} must be a number or a sympy expression, got a string: grassdyn never parses "
            "strings (sympify evaluates code); build it with sympy.symbols"
        )
    if isinstance(x, bool) or x is None:
        raise TypeError(f"{name} must be a number or a sympy expression, got {x!r}")
    if isinstance(x, sp.Basic):
        if not isinstance(x, sp.Expr) or isinstance(x, sp.MatrixExpr):
            raise TypeError(f"{name} must be a scalar sympy expression, got {type(x).__name__}")
        if x.has(sp.oo, -sp.oo, sp.zoo, sp.nan):
            raise ValueError(f"{name} must be finite, got {x}")
        if x.is_real is False:
            raise ValueError(f"{name} must be real, got {x}")
        return x
    if isinstance(x, numbers.Integral):
        return sp.Integer(int(x))
    if isinstance(x, Fraction):
        return sp.Rational(x.numerator, x.denominator)
    if isinstance(x, numbers.Real):
        value = float(x)
        if not np.isfinite(value):
            raise ValueError(f"{name} must be finite, got {value}")
        return sp.Float(value)
    raise TypeError(f"{name} must be a real number or a sympy expression, got {type(x).__name__}")


def _spectrum(eigenvalues: object, name: str = "eigenvalues") -> tuple[sp.Expr, ...]:
    if isinstance(eigenvalues, (str, bytes)):
        _scalar(eigenvalues, name)
    if isinstance(eigenvalues, sp.MatrixBase):
        items = list(eigenvalues)
    elif isinstance(eigenvalues, np.ndarray):
        if eigenvalues.ndim != 1:
            raise ValueError(f"{name} must be 1-D, got shape {eigenvalues.shape}")
        items = list(eigenvalues)
    elif isinstance(eigenvalues, Sequence):
        items = list(eigenvalues)
    else:
        raise TypeError(f"{name} must be a sequence of numbers or sympy expressions, got "
                        f"{type(eigenvalues).__name__}")
    if not items:
        raise ValueError(f"{name} must not be empty")
    return tuple(_scalar(x, f"{name}[{k}]") for k, x in enumerate(items))


def _sym_matrix(C: object, name: str = "C") -> sp.ImmutableMatrix:
    """A real symmetric square matrix as a sympy matrix (numbers or expressions)."""
    if isinstance(C, (str, bytes)):
        _scalar(C, name)
    if isinstance(C, sp.MatrixBase):
        M = sp.ImmutableMatrix([[_scalar(C[i, j], f"{name}[{i},{j}]") for j in range(C.cols)]
                                for i in range(C.rows)])
    else:
        arr = np.asarray(C, dtype=object)
        if arr.ndim != 2:
            raise ValueError(f"{name} must be a square matrix of shape (d, d), got shape {arr.shape}")
        if all(isinstance(x, numbers.Real) and not isinstance(x, bool) for x in arr.flat):
            # a float matrix symmetric up to round-off is symmetrised, as everywhere in grassdyn
            arr = as_symmetric(np.asarray(arr, dtype=np.float64), name)
        M = sp.ImmutableMatrix([[_scalar(arr[i, j], f"{name}[{i},{j}]") for j in range(arr.shape[1])]
                                for i in range(arr.shape[0])])
    if M.rows != M.cols or M.rows < 1:
        raise ValueError(f"{name} must be a square matrix of shape (d, d), got shape {M.shape}")
    for i, j in itertools.combinations(range(M.rows), 2):
        if sp.simplify(M[i, j] - M[j, i]) != 0:
            raise ValueError(f"{name} must be symmetric: {name}[{i},{j}] = {M[i, j]} differs from "
                             f"{name}[{j},{i}] = {M[j, i]}")
    return M


def _as_matrix(x: object, name: str) -> sp.ImmutableMatrix:
    """A scalar, list or matrix of sympy expressions/numbers as a column or matrix."""
    if isinstance(x, sp.MatrixBase):
        return sp.ImmutableMatrix(x.rows, x.cols, [_expr(v, name) for v in x])
    if isinstance(x, (list, tuple)):
        return sp.ImmutableMatrix([_expr(v, f"{name}[{k}]") for k, v in enumerate(x)])
    return sp.ImmutableMatrix([[_expr(x, name)]])


def _expr(x: object, name: str) -> sp.Expr:
    """Like :func:`_scalar` but without the realness check (vector fields may use any expression)."""
    if isinstance(x, sp.Expr) and not isinstance(x, sp.MatrixExpr):
        return x
    return _scalar(x, name)


def _latex_list(items: Sequence[sp.Expr]) -> str:
    return ", ".join(sp.latex(v) for v in items)


# -- signs under the stated assumptions -------------------------------------------------------
class _SignOracle:
    """Signs of expressions, exact for numbers and decided by sympy's ``ask`` under ``facts``.

    ``real`` maps symbols to real stand-ins: sympy's linear-arithmetic solver
    only uses inequalities between symbols it knows to be real.
    """

    def __init__(
        self,
        facts: sp.Basic | None,
        real: Mapping[sp.Symbol, sp.Symbol] | None = None,
        gaps: Mapping[sp.Symbol, sp.Expr] | None = None,
    ) -> None:
        self.real = dict(real or {})
        self.facts = None if facts is None else facts.xreplace(self.real)
        self.gaps = dict(gaps or {})
        self._cache: dict[sp.Expr, int | None] = {}

    def __call__(self, expr: sp.Expr) -> int | None:
        expr = sp.expand(expr)
        if expr not in self._cache:
            self._cache[expr] = self._decide(expr)
        return self._cache[expr]

    def _decide(self, expr: sp.Expr) -> int | None:
        # fast path: in positive gap variables a difference of eigenvalues has a visible sign
        sign = self._quick(sp.expand(expr.xreplace(self.gaps))) if self.gaps else None
        return sign if sign is not None else self._ask(expr.xreplace(self.real))

    @staticmethod
    def _quick(expr: sp.Expr) -> int | None:
        if expr.is_zero:
            return 0
        if expr.is_positive:
            return 1
        if expr.is_negative:
            return -1
        return None

    def _ask(self, expr: sp.Expr) -> int | None:
        sign = self._quick(expr)
        if sign is not None or self.facts is None:
            return sign
        try:
            for query, sign in ((Q.negative, -1), (Q.positive, 1), (Q.zero, 0)):
                if ask(query(expr), self.facts):
                    return sign
        except ValueError as exc:  # sympy signals contradictory facts this way
            raise ValueError(f"eigenvalues: the assumption {self.facts} is inconsistent ({exc})") from None
        return None


def _classify(signs: Sequence[int | None]) -> str:
    if any(s is None for s in signs):
        return "undetermined"
    if any(s == 0 for s in signs):
        return "non-hyperbolic"
    if all(s < 0 for s in signs):
        return "stable"
    if all(s > 0 for s in signs):
        return "unstable"
    return "saddle"


def _descending_facts(lam: Sequence[sp.Expr]) -> tuple[_SignOracle, str]:
    """A sign oracle encoding 'real, distinct and descending' for symbolic spectra, and its statement."""
    if all(v.is_number for v in lam):
        return _SignOracle(None), "numeric spectrum: signs are exact, no assumption used"
    pairs = [(a, b) for a, b in itertools.pairwise(lam) if sp.simplify(a - b) != 0]
    free = sorted(set().union(*(v.free_symbols for v in lam)), key=str)
    real = {s: sp.Dummy(s.name, real=True) for s in free if not s.is_real}
    facts = sp.And(*[Q.gt(a, b) for a, b in pairs])
    strict = len(pairs) == len(lam) - 1
    gaps = {}
    if strict and all(isinstance(v, sp.Symbol) for v in lam):
        # lam_k = lam_d + g_k + ... + g_{d-1} with g_k = lam_k - lam_{k+1} > 0
        g = [sp.Dummy(f"g{k}", positive=True) for k in range(len(lam) - 1)]
        gaps = {v: lam[-1] + sum(g[k:], sp.Integer(0)) for k, v in enumerate(lam[:-1])}
    chain = (" > " if strict else " \\ge ").join(sp.latex(v) for v in lam)
    text = (f"symbolic eigenvalues taken as real, distinct and in descending order: ${chain}$"
            + ("" if strict else " (entries given as identical are repeated)"))
    return _SignOracle(facts, real, gaps), text


def _clusters(lam: Sequence[sp.Expr]) -> list[list[int]]:
    """Groups of indices whose eigenvalues are identical (exact equality)."""
    groups: list[list[int]] = []
    for k, v in enumerate(lam):
        for g in groups:
            if sp.simplify(lam[g[0]] - v) == 0:
                g.append(k)
                break
        else:
            groups.append([k])
    return groups


# -- the chart: derived once, in block-matrix algebra -------------------------------------------
@dataclass(frozen=True)
class _Derivation:
    X: sp.MatrixSymbol
    C11: sp.MatrixSymbol
    C21: sp.MatrixSymbol
    C22: sp.MatrixSymbol
    rhs: sp.MatrixExpr
    riccati: sp.MatrixExpr
    matches_riccati: bool


@functools.lru_cache(maxsize=1)
def _derive_chart() -> _Derivation:
    """Derive ``dX/dt`` in the graph chart from Oja's flow, for all block sizes at once.

    With rows permuted so that ``I`` comes first, a frame in the chart is
    ``W = [N; X N]`` (``N`` an arbitrary invertible ``h x h`` normalisation,
    e.g. ``(I + X^T X)^{-1/2}`` for an orthonormal one). Along the flow
    ``W' = F(W) = C W - W (W^T C W)`` the chart coordinate ``X(t)`` satisfies
    ``X W_1 = W_2``; its first-order part in ``eps`` along ``X + eps A``,
    ``W + eps F`` is linear in ``A`` as ``A N = B``, so ``A = B N^{-1}``.
    """
    h, m = sp.symbols("h m", integer=True, positive=True)
    X = sp.MatrixSymbol("X", m, h)
    N = sp.MatrixSymbol("N", h, h)
    A = sp.MatrixSymbol("A", m, h)
    C11 = sp.MatrixSymbol("C_{11}", h, h)
    C21 = sp.MatrixSymbol("C_{21}", m, h)
    C22 = sp.MatrixSymbol("C_{22}", m, m)
    C12 = C21.T  # C symmetric
    eps = sp.Dummy("epsilon")
    W1, W2 = N, X * N
    CW1, CW2 = C11 * W1 + C12 * W2, C21 * W1 + C22 * W2
    WtCW = W1.T * CW1 + W2.T * CW2
    F1, F2 = CW1 - W1 * WtCW, CW2 - W2 * WtCW
    chart_condition = (X + eps * A) * (W1 + eps * F1) - (W2 + eps * F2)
    first_order = sp.expand(sp.diff(chart_condition, eps).subs(eps, 0)).doit()
    B = sp.expand(A * N - first_order).doit()
    if B.has(A):
        raise RuntimeError("chart derivation: the first-order condition is not of the form A N = B")
    rhs = sp.expand(B * N.I).doit()
    if rhs.has(N):
        raise RuntimeError("chart derivation: the normalisation N did not cancel")
    riccati = C21 + C22 * X - X * C11 - X * C12 * X
    matches = sp.expand(rhs - riccati).doit() == sp.ZeroMatrix(m, h)
    return _Derivation(X, C11, C21, C22, rhs, riccati, bool(matches))


def _check_subset(indices: object, d: int, name: str = "I") -> tuple[int, ...]:
    if isinstance(indices, (str, bytes)) or not isinstance(indices, (Sequence, np.ndarray)):
        raise TypeError(f"{name} must be a sequence of row indices, got {type(indices).__name__}")
    idx = tuple(as_int(i, f"{name}[{k}]", minimum=0) for k, i in enumerate(indices))
    if any(i >= d for i in idx):
        raise ValueError(f"{name} must hold indices in [0, {d}), got {idx}")
    if len(set(idx)) != len(idx):
        raise ValueError(f"{name} must hold distinct indices, got {idx}")
    if not 1 <= len(idx) < d:
        raise ValueError(f"{name} must hold h indices with 1 <= h < d = {d}, got {len(idx)}")
    return tuple(sorted(idx))


@dataclass(frozen=True)
class ChartFlow:
    r"""Oja's flow in the graph chart around ``span{e_i : i in I}``.

    Attributes
    ----------
    C : sympy.ImmutableMatrix, shape (d, d)
    indices : tuple of int
        ``I`` (sorted, 0-based).
    complement : tuple of int
        The other rows ``J``, in increasing order.
    X : sympy.ImmutableMatrix, shape (d - h, h)
        Chart coordinates ``x_{j,i}`` (1-based names): ``W`` has rows
        ``W[I] = I_h`` and ``W[J] = X`` up to the normalisation.
    rhs : sympy.ImmutableMatrix, shape (d - h, h)
        ``dX/dt``, the derived field with ``C``'s blocks substituted.
    block_form : sympy.MatrixExpr
        The derived field in blocks ``C_{11} = C[I, I]``, ``C_{21} = C[J, I]``,
        ``C_{22} = C[J, J]`` (``C_{12} = C_{21}^T``).
    matches_riccati : bool
        Whether sympy reduced ``block_form - (C21 + C22 X - X C11 - X C12 X)`` to zero.
    """

    C: sp.ImmutableMatrix
    indices: tuple[int, ...]
    complement: tuple[int, ...]
    X: sp.ImmutableMatrix
    rhs: sp.ImmutableMatrix
    block_form: sp.MatrixExpr
    matches_riccati: bool

    @property
    def variables(self) -> list[sp.Symbol]:
        """Chart coordinates in column-major order (``vec X``), the Jacobian's ordering."""
        return list(self.X.T)

    def frame(self, X: np.ndarray) -> np.ndarray:
        """The orthonormal frame of the chart point ``X``, shape ``(d, h)``."""
        Xn = np.asarray(X, dtype=np.float64)
        d, h = self.C.rows, len(self.indices)
        Y = np.zeros((d, h))
        Y[list(self.indices)] = np.eye(h)
        Y[list(self.complement)] = Xn
        Q, R = np.linalg.qr(Y)
        return Q * np.sign(np.diag(R))

    def lambdify(self) -> Callable[..., np.ndarray]:
        """``f(X, **params) -> dX/dt`` as a numpy function, ``X`` of shape ``(d - h, h)``.

        Free symbols of ``C`` are passed by name as keywords.
        """
        params = sorted(self.C.free_symbols, key=str)
        fn = sp.lambdify([self.variables, *params], self.rhs, modules="numpy")
        shape = self.X.shape

        def f(X: np.ndarray, **kwargs: float) -> np.ndarray:
            missing = {p.name for p in params} - set(kwargs)
            if missing or set(kwargs) - {p.name for p in params}:
                raise TypeError(f"pass exactly the parameters {[p.name for p in params]} as keywords")
            x = np.asarray(X, dtype=np.float64)
            if x.shape != shape:
                raise ValueError(f"X must have shape {shape}, got {x.shape}")
            return np.asarray(fn(list(x.T.ravel()), *[kwargs[p.name] for p in params]), dtype=np.float64)

        return f

    def to_latex(self) -> str:
        I = ", ".join(str(i + 1) for i in self.indices)
        return (
            f"% graph chart of Gr(d, h) around span{{e_i : i in {{{I}}}}}, W = [I; X] (rows of I first)\n"
            f"\\dot X = {sp.latex(self.block_form)}, \\qquad "
            f"\\dot X = {sp.latex(self.rhs)}"
        )


def grassmann_chart(C: object, I: Sequence[int]) -> ChartFlow:
    r"""Oja's flow in the graph chart ``W = [I; X]`` around ``span{e_i : i in I}``.

    Parameters
    ----------
    C : sympy Matrix or array_like, shape (d, d)
        Symmetric generator: numbers or sympy expressions.
    I : sequence of int
        ``h`` distinct row indices (0-based), ``1 <= h < d``.

    Returns
    -------
    ChartFlow
        ``rhs`` is ``dX/dt`` as a sympy matrix in the chart coordinates ``X``.

    Notes
    -----
    Derived, not typed in (in block-matrix algebra, once for all sizes): the flow
    ``dW/dt = (I - W W^T) C W`` at ``W = [N; X N]`` moves the chart coordinate
    ``X = W_2 W_1^{-1}`` by the matrix Riccati equation
    ``dX/dt = C21 + C22 X - X C11 - X C12 X`` [YHM94]_, [HM94, Ch. 1]_, for
    every normalisation ``N``; ``matches_riccati`` records sympy's check of
    that form.

    Examples
    --------
    >>> import sympy as sp
    >>> a, b = sp.symbols("a b")
    >>> chart = grassmann_chart(sp.diag(a, b), [0])
    >>> chart.rhs, chart.matches_riccati
    (Matrix([[-a*x_{2,1} + b*x_{2,1}]]), True)
    """
    Cm = _sym_matrix(C)
    d = Cm.rows
    idx = _check_subset(I, d)
    comp = tuple(j for j in range(d) if j not in idx)
    h, m = len(idx), d - len(idx)
    X = sp.ImmutableMatrix(m, h, [sp.Symbol(f"x_{{{j + 1},{i + 1}}}") for j in comp for i in idx])
    der = _derive_chart()
    rhs = der.rhs.xreplace({
        der.X: X,
        der.C11: Cm.extract(list(idx), list(idx)),
        der.C21: Cm.extract(list(comp), list(idx)),
        der.C22: Cm.extract(list(comp), list(comp)),
    }).doit()
    rhs = sp.ImmutableMatrix(sp.Matrix(rhs).applyfunc(sp.expand))
    return ChartFlow(Cm, idx, comp, X, rhs, der.rhs, der.matches_riccati)


# -- linearisation ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Linearization:
    """Jacobian of a vector field at a point and its eigenvalues (with multiplicity)."""

    variables: tuple[sp.Symbol, ...]
    point: tuple[sp.Expr, ...]
    jacobian: sp.ImmutableMatrix
    eigenvalues: tuple[sp.Expr, ...]
    is_fixed_point: bool | None

    def to_latex(self) -> str:
        pairs = zip(self.variables, self.point, strict=True)
        at = ", ".join(f"{sp.latex(v)} = {sp.latex(p)}" for v, p in pairs)
        return (f"J\\big|_{{{at}}} = {sp.latex(self.jacobian)}, \\qquad "
                f"\\operatorname{{spec}} J = \\{{{_latex_list(self.eigenvalues)}\\}}")


def _eigenvalues(J: sp.MatrixBase) -> tuple[sp.Expr, ...]:
    """Eigenvalues with multiplicity: the diagonal of a triangular matrix, else sympy's roots."""
    if J.rows == 0:
        return ()
    if J.is_upper or J.is_lower:
        return tuple(sp.expand(J[k, k]) for k in range(J.rows))
    return tuple(sp.Matrix(J).eigenvals(multiple=True))


def linearize(vector_field: object, point: Mapping[Any, Any]) -> Linearization:
    r"""Jacobian of ``dz/dt = F(z)`` at ``z = point`` and its eigenvalues.

    Parameters
    ----------
    vector_field : sympy Matrix, list of sympy expressions, or expression
        ``F``; a matrix-valued field is read column-major (``vec F``).
    point : mapping
        ``{symbol: value}`` or ``{Matrix of symbols: Matrix of values}``; its
        keys, in order (matrices column-major), are the variables ``z``. There
        must be as many variables as entries of ``F``.

    Returns
    -------
    Linearization
        ``jacobian`` (exact), ``eigenvalues`` with multiplicity (read off the
        diagonal when the Jacobian is triangular, otherwise sympy's
        ``eigenvals``), and ``is_fixed_point`` (``F(point) == 0``, ``None``
        when sympy cannot decide).

    Examples
    --------
    >>> import sympy as sp
    >>> x, y = sp.symbols("x y")
    >>> lin = linearize(sp.Matrix([y, -x - y**3]), {x: 0, y: 0})
    >>> lin.jacobian, sorted(lin.eigenvalues, key=str)
    (Matrix([
    [ 0, 1],
    [-1, 0]]), [-I, I])
    """
    if not isinstance(point, Mapping):
        raise TypeError(f"point must be a mapping from symbols to values, got {type(point).__name__}")
    F = _as_matrix(vector_field, "vector_field")
    F = F.T.reshape(F.rows * F.cols, 1) if F.cols > 1 else F  # vec F: stack columns
    variables: list[sp.Symbol] = []
    values: list[sp.Expr] = []
    for key, value in point.items():
        if isinstance(key, sp.MatrixBase):
            vals = _as_matrix(value, f"point[{key}]")
            if vals.shape != key.shape:
                raise ValueError(f"point: value for a {key.shape} matrix of symbols has shape {vals.shape}")
            keys, vals_list = list(key.T), list(vals.T)
        else:
            keys, vals_list = [key], [_expr(value, f"point[{key}]")]
        for k in keys:
            if not isinstance(k, sp.Symbol):
                raise TypeError(f"point keys must be sympy symbols (or matrices of them), got {k!r}")
        variables += keys
        values += vals_list
    if len(set(variables)) != len(variables):
        raise ValueError("point: each variable may appear only once")
    if len(variables) != F.rows:
        raise ValueError(f"vector_field has {F.rows} entries but point gives {len(variables)} variables")
    subs = dict(zip(variables, values, strict=True))
    J = sp.ImmutableMatrix(F.jacobian(variables).xreplace(subs).applyfunc(sp.expand))
    at = F.xreplace(subs).applyfunc(sp.simplify)
    fixed = True if at.is_zero_matrix else (False if at.is_zero_matrix is False else None)
    return Linearization(tuple(variables), tuple(values), J, _eigenvalues(J), fixed)


# -- critical points of the Grassmannian flow -----------------------------------------------------
@dataclass(frozen=True)
class CriticalPoint:
    r"""The critical point ``span{e_i : i in I}`` of Oja's flow for ``C = diag(lam)``.

    Attributes
    ----------
    indices : tuple of int
        ``I`` (0-based).
    eigenvalues : tuple of sympy.Expr
        Spectrum of the flow linearised in the graph chart at ``X = 0``
        (``h (d - h)`` values, with multiplicity, ordered as ``vec X``).
    index : int or None
        Number of unstable (positive) directions; ``None`` if undetermined.
    classification : str
        One of :data:`CLASSIFICATIONS`.
    critical_dimension : int
        Dimension of the critical set through this point: 0 if isolated,
        ``sum j (m - j)`` over repeated eigenvalues otherwise.
    jacobian : sympy.ImmutableMatrix, shape (h (d - h), h (d - h))
        Of the chart field at ``X = 0``, in ``vec X`` (column-major) coordinates.
    assumptions : str
        What the signs rest on (the descending order for symbolic spectra).
    d : int
        Ambient dimension.
    """

    indices: tuple[int, ...]
    eigenvalues: tuple[sp.Expr, ...]
    index: int | None
    classification: str
    critical_dimension: int
    jacobian: sp.ImmutableMatrix
    assumptions: str
    d: int

    @property
    def frame(self) -> sp.ImmutableMatrix:
        """The coordinate frame ``[e_i for i in I]``, shape ``(d, h)``."""
        return sp.ImmutableMatrix(sp.eye(self.d).extract(list(range(self.d)), list(self.indices)))

    def to_latex(self) -> str:
        return CriticalPoints((self,), self.d, len(self.indices), self.assumptions).to_latex()


@dataclass(frozen=True)
class CriticalPoints(Sequence[CriticalPoint]):
    """All critical points of Oja's flow for ``C = diag(eigenvalues)``: a list of :class:`CriticalPoint`."""

    points: tuple[CriticalPoint, ...]
    d: int
    h: int
    assumptions: str

    def __len__(self) -> int:
        return len(self.points)

    def __iter__(self) -> Iterator[CriticalPoint]:
        return iter(self.points)

    def __getitem__(self, k: Any) -> Any:
        return self.points[k]

    def by_indices(self, I: Sequence[int]) -> CriticalPoint:
        """The critical point of the index set ``I``."""
        key = tuple(sorted(I))
        for p in self.points:
            if p.indices == key:
                return p
        raise KeyError(f"no critical point with indices {key}")

    def to_latex(self) -> str:
        """A LaTeX table (subset, spectrum, index, class) with the assumptions as a caption."""
        rows = []
        for p in self.points:
            subset = "\\{" + ", ".join(str(i + 1) for i in p.indices) + "\\}"
            spec = _latex_list(p.eigenvalues)
            cls = p.classification + (f" (critical set of dim. {p.critical_dimension})"
                                       if p.critical_dimension else "")
            idx = "?" if p.index is None else str(p.index)
            rows.append(f"${subset}$ & ${spec}$ & {idx} & {cls} \\\\")
        return "\n".join([
            "\\begin{table}",
            "\\centering",
            "\\begin{tabular}{llrl}",
            "$I$ & spectrum of the linearisation & index & class \\\\",
            "\\hline",
            *rows,
            "\\end{tabular}",
            f"\\caption{{Critical points $\\mathrm{{span}}\\{{e_i : i \\in I\\}}$ of "
            f"$\\dot W = (I - WW^\\top) C W$ on $\\mathrm{{Gr}}({self.d}, {self.h})$, "
            f"$C = \\mathrm{{diag}}(\\lambda)$, linearised in the graph chart. "
            f"Assumption: {self.assumptions}.}}",
            "\\end{table}",
        ])


def critical_points(eigenvalues: Sequence[Any], h: int) -> CriticalPoints:
    r"""Critical points of Oja's flow for ``C = diag(eigenvalues)`` and their stability.

    Parameters
    ----------
    eigenvalues : sequence of numbers or sympy expressions, length d
        The diagonal of ``C``. Symbolic entries are taken as real, distinct
        and in descending order (entries given as the identical expression
        count as repeated); the result's ``assumptions`` says so.
    h : int
        Subspace dimension, ``1 <= h < d``.

    Returns
    -------
    CriticalPoints
        One :class:`CriticalPoint` per h-subset ``I`` (lexicographic order).

    Notes
    -----
    For each ``I`` the flow is written in the graph chart around
    ``span{e_i : i in I}`` (:func:`grassmann_chart`) and linearised at
    ``X = 0`` (:func:`linearize`); the spectrum is whatever that derivation
    gives (for distinct eigenvalues it is ``lam_j - lam_i``, ``i in I``,
    ``j not in I`` [YHM94]_). Signs are exact for numbers and decided by
    ``sympy.ask`` from the descending order for symbols. Convention: stable
    means all eigenvalues negative, which for a distinct descending spectrum
    is the top-h eigenspace only. A zero eigenvalue (a repeated eigenvalue
    split between ``I`` and its complement) makes the point
    ``"non-hyperbolic"``: it lies on a critical manifold of dimension
    ``critical_dimension`` (a product of Grassmannians ``Gr(m, j)``).

    Examples
    --------
    >>> pts = critical_points([3, 2, 1], 1)
    >>> [(p.indices, p.eigenvalues, p.classification) for p in pts]
    [((0,), (-1, -2), 'stable'), ((1,), (1, -1), 'saddle'), ((2,), (2, 1), 'unstable')]
    >>> critical_points([2, 2, 1], 1)[0].classification, critical_points([2, 2, 1], 1)[0].critical_dimension
    ('non-hyperbolic', 1)
    """
    lam = _spectrum(eigenvalues)
    d = len(lam)
    h = as_int(h, "h", minimum=1)
    if h >= d:
        raise ValueError(f"h must satisfy 1 <= h < d = {d}, got h = {h}")
    sign, text = _descending_facts(lam)
    clusters = _clusters(lam)
    C = sp.diag(*lam)
    points = []
    for I in itertools.combinations(range(d), h):
        chart = grassmann_chart(C, I)
        lin = linearize(chart.rhs, {chart.X: sp.zeros(*chart.X.shape)})
        signs = [sign(v) for v in lin.eigenvalues]
        index = None if any(s is None for s in signs) else sum(s > 0 for s in signs)
        dim = sum(len(set(g) & set(I)) * len(set(g) - set(I)) for g in clusters)
        points.append(CriticalPoint(I, lin.eigenvalues, index, _classify(signs), dim, lin.jacobian, text, d))
    return CriticalPoints(tuple(points), d, h, text)


# -- the unconstrained flow ---------------------------------------------------------------------
@dataclass(frozen=True)
class EuclideanFixedPoints:
    """Fixed points of ``dW/dt = C W``: ``W`` with columns in ``ker C``, and their stability.

    Attributes
    ----------
    kernel : tuple of sympy.ImmutableMatrix
        A basis of ``ker C`` (empty for invertible ``C``: only ``W = 0``).
    dimension : int
        Dimension of the fixed set ``{W : C W = 0}``, ``h dim ker C``.
    jacobian : sympy.ImmutableMatrix, shape (d h, d h)
        Of ``vec W -> vec(C W)`` (``I_h (x) C``).
    eigenvalues : tuple of sympy.Expr
        Its spectrum: each eigenvalue of ``C`` ``h`` times.
    index, classification, assumptions
        As in :class:`CriticalPoint` (the same at every fixed point: the
        flow is linear).
    """

    kernel: tuple[sp.ImmutableMatrix, ...]
    dimension: int
    jacobian: sp.ImmutableMatrix
    eigenvalues: tuple[sp.Expr, ...]
    index: int | None
    classification: str
    assumptions: str

    def to_latex(self) -> str:
        ker = ("\\{0\\}" if not self.kernel else
               "\\mathrm{span}\\{" + _latex_list([v.T for v in self.kernel]) + "\\}")
        return (f"\\dot W = C W:\\ \\text{{fixed points }} \\{{W : \\mathrm{{col}}(W) \\subseteq \\ker C\\}},"
                f"\\ \\ker C = {ker},\\ \\dim = {self.dimension};\\ "
                f"\\operatorname{{spec}} = \\{{{_latex_list(self.eigenvalues)}\\}}\\ "
                f"(\\text{{{self.classification}}}, \\text{{index }} "
                f"{'?' if self.index is None else self.index})"
                f"\\quad \\text{{Assumption: }} \\text{{{self.assumptions}}}")


def euclidean_fixed_points(eigenvalues: Sequence[Any], h: int) -> EuclideanFixedPoints:
    r"""Fixed points and stability of the unconstrained flow ``dW/dt = C W``, ``C = diag(eigenvalues)``.

    Parameters
    ----------
    eigenvalues : sequence of numbers or sympy expressions, length d
    h : int
        Number of columns of ``W``, ``>= 1``.

    Returns
    -------
    EuclideanFixedPoints

    Notes
    -----
    ``C W = 0`` is linear in ``W``: the fixed set is ``{W : col(W) in ker C}``,
    only ``W = 0`` for invertible ``C``. The linearisation is the flow
    itself, ``vec W -> (I_h (x) C) vec W`` [HM94]_, so the origin is stable
    iff ``C`` is negative definite; for a positive definite generator (as in
    SSL) every trajectory grows, fastest along the top eigenvector. Symbolic
    eigenvalues are treated by sympy as generic (non-zero) when the kernel is
    computed; their signs follow only from sympy assumptions on the symbols
    (e.g. ``positive=True``), otherwise the class is ``"undetermined"``.

    Examples
    --------
    >>> fp = euclidean_fixed_points([2, 1, 0], 2)
    >>> fp.dimension, fp.eigenvalues, fp.classification
    (2, (2, 1, 0, 2, 1, 0), 'non-hyperbolic')
    """
    lam = _spectrum(eigenvalues)
    d = len(lam)
    h = as_int(h, "h", minimum=1)
    C = sp.diag(*lam)
    W = _frame_symbols("w", d, h, real=False)
    lin = linearize(C * W, {W: sp.zeros(d, h)})
    kernel = tuple(sp.ImmutableMatrix(v) for v in C.nullspace())
    numeric = all(v.is_number for v in lam)
    text = ("numeric spectrum: signs are exact, no assumption used" if numeric else
            "symbolic eigenvalues generic (non-zero) for the kernel; signs only from the symbols' "
            "own sympy assumptions")
    sign = _SignOracle(None)
    signs = [sign(v) for v in lin.eigenvalues]
    index = None if any(s is None for s in signs) else sum(s > 0 for s in signs)
    return EuclideanFixedPoints(kernel, h * len(kernel), lin.jacobian, lin.eigenvalues, index,
                                _classify(signs), text)


@dataclass(frozen=True)
class CollapseLimit:
    r"""``lim_{t -> oo} e^{Ct} W0 / e^{lam_1 t}`` for the unconstrained flow.

    Attributes
    ----------
    W0 : sympy.ImmutableMatrix, shape (d, h)
    scaled : sympy.ImmutableMatrix, shape (d, h)
        ``e^{-lam_1 t} e^{Ct} W0``.
    limit : sympy.ImmutableMatrix, shape (d, h)
        Its limit, computed by ``sympy.limit`` entrywise.
    is_e1e1T_W0 : bool
        Whether the limit equals ``e_1 e_1^T W0`` exactly.
    rank : int
        Rank of the limit (1 for generic ``W0``): dimension collapse.
    assumptions : str
    """

    W0: sp.ImmutableMatrix
    scaled: sp.ImmutableMatrix
    limit: sp.ImmutableMatrix
    is_e1e1T_W0: bool
    rank: int
    assumptions: str

    def to_latex(self) -> str:
        return (f"\\lim_{{t\\to\\infty}} {sp.latex(self.scaled)} = {sp.latex(self.limit)}"
                f"\\ (\\operatorname{{rank}} = {self.rank})\\quad \\text{{Assumption: {self.assumptions}}}")


def rank_one_collapse(eigenvalues: Sequence[Any], h: int, W0: object = None) -> CollapseLimit:
    r"""Dimension collapse of ``dW/dt = C W``: ``e^{Ct} W0 / e^{lam_1 t} -> e_1 e_1^T W0``.

    Parameters
    ----------
    eigenvalues : sequence, length d >= 2
        All numbers (with ``lam_1`` strictly largest), or all sympy symbols,
        taken as distinct and descending (``lam_1 > lam_k`` is encoded by
        writing ``lam_k = lam_1 - g_k`` with positive gap symbols ``g_k``).
    h : int
        Columns of ``W``, ``>= 1``.
    W0 : sympy Matrix, shape (d, h), optional
        Initial matrix; by default a matrix of symbols ``w_{r,c}``.

    Returns
    -------
    CollapseLimit

    Notes
    -----
    ``W(t) = e^{Ct} W0`` [HM94]_; its entries in row ``k`` scale as
    ``e^{(lam_k - lam_1) t}``, so every column turns to ``e_1``: for h >= 2
    the columns become parallel (DESIGN.md §1, dimension collapse).

    Examples
    --------
    >>> res = rank_one_collapse([2, 1], 2)
    >>> res.limit, res.rank, res.is_e1e1T_W0
    (Matrix([
    [w_{1,1}, w_{1,2}],
    [      0,       0]]), 1, True)
    """
    lam = _spectrum(eigenvalues)
    d = len(lam)
    h = as_int(h, "h", minimum=1)
    if d < 2:
        raise ValueError(f"eigenvalues must have length d >= 2, got {d}")
    t = t_symbol
    if all(v.is_number for v in lam):
        if any(not (lam[0] > v) for v in lam[1:]):
            raise ValueError(f"eigenvalues: the first must be strictly the largest, got {lam}")
        subs: dict[sp.Expr, sp.Expr] = {}
        text = "numeric spectrum with a strictly largest first eigenvalue"
    elif all(isinstance(v, sp.Symbol) for v in lam) and len(set(lam)) == d:
        gaps = [sp.Symbol(f"g_{k + 1}", positive=True) for k in range(1, d)]
        subs = {lam[k]: lam[0] - gaps[k - 1] for k in range(1, d)}
        text = "symbolic eigenvalues distinct and descending: " + ", ".join(
            f"{lam[0]} - {lam[k]} = g_{k + 1} > 0" for k in range(1, d))
    else:
        raise ValueError("eigenvalues must be all numbers or all distinct sympy symbols")
    if W0 is None:
        W = _frame_symbols("w", d, h, real=False)
    else:
        W = _as_matrix(W0, "W0")
        if W.shape != (d, h):
            raise ValueError(f"W0 must have shape ({d}, {h}), got {W.shape}")
    scaled = sp.ImmutableMatrix(sp.diag(*[sp.exp((v - lam[0]) * t) for v in lam]) * W)
    limit = sp.ImmutableMatrix(scaled.xreplace(subs).applyfunc(lambda e: sp.limit(e, t, sp.oo)))
    e1 = sp.eye(d)[:, 0]
    is_proj = (limit - e1 * e1.T * W).applyfunc(sp.simplify).is_zero_matrix
    return CollapseLimit(W, scaled, limit, bool(is_proj), sp.Matrix(limit).rank(), text)


# -- closed-form verification ----------------------------------------------------------------------
@dataclass(frozen=True)
class ODE:
    r"""An ODE ``d state / dt = rhs`` in sympy objects.

    Attributes
    ----------
    state : sympy Symbol or Matrix of Symbols
        The unknown; entries that are the same symbol (e.g. a symmetric
        projector's ``p_{ij} = p_{ji}``) are one unknown.
    rhs : sympy expression or Matrix of the state's shape
        In the state's symbols, ``t`` and parameters.
    t : sympy Symbol
        Time.
    name : str
        Label for LaTeX.
    """

    state: Any
    rhs: Any
    t: sp.Symbol = t_symbol
    name: str = ""

    def __post_init__(self) -> None:
        state = _as_matrix(self.state, "state")
        rhs = _as_matrix(self.rhs, "rhs")
        if any(not isinstance(s, sp.Symbol) for s in state):
            raise TypeError("state must be a sympy Symbol or a Matrix of Symbols")
        if rhs.shape != state.shape:
            raise ValueError(f"rhs must have the state's shape {state.shape}, got {rhs.shape}")
        if not isinstance(self.t, sp.Symbol):
            raise TypeError(f"t must be a sympy Symbol, got {type(self.t).__name__}")
        object.__setattr__(self, "state", state)
        object.__setattr__(self, "rhs", rhs)

    def to_latex(self) -> str:
        lhs = sp.latex(self.state[0] if self.state.shape == (1, 1) else self.state)
        rhs = sp.latex(self.rhs[0] if self.rhs.shape == (1, 1) else self.rhs)
        label = f"% {self.name}\n" if self.name else ""
        return f"{label}\\frac{{d}}{{d{sp.latex(self.t)}}} {lhs} = {rhs}"


@dataclass(frozen=True)
class Verification:
    """Result of :func:`verify_solution`.

    Attributes
    ----------
    residual : sympy.ImmutableMatrix
        ``d candidate/dt - rhs(candidate)``, simplified as far as sympy went.
    verdict : str
        ``"solves"`` (residual simplified to zero), ``"does not solve"`` (a
        spot value is clearly non-zero) or ``"undecided"`` (not simplified to
        zero, but zero to working precision at every spot point).
    max_spot_residual : float or None
        Largest ``|residual|`` over the spot points (``None`` if not needed).
    spot_points : tuple of dict
        The points (symbol name -> value) used by the spot check.
    initial_residual : sympy.ImmutableMatrix or None
        ``candidate(0) - initial`` when ``initial`` was given.
    """

    residual: sp.ImmutableMatrix
    verdict: str
    max_spot_residual: float | None
    spot_points: tuple[dict[str, float], ...]
    initial_residual: sp.ImmutableMatrix | None = None

    def __bool__(self) -> bool:
        return self.verdict == "solves"

    def to_latex(self) -> str:
        res = self.residual[0] if self.residual.shape == (1, 1) else self.residual
        spot = ("" if self.max_spot_residual is None else
                f", \\ \\max_{{\\text{{spot}}}} |r| = {self.max_spot_residual:.3g}")
        return f"r = \\dot y - f(y) = {sp.latex(res)}\\quad (\\text{{{self.verdict}}}{spot})"


def _size(e: sp.Basic) -> int:
    """Number of nodes of the expression tree (``count_ops`` is itself slow on large trees)."""
    return sum(1 for _ in sp.preorder_traversal(e))


def _simplify(e: sp.Expr) -> sp.Expr:
    if _size(e) > SIMPLIFY_MAX_NODES:
        return e
    e = sp.cancel(sp.together(e))
    if e == 0 or _size(e) > SIMPLIFY_MAX_NODES:
        return e
    return sp.simplify(e)


def _spot_values(free: Sequence[sp.Symbol], domain: Mapping[sp.Symbol, tuple[float, float]],
                 rng: np.random.Generator) -> list[float]:
    values = []
    for s in free:
        if s in domain:
            lo, hi = domain[s]
        elif s.is_nonnegative or s.is_positive:
            lo, hi = 0.25, 1.5
        else:
            lo, hi = -1.5, 1.5
        values.append(float(rng.uniform(lo, hi)))
    return values


def _evaluate(fn: Callable[..., Any], values: Sequence[float], dps: int) -> list[Any]:
    with mpmath.workdps(dps):
        return [mpmath.mpmathify(v) for v in fn(*[mpmath.mpf(v) for v in values])]


def verify_solution(
    ode: ODE,
    candidate: object,
    *,
    initial: object = None,
    domain: Mapping[sp.Symbol, tuple[float, float]] | None = None,
    n_points: int = 4,
    rng: object = 0,
) -> Verification:
    r"""Check whether ``candidate(t)`` solves ``ode``.

    Parameters
    ----------
    ode : ODE
    candidate : sympy expression or Matrix of the state's shape
        A function of ``ode.t`` and parameters.
    initial : optional
        The initial value; then ``candidate(0) - initial`` must vanish too.
    domain : mapping, optional
        ``{symbol: (low, high)}`` ranges for the spot check (default: ``t`` and
        non-negative symbols in ``[0.25, 1.5]``, others in ``[-1.5, 1.5]``).
    n_points : int
        Number of random spot points.
    rng : numpy Generator, int or None
        Seed of the spot points (default 0, reproducible).

    Returns
    -------
    Verification

    Notes
    -----
    The residual ``r = d candidate/dt - rhs(candidate)`` is put over a common
    denominator and simplified (skipped above :data:`SIMPLIFY_MAX_NODES`
    nodes). If it does not reduce to zero, it is evaluated at random
    points in mpmath at :data:`SPOT_DPS` and at twice that many digits: a
    value that does not change when the precision doubles (and exceeds
    ``10^-SPOT_DPS``) is a true non-zero, and the verdict is "does not
    solve"; rounding noise shrinks with the precision, and then the verdict
    is "undecided" (zero to working precision, not proven).

    Examples
    --------
    >>> import sympy as sp
    >>> y, a = sp.Symbol("y"), sp.Symbol("a")
    >>> ode = ODE(y, a * y)
    >>> verify_solution(ode, sp.exp(a * ode.t)).verdict
    'solves'
    >>> verify_solution(ode, sp.exp(2 * a * ode.t)).verdict
    'does not solve'
    """
    if not isinstance(ode, ODE):
        raise TypeError(f"ode must be a grassdyn.symbolic.ODE, got {type(ode).__name__}")
    cand = _as_matrix(candidate, "candidate")
    if cand.shape != ode.state.shape:
        raise ValueError(f"candidate must have the state's shape {ode.state.shape}, got {cand.shape}")
    n_points = as_int(n_points, "n_points", minimum=1)
    gen = as_rng(rng)
    mapping: dict[sp.Symbol, sp.Expr] = {}
    for s, c in zip(ode.state, cand, strict=True):
        if s in mapping and sp.simplify(mapping[s] - c) != 0:
            raise ValueError(f"candidate gives two different values for the state entry {s}")
        mapping[s] = c
    derivative = cand.diff(ode.t)
    value = ode.rhs.xreplace(mapping)
    raw = derivative - value
    residual = sp.ImmutableMatrix(raw.applyfunc(_simplify))
    init_res = None
    if initial is not None:
        init = _as_matrix(initial, "initial")
        if init.shape != cand.shape:
            raise ValueError(f"initial must have the state's shape {cand.shape}, got {init.shape}")
        init_res = sp.ImmutableMatrix((cand.subs(ode.t, 0) - init).applyfunc(_simplify))
    pending = [e for e in [*residual, *(init_res if init_res is not None else [])] if e != 0]
    if not pending:
        return Verification(residual, "solves", None, (), init_res)
    free = sorted(set().union(*(e.free_symbols for e in pending)) | {ode.t}, key=str)
    # mpmath with common subexpressions: evalf(subs=...) takes minutes on large residuals
    evaluate = sp.lambdify(free, pending, modules="mpmath", cse=True)
    worst, nonzero, points = 0.0, False, []
    for _ in range(n_points):
        vals = _spot_values(free, domain or {}, gen)
        points.append({s.name: v for s, v in zip(free, vals, strict=True)})
        low, high = (_evaluate(evaluate, vals, dps) for dps in (SPOT_DPS, 2 * SPOT_DPS))
        for a, b in zip(low, high, strict=True):
            worst = max(worst, float(abs(b)))
            # rounding noise shrinks by 10^-SPOT_DPS when the precision doubles; a true value does not
            nonzero |= bool(abs(b) > mpmath.mpf(10) ** (-SPOT_DPS) and abs(a - b) <= 1e-6 * abs(b))
    verdict = "does not solve" if nonzero else "undecided"
    return Verification(residual, verdict, worst, tuple(points), init_res)


# -- shipped closed forms -------------------------------------------------------------------------
@dataclass(frozen=True)
class ClosedForm:
    """A candidate closed-form solution of an ODE, with its parameters.

    Attributes
    ----------
    ode : ODE
    candidate : sympy expression or Matrix
    arguments : dict
        Parameter groups, name -> tuple of symbols (e.g. ``"eigenvalues"``,
        ``"W0"`` as a Matrix read row-major), the keyword arguments of
        :meth:`lambdify`'s function.
    description : str
    domain : dict
        Spot-check ranges passed to :func:`verify_solution`.
    """

    ode: ODE
    candidate: Any
    arguments: Mapping[str, Any]
    description: str
    domain: Mapping[sp.Symbol, tuple[float, float]] = field(default_factory=dict)

    def verify(self, **kwargs: Any) -> Verification:
        """:func:`verify_solution` of the candidate against the ODE."""
        return verify_solution(self.ode, self.candidate, domain=self.domain, **kwargs)

    def lambdify(self) -> Callable[..., np.ndarray]:
        """``f(t, **arguments) -> candidate(t)`` as numpy, shape ``(T, *state shape)``.

        Scalar states give shape ``(T,)``. Matrix-valued arguments are passed
        as arrays of their shape.
        """
        groups = {name: _as_matrix(syms, name) for name, syms in self.arguments.items()}
        symbols = [s for g in groups.values() for s in g]
        cand = _as_matrix(self.candidate, "candidate")
        fns = [sp.lambdify([self.ode.t, *symbols], e, modules="numpy") for e in cand]
        scalar = cand.shape == (1, 1)

        def f(t: Any, **kwargs: Any) -> np.ndarray:
            if set(kwargs) != set(groups):
                raise TypeError(f"pass exactly the arguments {sorted(groups)} as keywords")
            tt = np.atleast_1d(np.asarray(t, dtype=np.float64))
            flat = []
            for name, g in groups.items():
                arr = np.asarray(kwargs[name], dtype=np.float64)
                if arr.size != len(g):
                    raise ValueError(f"{name} must have {len(g)} entries (shape {g.shape}), got {arr.shape}")
                flat += list(arr.reshape(g.shape).ravel())
            with np.errstate(over="raise", invalid="raise"):
                cols = [np.broadcast_to(np.asarray(fn(tt, *flat), dtype=np.float64), tt.shape) for fn in fns]
            out = np.stack(cols, axis=-1).reshape(tt.shape + cand.shape)
            return out[..., 0, 0] if scalar else out

        return f

    def to_latex(self) -> str:
        cand = _as_matrix(self.candidate, "candidate")
        state = self.ode.state
        lhs = sp.latex(state[0] if state.shape == (1, 1) else state)
        rhs = sp.latex(cand[0] if cand.shape == (1, 1) else cand)
        return f"% {self.description}\n{self.ode.to_latex()}, \\qquad {lhs}(t) = {rhs}"


def _eigen_symbols(d: int) -> tuple[sp.Symbol, ...]:
    return sp.symbols(f"lambda_1:{d + 1}", real=True)


def _frame_symbols(prefix: str, d: int, h: int, *, real: bool = True) -> sp.ImmutableMatrix:
    """Symbols ``prefix_{r,c}`` (1-based) as a ``d x h`` matrix."""
    return sp.ImmutableMatrix(d, h, [sp.Symbol(f"{prefix}_{{{r + 1},{c + 1}}}", real=real)
                                     for r in range(d) for c in range(h)])


def _oja(C: sp.MatrixBase, W: sp.MatrixBase) -> sp.Matrix:
    return (sp.eye(C.rows) - W * W.T) * C * W


def angle_solution() -> ClosedForm:
    r"""Gr(1, 2): ``tan theta(t) = tan theta0 e^{-(lam_1 - lam_2) t}``.

    The angle ODE is derived here from Oja's flow: with
    ``w = (cos theta, sin theta)`` and ``C = diag(lam_1, lam_2)``,
    ``d theta/dt = <(I - w w^T) C w, dw/dtheta>``
    ``= -(lam_1 - lam_2) sin theta cos theta`` (``|dw/dtheta| = 1``).
    ``theta`` is the angle to ``e_1``, the top eigenvector.

    Examples
    --------
    >>> angle_solution().verify().verdict
    'solves'
    """
    theta, theta0 = sp.symbols("theta theta_0", real=True)
    l1, l2 = _eigen_symbols(2)
    w = sp.Matrix([sp.cos(theta), sp.sin(theta)])
    # factor, not simplify: keeping sin*cos (not sin(2 theta)/2) lets sin(atan u) evaluate in the check
    rhs = sp.factor(sp.expand((_oja(sp.diag(l1, l2), w).T * w.diff(theta))[0]))
    ode = ODE(theta, rhs, name="angle to e_1 on Gr(1, 2) under Oja's flow")
    cand = sp.atan(sp.tan(theta0) * sp.exp(-(l1 - l2) * ode.t))
    return ClosedForm(ode, cand, {"eigenvalues": (l1, l2), "theta0": (theta0,)},
                      "Gr(1,2): tan(theta) = tan(theta0) exp(-(lambda_1 - lambda_2) t)",
                      {theta0: (-1.2, 1.2)})


def projector_solution(d: int) -> ClosedForm:
    r"""Projector closed form ``P(t) = y y^T / (y^T y)``, ``y = e^{Ct} w0``, of the Riccati equation (h = 1).

    ``dP/dt = CP + PC - 2PCP`` [YHM94]_ with ``C = diag(lambda_1..lambda_d)``
    and ``w0`` a vector of symbols (any non-zero ``w0``: ``P`` depends only on
    its span). Only ``h = 1``: for ``h >= 2`` the inverse Gram matrix
    ``(Y^T Y)^{-1}`` makes the residual too large for sympy to simplify in
    reasonable time.

    Examples
    --------
    >>> projector_solution(2).verify().verdict
    'solves'
    """
    d = as_int(d, "d", minimum=2)
    lam = _eigen_symbols(d)
    C = sp.diag(*lam)
    P = sp.ImmutableMatrix(d, d, lambda i, j: sp.Symbol(f"p_{{{min(i, j) + 1},{max(i, j) + 1}}}", real=True))
    ode = ODE(P, C * P + P * C - 2 * P * C * P, name="Riccati equation of Oja's flow")
    w0 = _frame_symbols("w", d, 1)
    y = sp.diag(*[sp.exp(v * ode.t) for v in lam]) * w0
    cand = sp.ImmutableMatrix(y * y.T / (y.T * y)[0])
    return ClosedForm(ode, cand, {"eigenvalues": lam, "W0": w0},
                      f"projector closed form of Oja's flow, d = {d}, h = 1")


def naive_solution(d: int, h: int) -> ClosedForm:
    r"""``W(t) = e^{Ct} W0`` solves the unconstrained flow ``dW/dt = C W``, ``C = diag(lambda)``.

    Examples
    --------
    >>> naive_solution(2, 2).verify().verdict
    'solves'
    """
    d = as_int(d, "d", minimum=1)
    h = as_int(h, "h", minimum=1)
    lam = _eigen_symbols(d)
    C = sp.diag(*lam)
    W = _frame_symbols("W", d, h)
    ode = ODE(W, C * W, name="unconstrained flow")
    W0 = _frame_symbols("w", d, h)
    cand = sp.ImmutableMatrix(sp.diag(*[sp.exp(v * ode.t) for v in lam]) * W0)
    return ClosedForm(ode, cand, {"eigenvalues": lam, "W0": W0}, f"naive flow e^(Ct) W0, d = {d}, h = {h}")


def _inv_sqrt_2x2(M: sp.MatrixBase) -> sp.Matrix:
    """``M^{-1/2}`` of a symmetric positive definite 2 x 2 matrix [Lev80]_.

    ``sqrt(M) = (M + s I) / tau`` with ``s = sqrt(det M)``,
    ``tau = sqrt(tr M + 2 s)`` (Cayley-Hamilton), inverted by the adjugate.
    """
    s = sp.sqrt(M.det())
    tau = sp.sqrt(M.trace() + 2 * s)
    root = M + s * sp.eye(2)
    return tau * root.adjugate() / root.det()


def sqrt_frame_candidate(h: int) -> ClosedForm:
    r"""The symmetric-square-root frame ``e^{Ct} W0 (W0^T e^{2Ct} W0)^{-1/2}`` against Oja's frame ODE.

    It is orthonormal and spans ``span(e^{Ct} W0)``, so its projector is the
    projector closed form; but it is not the frame Oja's ODE produces when
    ``h >= 2`` (the two differ by a time-dependent rotation; DESIGN.md §1):
    ``verify()`` gives ``"does not solve"``. For ``h = 1`` the square root is
    the norm, ``O(1)`` has no rotations, and it does solve the ODE.

    Parameters
    ----------
    h : {1, 2}
        ``h = 1``: ``d = 2``, symbolic ``C = diag(lambda_1, lambda_2)`` and
        ``w0``. ``h = 2``: ``d = 3``, symbolic ``C`` and the orthonormal
        ``W0 = [[1, 2], [2, 1], [2, -2]] / 3`` (a generic start: the inverse
        square root of a 2 x 2 matrix has a closed form [Lev80]_).

    Examples
    --------
    >>> sqrt_frame_candidate(1).verify().verdict
    'solves'
    """
    h = as_int(h, "h", minimum=1)
    if h not in (1, 2):
        raise ValueError(f"h must be 1 or 2, got {h}")
    d = h + 1
    lam = _eigen_symbols(d)
    C = sp.diag(*lam)
    W = _frame_symbols("W", d, h)
    ode = ODE(W, _oja(C, W), name="Oja's frame ODE")
    E = sp.diag(*[sp.exp(v * ode.t) for v in lam])
    if h == 1:
        W0 = _frame_symbols("w", d, 1)
        Y = E * W0
        cand = sp.ImmutableMatrix(Y / sp.sqrt((Y.T * Y)[0]))
        args: dict[str, Any] = {"eigenvalues": lam, "W0": W0}
    else:
        W0 = sp.Matrix([[1, 2], [2, 1], [2, -2]]) / 3
        Y = E * W0
        cand = sp.ImmutableMatrix(Y * _inv_sqrt_2x2(Y.T * Y))
        args = {"eigenvalues": lam}
    return ClosedForm(ode, cand, args, f"symmetric-square-root frame, d = {d}, h = {h}",
                      {s: (-1.0, 1.0) for s in lam})
