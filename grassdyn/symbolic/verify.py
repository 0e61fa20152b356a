"""Verification of candidate closed-form solutions: simplification and a numeric spot check."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import mpmath
import numpy as np
import sympy as sp

from grassdyn._validation import as_int, as_rng
from grassdyn.symbolic._common import SIMPLIFY_MAX_NODES, SPOT_DPS, _as_matrix, t_symbol


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
