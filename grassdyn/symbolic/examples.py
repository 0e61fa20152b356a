"""Shipped closed forms, each verified against its ODE."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy as sp

from grassdyn._validation import as_int
from grassdyn.symbolic._common import _as_matrix, _check_size, _eigen_symbols, _frame_symbols
from grassdyn.symbolic.verify import ODE, Verification, verify_solution


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
    _check_size(d * d, f"d = {d}: a d x d projector of symbols")
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
    if h > d:
        raise ValueError(
            f"h must be <= d (W0 of full column rank, as for the numerical flow), got h = {h} > d = {d}"
        )
    _check_size(d * h, f"d = {d}, h = {h}: a d x h matrix of symbols")
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
    ``h >= 2`` (the two differ by a time-dependent rotation; docs/conventions.md):
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
