"""Shared inputs of the symbolic modules: argument parsing, signs under assumptions, constants."""

from __future__ import annotations

import itertools
import numbers
import warnings
from collections.abc import Mapping, Sequence
from fractions import Fraction

import numpy as np
import sympy as sp
from sympy.assumptions import Q, ask

from grassdyn._validation import as_real, as_symmetric, check_steps

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

#: Most entries of a symbolic matrix (or linearised directions over all critical points)
#: that one call builds: sympy's simplification grows much faster than linearly, and a
#: larger request would run for hours rather than fail.
SYMBOLIC_MAX_SIZE = 2000

#: Float eigenvalues closer than this many ulps of the largest are "equal up to
#: rounding" (e.g. ``0.1 + 0.2`` and ``0.3``, 1 ulp apart).
ROUNDING_ULPS = 8

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


def _eigen_symbols(d: int) -> tuple[sp.Symbol, ...]:
    return sp.symbols(f"lambda_1:{d + 1}", real=True)


def _frame_symbols(prefix: str, d: int, h: int, *, real: bool = True) -> sp.ImmutableMatrix:
    """Symbols ``prefix_{r,c}`` (1-based) as a ``d x h`` matrix."""
    return sp.ImmutableMatrix(d, h, [sp.Symbol(f"{prefix}_{{{r + 1},{c + 1}}}", real=real)
                                     for r in range(d) for c in range(h)])


def _check_size(size: int, what: str) -> None:
    """Refuse a symbolic computation over more than :data:`SYMBOLIC_MAX_SIZE` entries, naming ``what``."""
    check_steps(size, f"{what} (sympy work grows with it)", limit=SYMBOLIC_MAX_SIZE)


def _check_descending(lam: Sequence[sp.Expr], name: str = "eigenvalues") -> None:
    """Refuse a spectrum whose descending order sympy can disprove.

    For every pair ``i < j`` the difference ``lam_i - lam_j`` must not be
    provably negative (under the symbols' own sympy assumptions), and a
    repeated entry (identical expressions) must not be separated by a
    different one (``[a, b, a]`` would force ``a >= b >= a``, so ``b = a``,
    yet ``b`` is a different symbol). What sympy can neither prove nor
    disprove (``a > b`` for free real symbols) stays an assumption, stated in
    the result's ``assumptions``.
    """
    if all(v.is_number for v in lam):
        return
    for i, j in itertools.combinations(range(len(lam)), 2):
        diff = sp.simplify(lam[i] - lam[j])
        if diff == 0:
            between = [k for k in range(i + 1, j) if sp.simplify(lam[k] - lam[i]) != 0]
            if between:
                k = between[0]
                raise ValueError(
                    f"{name} must be in descending order: {name}[{i}] = {lam[i]} and {name}[{j}] = "
                    f"{lam[j]} are identical but {name}[{k}] = {lam[k]} between them is not "
                    "(repeated eigenvalues must be adjacent)"
                )
        elif diff.is_negative or (diff.is_number and bool(diff < 0)):
            raise ValueError(
                f"{name} must be in descending order, but {name}[{i}] = {lam[i]} < {name}[{j}] = "
                f"{lam[j]} ({name}[{i}] - {name}[{j}] = {diff})"
            )


def _merge_float_ties(
    lam: tuple[sp.Expr, ...], tol: object, name: str = "eigenvalues"
) -> tuple[sp.Expr, ...]:
    """Float eigenvalues within ``tol`` of each other replaced by one value (the first), so they tie.

    ``tol=None``: ties are values within :data:`ROUNDING_ULPS` ulps of the
    largest magnitude, and merging them warns (they were probably meant
    equal: ``0.1 + 0.2`` and ``0.3``). ``tol >= 0``: values within ``tol``
    are merged silently; ``tol=0`` keeps every float as given (exact signs).
    Exact entries (integers, rationals, symbols) are never merged.
    """
    floats = [k for k, v in enumerate(lam) if isinstance(v, sp.Float)]
    if len(floats) < 2:
        return lam
    values = {k: float(lam[k]) for k in floats}
    if tol is None:
        scale = max(abs(v) for v in values.values())
        atol = ROUNDING_ULPS * float(np.spacing(scale)) if scale > 0 else 0.0
    else:
        atol = as_real(tol, "tol", low=0.0)
    out = list(lam)
    merged = []
    for a, b in itertools.combinations(floats, 2):
        if out[b] is lam[b] and values[a] != values[b] and abs(values[a] - values[b]) <= atol:
            out[b] = out[a]
            merged.append((a, b))
    if merged and tol is None:
        pairs = ", ".join(f"{name}[{a}] = {values[a]!r} and {name}[{b}] = {values[b]!r}" for a, b in merged)
        warnings.warn(
            f"{pairs} are equal up to rounding (within {ROUNDING_ULPS} ulps): treated as a repeated "
            "eigenvalue; pass tol=0 to keep them distinct, or tol=... to set the tie tolerance",
            UserWarning,
            stacklevel=3,
        )
    return tuple(out)
