r"""The mode equations of Barlow Twins from a small aligned start, derived from the loss in sympy.

Nothing about the answer is typed in: :func:`barlow_twins_modes` writes the
Barlow Twins loss of :mod:`grassdyn.ssl.redundancy`,
``L = sum_ij omega_ij (W^T Gamma W - I)_ij^2`` with ``Gamma = diag(gamma)``,
``omega = beta 1 1^T + (1 - beta) I`` and a general symbolic ``n x n`` matrix
``W``, differentiates it entry by entry for the unconstrained flow
``dW/dt = -dL/dW`` (docs/conventions.md; gradient-flow time), and then

1. evaluates the vector field on the aligned set ``W = diag(a)``: its
   off-diagonal entries vanish there (the aligned set is invariant, for every
   ``beta``), and its diagonal gives ``da_i/dt``;
2. changes variables to the embedding eigenvalue ``s_i = gamma_i a_i^2``
   (``ds/dt = 2 gamma a da/dt``) and checks the result against the logistic
   equation ``ds/dt = 8 gamma s (1 - s)``;
3. solves that equation with ``sympy.dsolve``, checks the solution with
   :func:`grassdyn.symbolic.verify_solution`, and solves ``s(t) = 1/2`` for the
   step time ``t_step = ln((1 - s0)/s0) / (8 gamma)``.

This is the solution of Simon et al., "On the stepwise nature of
self-supervised learning" (ICML 2023, §4: sigmoidal eigenvalue dynamics from
an aligned small initialisation, step time ``~ ln(1/s0)/(gamma)`` up to the
constant fixed by the loss's normalisation), with the constants of this
package's unnormalised loss; :func:`grassdyn.theory.stepwise` evaluates it.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from grassdyn._validation import as_int
from grassdyn.symbolic._common import t_symbol
from grassdyn.symbolic.verify import ODE, Verification, verify_solution

__all__ = ["StepwiseModes", "barlow_twins_modes"]


@dataclass(frozen=True)
class StepwiseModes:
    """Result of :func:`barlow_twins_modes`.

    Attributes
    ----------
    amplitude_rhs : tuple of sympy expressions
        ``da_i/dt`` on the aligned set, derived from the loss.
    off_diagonal_rhs : sympy.ImmutableMatrix
        The flow's off-diagonal entries on the aligned set (all zero: the set is invariant).
    mode_ode : ODE
        ``ds/dt`` for one mode ``s = gamma a^2``, derived.
    logistic_residual : sympy expression
        ``mode_ode.rhs - 8 gamma s (1 - s)``, simplified (zero).
    solution : sympy expression
        ``s(t)`` from ``dsolve`` with ``s(0) = s0``.
    verification : Verification
        ``solution`` checked against ``mode_ode``.
    step_time : sympy expression
        The ``t`` with ``s(t) = 1/2``.
    symbols : dict
        ``gamma``, ``s``, ``s0``, ``beta``, ``t``.
    """

    amplitude_rhs: tuple[sp.Expr, ...]
    off_diagonal_rhs: sp.ImmutableMatrix
    mode_ode: ODE
    logistic_residual: sp.Expr
    solution: sp.Expr
    verification: Verification
    step_time: sp.Expr
    symbols: dict[str, sp.Symbol]

    @property
    def holds(self) -> bool:
        """The derivation closed: invariant aligned set, logistic mode equation, verified solution."""
        return (all(e == 0 for e in self.off_diagonal_rhs) and self.logistic_residual == 0
                and bool(self.verification) and not self.step_time.has(sp.nan))

    def to_latex(self) -> str:
        g, s0 = self.symbols["gamma"], self.symbols["s0"]
        return (f"{self.mode_ode.to_latex()},\\quad s(t) = {sp.latex(self.solution)},\\quad "
                f"t_{{\\mathrm{{step}}}}({sp.latex(g)}, {sp.latex(s0)}) = {sp.latex(self.step_time)}")


def barlow_twins_modes(n: int = 2) -> StepwiseModes:
    r"""Derive the mode equations of Barlow Twins' unconstrained flow from the loss (see module docstring).

    Parameters
    ----------
    n : int
        Size of the symbolic ``W`` (``n x n``, ``Gamma = diag(gamma_1..gamma_n)``);
        2 or 3 is enough to see every kind of entry.

    Returns
    -------
    StepwiseModes

    Examples
    --------
    >>> modes = barlow_twins_modes(2)
    >>> modes.holds
    True
    >>> modes.mode_ode.rhs[0].factor()
    -8*gamma*s*(s - 1)
    """
    n = as_int(n, "n", minimum=1)
    t = t_symbol
    beta = sp.Symbol("beta", nonnegative=True)
    gam = sp.symbols(f"gamma_1:{n + 1}", positive=True)
    a = sp.symbols(f"a_1:{n + 1}", positive=True)
    W = sp.Matrix(n, n, lambda i, j: sp.Symbol(f"w_{i + 1}{j + 1}", real=True))
    omega = sp.Matrix(n, n, lambda i, j: 1 if i == j else beta)
    D = W.T * sp.diag(*gam) * W - sp.eye(n)
    L = sum(omega[i, j] * D[i, j] ** 2 for i in range(n) for j in range(n))
    flow = sp.Matrix(n, n, lambda i, j: -sp.diff(L, W[i, j]))
    aligned = {W[i, j]: (a[i] if i == j else 0) for i in range(n) for j in range(n)}
    on_set = flow.subs(aligned)
    off = sp.ImmutableMatrix(n, n, lambda i, j: 0 if i == j else sp.simplify(on_set[i, j]))
    amp = tuple(sp.expand(on_set[i, i]) for i in range(n))

    # one mode: s = gamma a^2, ds/dt = 2 gamma a da/dt, rewritten in s (a = sqrt(s / gamma))
    g, s, s0 = sp.symbols("gamma s s0", positive=True)
    a1 = sp.sqrt(s / g)
    ds = sp.simplify(2 * g * a1 * amp[0].subs({gam[0]: g, a[0]: a1}))
    logistic = sp.simplify(ds - 8 * g * s * (1 - s))
    ode = ODE(s, ds, t, name="Barlow Twins mode")

    f = sp.Function("s")
    sol = sp.dsolve(sp.Eq(f(t).diff(t), ds.subs(s, f(t))), f(t), ics={f(0): s0}).rhs
    sol = sp.simplify(sol)
    check = verify_solution(ode, sol, initial=s0, domain={s0: (0.01, 0.4), g: (0.2, 3.0), t: (0.0, 2.0)})
    # s is rational in u = e^{8 gamma t} > 0: solve s = 1/2 for u (one root), then t = ln(u) / (8 gamma)
    u = sp.Symbol("u", positive=True)
    roots = sp.solve(sp.Eq(sol.subs(sp.exp(8 * g * t), u), sp.Rational(1, 2)), u)
    step_time = sp.log(roots[0]) / (8 * g) if len(roots) == 1 else sp.nan
    return StepwiseModes(
        amplitude_rhs=amp,
        off_diagonal_rhs=off,
        mode_ode=ode,
        logistic_residual=logistic,
        solution=sol,
        verification=check,
        step_time=step_time,
        symbols={"gamma": g, "s": s, "s0": s0, "beta": beta, "t": t},
    )
