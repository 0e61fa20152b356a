"""The flow in a graph chart of Gr(d, h), derived in block-matrix algebra, and linearisation."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp

from grassdyn._validation import as_int
from grassdyn.symbolic._common import _as_matrix, _expr, _latex_list, _sym_matrix


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
