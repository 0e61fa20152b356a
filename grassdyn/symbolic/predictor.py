r"""SimSiam and BYOL with a linear predictor: eigenmode ODEs, fixed points and stability, derived with sympy.

Convention and source as :mod:`grassdyn.ssl.predictor` (docs/conventions.md;
Tian, Chen & Ganguli, ICML 2021, arXiv 2102.06810: [TCG21]_): ``f(x) = W^T x``,
predictor ``Wp``, target ``Wa`` behind a stop-gradient, loss
``J = 1/2 tr(Wp W^T Sigma W Wp^T) - tr(Wp W^T M Wa) + 1/2 tr(Wa^T Sigma Wa)``,
weight decay ``eta``, predictor learning-rate ratio ``alpha``, EMA rate
``beta``; ``t`` is gradient-flow time.

What is derived here, and how (nothing below is typed in but the loss):

- :func:`matrix_dynamics` differentiates ``J`` entry by entry in the online
  slots ``W`` and ``Wp`` with the target slot held fixed (the stop-gradient),
  adds weight decay and, for SimSiam, then sets ``Wa = W``; BYOL adds
  ``dWa/dt = beta (W - Wa)``. These are [TCG21]_'s coupled ODEs of the linear model in
  our (transposed) convention.
- :func:`eigenmode_ode` evaluates those matrix fields at an *aligned* state,
  ``Sigma = diag(sigma_i)``, ``M = diag(m_i)`` (``Sigma`` and ``M`` commute,
  as for an :class:`~grassdyn.data.AugmentationModel` with zero mean),
  ``W = E diag(w)``, ``Wp = diag(p)``, ``Wa = E diag(a)`` (``E`` the first
  ``h`` coordinate vectors of ``R^d``, ``d = h + 1``), checks that every entry
  outside that pattern vanishes (the aligned set is invariant) and reads off
  one scalar ODE per mode ``j`` (with ``m = m_j``, ``sigma = sigma_j``):

  .. math::

     \dot p = \alpha\,(m\,a\,w - \sigma w^2 p) - \eta p, \quad
     \dot w = m\,a\,p - \sigma w p^2 - \eta w, \quad
     \dot a = \beta\,(w - a)\ \ (\text{SimSiam: } a = w).

  For SimSiam it changes variables to the eigenvalue ``s = m w^2`` of the
  correlation ``F = W^T M W`` (the paper's ``F = W X W^T``):
  ``ds/dt = 2 s (m p - sigma p^2 - eta)``,
  ``dp/dt = alpha s (1 - (sigma / m) p) - eta p``, which at ``m = 1``,
  ``sigma = 1 + sigma_aug^2`` is the decoupled eigenmode dynamics of [TCG21]_
  (``dp_j/dt``, ``ds_j/dt`` with ``tau = 1``): checked in
  ``EigenmodeODE.matches_paper``. Also derived: the paper's invariant,
  ``d/dt (s - m p^2 / alpha) = -2 eta (s - m p^2 / alpha)``.
- :func:`weight_decay_threshold` is the discriminant condition of
  ``ds/dt = 0`` at ``s != 0``: non-trivial fixed points exist iff
  ``eta <= m^2 / (4 sigma)`` ([TCG21]_: ``eta <= tau^2 / (4 (1 + sigma^2))``
  at ``m = 1``).
- :func:`fixed_points` solves the mode ODE and classifies each fixed point
  by the signs of its linearisation (trace and determinant, or the
  Routh-Hurwitz conditions with BYOL's third variable), exactly for numbers.
  :func:`stability_table` does it for symbolic parameters, writing
  ``eta = (m^2 - r^2) / (4 sigma)`` with ``0 < r < m`` (below the threshold)
  so that ``p = (m +- r) / (2 sigma)`` are rational and every sign is decided.

**Where this differs from [TCG21]_.** (i) The paper models BYOL's target as
``Wa = tau W`` with a fixed ratio ``tau``; here the EMA is a third state
``a`` with rate ``beta``. At any fixed point ``a = w`` (``tau = 1``), so the
fixed points and the threshold ``m^2 / (4 sigma)`` do not depend on
``beta``, and the Routh-Hurwitz conditions show that the non-trivial stable
point stays stable for every ``beta > 0``: the EMA changes the transient, not
the phase diagram (in the paper a smaller ``tau`` shrinks the threshold to
``tau^2 / (4 (1 + sigma^2))``). (ii) Modes are not assumed isotropic: ``m``
and ``sigma`` differ per mode, the ratio ``sigma / m = 1 + (augmentation
variance) / m`` playing the paper's ``1 + sigma^2``. (iii) The linearisation
is in the state variables ``(p, w[, a])``; ``s = m w^2`` identifies ``w`` and
``-w`` (mirror fixed points, same classification).

References
----------
.. [TCG21] Y. Tian, X. Chen, S. Ganguli, "Understanding self-supervised
   learning dynamics without contrastive pairs", ICML 2021, arXiv 2102.06810.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import sympy as sp

from grassdyn._validation import check_choice
from grassdyn.symbolic._common import _expr, _frame_symbols

__all__ = [
    "EigenmodeODE",
    "FixedPoint",
    "MatrixDynamics",
    "StabilityRow",
    "eigenmode_ode",
    "fixed_points",
    "matrix_dynamics",
    "stability_table",
    "weight_decay_threshold",
]

METHODS = ("simsiam", "byol")

#: Mode parameters: ``m`` (eigenvalue of M), ``sigma`` (of Sigma), weight decay, predictor lr ratio, EMA rate.
m_sym, sigma_sym = sp.symbols("m sigma", positive=True)
eta_sym = sp.Symbol("eta", nonnegative=True)
alpha_sym, beta_sym = sp.symbols("alpha beta", positive=True)
p_sym, w_sym, a_sym, s_sym = sp.symbols("p w a s", real=True)


def _tr(A: sp.MatrixBase) -> sp.Expr:
    return A.trace()


@dataclass(frozen=True)
class MatrixDynamics:
    """The matrix ODEs of SimSiam / BYOL for symbolic ``d x h`` matrices, derived from the loss."""

    method: str
    W: sp.ImmutableMatrix
    P: sp.ImmutableMatrix
    A: sp.ImmutableMatrix | None
    Sigma: sp.ImmutableMatrix
    M: sp.ImmutableMatrix
    loss: sp.Expr
    dW: sp.ImmutableMatrix
    dP: sp.ImmutableMatrix
    dA: sp.ImmutableMatrix | None

    def to_latex(self) -> str:
        parts = [f"\\dot W = {sp.latex(self.dW)}", f"\\dot W_p = {sp.latex(self.dP)}"]
        if self.dA is not None:
            parts.append(f"\\dot W_a = {sp.latex(self.dA)}")
        return ",\\quad ".join(parts)


@functools.lru_cache(maxsize=16)
def matrix_dynamics(method: str = "simsiam", d: int = 3, h: int = 2) -> MatrixDynamics:
    r"""Differentiate the loss in its online slots (target held fixed) for diagonal ``Sigma``, ``M``.

    Examples
    --------
    >>> dyn = matrix_dynamics("simsiam", 2, 1)
    >>> dyn.dW.shape, dyn.dP.shape
    ((2, 1), (1, 1))
    """
    check_choice(method, "method", METHODS)
    W = _frame_symbols("w", d, h)
    P = _frame_symbols("p", h, h)
    A = _frame_symbols("a", d, h)
    Sigma = sp.ImmutableMatrix(sp.diag(*sp.symbols(f"sigma_1:{d + 1}", positive=True)))
    M = sp.ImmutableMatrix(sp.diag(*sp.symbols(f"m_1:{d + 1}", positive=True)))
    Z = W * P.T
    J = sp.Rational(1, 2) * _tr(Z.T * Sigma * Z) - _tr(Z.T * M * A) + sp.Rational(1, 2) * _tr(A.T * Sigma * A)
    J = sp.expand(J)
    # the stop-gradient: derivatives in the online slots only, with A an independent symbol
    gW = W.applyfunc(lambda x: sp.diff(J, x))
    gP = P.applyfunc(lambda x: sp.diff(J, x))
    dW = -gW - eta_sym * W
    dP = -alpha_sym * gP - eta_sym * P
    dA = None
    if method == "simsiam":
        same = dict(zip(A, W, strict=True))
        dW, dP = dW.xreplace(same), dP.xreplace(same)
        J = J.xreplace(same)
        A_out = None
    else:
        dA = sp.ImmutableMatrix(beta_sym * (W - A))
        A_out = A
    return MatrixDynamics(
        method, W, P, A_out, Sigma, M, J, sp.ImmutableMatrix(dW.applyfunc(sp.expand)),
        sp.ImmutableMatrix(dP.applyfunc(sp.expand)), dA,
    )


@dataclass(frozen=True)
class EigenmodeODE:
    """One mode's ODE, derived from :func:`matrix_dynamics` at an aligned state.

    Attributes
    ----------
    method : str
    variables : tuple of sympy.Symbol
        ``(p, w)`` (SimSiam) or ``(p, w, a)`` (BYOL).
    rhs : tuple of sympy.Expr
        Their time derivatives, in ``m``, ``sigma``, ``eta``, ``alpha`` (and ``beta``).
    invariant : bool
        Whether the aligned set is invariant (all other entries of the matrix field vanish there).
    decoupled : bool
        Whether mode ``j``'s ODE involves mode ``j``'s variables only.
    correlation_form : tuple of sympy.Expr or None
        SimSiam: ``(dp/dt, ds/dt)`` in ``(p, s)`` with ``s = m w^2``.
    matches_paper : bool or None
        SimSiam: whether ``correlation_form`` at ``m = 1`` equals [TCG21]_'s
        decoupled ``dp/dt = alpha (tau - (1 + sigma^2) p) s - eta p``,
        ``ds/dt = 2 p s (tau - (1 + sigma^2) p) - 2 eta s`` with ``tau = 1``.
    invariant_rate : sympy.Expr or None
        SimSiam: ``d/dt (s - m p^2 / alpha) + 2 eta (s - m p^2 / alpha)`` simplified (zero).
    """

    method: str
    variables: tuple[sp.Symbol, ...]
    rhs: tuple[sp.Expr, ...]
    invariant: bool
    decoupled: bool
    correlation_form: tuple[sp.Expr, sp.Expr] | None
    matches_paper: bool | None
    invariant_rate: sp.Expr | None

    def to_latex(self) -> str:
        return ",\\quad ".join(
            f"\\dot{{{sp.latex(v)}}} = {sp.latex(e)}" for v, e in zip(self.variables, self.rhs, strict=True)
        )


@functools.lru_cache(maxsize=16)
def eigenmode_ode(method: str = "simsiam", h: int = 2) -> EigenmodeODE:
    r"""Derive the per-mode ODE of SimSiam or BYOL from the matrix dynamics at an aligned state.

    Examples
    --------
    >>> ode = eigenmode_ode("simsiam")
    >>> ode.invariant, ode.decoupled, ode.matches_paper
    (True, True, True)
    >>> ode.rhs[1]
    -eta*w + m*p*w - p**2*sigma*w
    """
    check_choice(method, "method", METHODS)
    d = h + 1
    dyn = matrix_dynamics(method, d, h)
    p = sp.symbols(f"p_1:{h + 1}", real=True)
    w = sp.symbols(f"w_1:{h + 1}", real=True)
    a = sp.symbols(f"a_1:{h + 1}", real=True)
    E = sp.eye(d)[:, :h]
    aligned = {**dict(zip(dyn.W, E * sp.diag(*w), strict=True)), **dict(zip(dyn.P, sp.diag(*p), strict=True))}
    if dyn.A is not None:
        aligned.update(zip(dyn.A, E * sp.diag(*a), strict=True))
    fields = [dyn.dW.xreplace(aligned), dyn.dP.xreplace(aligned)]
    if dyn.dA is not None:
        fields.append(dyn.dA.xreplace(aligned))
    invariant = all(
        sp.expand(F[i, j]) == 0 for F in fields for i in range(F.rows) for j in range(F.cols) if i != j
    )
    ms, ss = sp.symbols(f"m_1:{d + 1}", positive=True), sp.symbols(f"sigma_1:{d + 1}", positive=True)
    mode = {ms[0]: m_sym, ss[0]: sigma_sym, p[0]: p_sym, w[0]: w_sym, a[0]: a_sym}
    rhs = [sp.expand(fields[1][0, 0].xreplace(mode)), sp.expand(fields[0][0, 0].xreplace(mode))]
    variables: tuple[sp.Symbol, ...] = (p_sym, w_sym)
    if dyn.dA is not None:
        rhs.append(sp.expand(fields[2][0, 0].xreplace(mode)))
        variables = (p_sym, w_sym, a_sym)
    own = {p_sym, w_sym, a_sym, m_sym, sigma_sym, eta_sym, alpha_sym, beta_sym}
    decoupled = all(e.free_symbols <= own for e in rhs)
    correlation = paper = rate = None
    if method == "simsiam":
        pdot, wdot = rhs
        sdot = sp.expand(2 * m_sym * w_sym * wdot)
        to_s = {w_sym**2: s_sym / m_sym}
        pdot_s = sp.expand(sp.expand(pdot).subs(to_s))
        sdot_s = sp.expand(sdot.subs(to_s))
        correlation = (pdot_s, sdot_s)
        sig2 = sp.Symbol("sigma_aug", positive=True)
        kappa = 1 + sig2**2
        paper_p = alpha_sym * (1 - kappa * p_sym) * s_sym - eta_sym * p_sym
        paper_s = 2 * p_sym * s_sym * (1 - kappa * p_sym) - 2 * eta_sym * s_sym
        at = {m_sym: 1, sigma_sym: kappa}
        paper = bool(
            sp.expand(pdot_s.subs(at) - paper_p) == 0 and sp.expand(sdot_s.subs(at) - paper_s) == 0
        )
        c = s_sym - m_sym * p_sym**2 / alpha_sym
        dc = sdot_s - 2 * m_sym * p_sym * pdot_s / alpha_sym
        rate = sp.simplify(dc + 2 * eta_sym * c)
    return EigenmodeODE(method, variables, tuple(rhs), invariant, decoupled, correlation, paper, rate)


def weight_decay_threshold(m: Any = m_sym, sigma: Any = sigma_sym) -> sp.Expr:
    r"""The largest weight decay with non-trivial fixed points: ``m^2 / (4 sigma)``, derived.

    At ``s != 0``, ``ds/dt = 0`` is the quadratic ``sigma p^2 - m p + eta = 0``
    in ``p``; real roots exist iff its discriminant ``m^2 - 4 sigma eta`` is
    ``>= 0``. [TCG21]_: ``eta <= tau^2 / (4 (1 + sigma^2))``; here
    ``tau = 1``, ``m = 1``, ``sigma = 1 + sigma^2``.

    Examples
    --------
    >>> weight_decay_threshold()
    m**2/(4*sigma)
    >>> weight_decay_threshold(1, 2)
    1/8
    """
    ode = eigenmode_ode("simsiam", h=1)
    _, sdot = ode.correlation_form
    quad = sp.expand(-sp.cancel(sdot / (2 * s_sym)))  # sigma p^2 - m p + eta
    disc = sp.discriminant(quad, p_sym)
    (threshold,) = sp.solve(sp.Eq(disc, 0), eta_sym)
    return sp.simplify(threshold.xreplace({m_sym: _expr(m, "m"), sigma_sym: _expr(sigma, "sigma")}))


@dataclass(frozen=True)
class FixedPoint:
    """A fixed point of one mode and its linear stability.

    ``values`` maps the mode variables to their values (``w >= 0``; ``-w`` is
    its mirror image); ``correlation`` is ``s = m w^2``; ``jacobian`` is in
    ``variables`` order; ``classification`` one of ``"stable"``, ``"saddle"``,
    ``"unstable"``, ``"non-hyperbolic"``, ``"undetermined"``, decided by
    ``reason``.
    """

    name: str
    values: dict[sp.Symbol, sp.Expr]
    correlation: sp.Expr
    jacobian: sp.ImmutableMatrix
    classification: str
    reason: str


def _sign(e: sp.Expr) -> int | None:
    e = sp.factor(sp.simplify(e))
    if e.is_zero:
        return 0
    if e.is_positive:
        return 1
    if e.is_negative:
        return -1
    return None


def _classify(J: sp.MatrixBase) -> tuple[str, str]:
    """Classification from the characteristic polynomial (2x2: trace and determinant; 3x3: Routh-Hurwitz)."""
    lam = sp.Dummy("lambda")
    coeffs = sp.Poly(sp.expand((lam * sp.eye(J.rows) - J).det()), lam).all_coeffs()[1:]
    if J.rows == 2:
        tr, det = -coeffs[0], coeffs[1]
        st, sd = _sign(tr), _sign(det)
        reason = f"trace {sp.factor(tr)}, determinant {sp.factor(det)}"
        if sd is None or (sd > 0 and st is None):
            return "undetermined", reason
        if sd < 0:
            return "saddle", reason
        if sd == 0 or st == 0:
            return "non-hyperbolic", reason
        return ("stable" if st < 0 else "unstable"), reason
    a2, a1, a0 = coeffs
    hurwitz = a2 * a1 - a0
    s2, s0, sh = _sign(a2), _sign(a0), _sign(hurwitz)
    reason = f"Routh-Hurwitz: a2 = {sp.factor(a2)}, a0 = {sp.factor(a0)}, a2 a1 - a0 = {sp.factor(hurwitz)}"
    # lambda^3 + a2 lambda^2 + a1 lambda + a0: a0 = -det J is minus the product of the roots
    if s0 == 0:
        return "non-hyperbolic", reason
    if s0 is None:
        return "undetermined", reason
    if s0 > 0:  # a real negative root; stable iff Routh-Hurwitz holds
        if s2 is None or sh is None:
            return "undetermined", reason
        if s2 > 0 and sh > 0:
            return "stable", reason
        return ("non-hyperbolic" if sh == 0 and s2 > 0 else "saddle"), reason
    # a0 < 0: a real positive root; all roots in the right half-plane iff a2 < 0 and a2 a1 - a0 < 0
    if s2 is not None and s2 > 0:
        return "saddle", reason  # the roots sum to -a2 < 0
    if s2 is None or sh is None:
        return "undetermined", reason
    if sh == 0:
        return "non-hyperbolic", reason
    return ("unstable" if s2 < 0 and sh < 0 else "saddle"), reason


def _field(method: str, eta: sp.Expr, alpha: sp.Expr, beta: sp.Expr | None, m: sp.Expr, sigma: sp.Expr):
    ode = eigenmode_ode(method, h=1)
    subs = {eta_sym: eta, alpha_sym: alpha, m_sym: m, sigma_sym: sigma}
    if beta is not None:
        subs[beta_sym] = beta
    return ode.variables, sp.Matrix([e.xreplace(subs) for e in ode.rhs])


def fixed_points(
    method: str = "simsiam",
    *,
    m: Any = m_sym,
    sigma: Any = sigma_sym,
    weight_decay: Any = eta_sym,
    predictor_lr: Any = alpha_sym,
    ema_rate: Any = beta_sym,
) -> tuple[FixedPoint, ...]:
    r"""Fixed points of one mode and their stability, for numbers (exact) or symbols.

    The trivial point ``p = w (= a) = 0``, and, when
    ``eta <= m^2 / (4 sigma)``, ``p_(+-) = (m +- sqrt(m^2 - 4 sigma eta)) / (2 sigma)``,
    ``w = p / sqrt(alpha)`` (so ``s = m p^2 / alpha``), ``a = w``. With
    symbolic parameters, signs that need the regime of ``eta`` come out
    ``"undetermined"``: see :func:`stability_table`.

    Examples
    --------
    >>> fps = fixed_points(m=1, sigma=2, weight_decay=sp.Rational(1, 10), predictor_lr=1)
    >>> [(f.name, f.classification) for f in fps]
    [('trivial', 'stable'), ('p-', 'saddle'), ('p+', 'stable')]
    >>> [f.classification for f in fixed_points(m=1, sigma=2, weight_decay=sp.Rational(1, 5), predictor_lr=1)]
    ['stable']
    """
    check_choice(method, "method", METHODS)
    m, sigma = _expr(m, "m"), _expr(sigma, "sigma")
    eta, alpha = _expr(weight_decay, "weight_decay"), _expr(predictor_lr, "predictor_lr")
    beta = _expr(ema_rate, "ema_rate") if method == "byol" else None
    for name, v, strict in (("m", m, True), ("sigma", sigma, True), ("weight_decay", eta, False),
                            ("predictor_lr", alpha, True), ("ema_rate", beta, True)):
        if v is not None and v.is_number and (v < 0 or (strict and v == 0)):
            raise ValueError(f"{name} must be {'> 0' if strict else '>= 0'}, got {v}")
    variables, F = _field(method, eta, alpha, beta, m, sigma)
    Jf = F.jacobian(variables)
    points = [("trivial", sp.Integer(0))]
    disc = sp.simplify(m**2 - 4 * sigma * eta)
    if disc.is_zero:
        points.append(("p- = p+", m / (2 * sigma)))
    elif not disc.is_negative:
        root = sp.sqrt(disc)
        points += [("p-", (m - root) / (2 * sigma)), ("p+", (m + root) / (2 * sigma))]
    out = []
    for name, p0 in points:
        w0 = p0 / sp.sqrt(alpha)
        values = {variables[0]: sp.simplify(p0), variables[1]: sp.simplify(w0)}
        if len(variables) == 3:
            values[variables[2]] = values[variables[1]]
        J = sp.ImmutableMatrix(Jf.xreplace(values).applyfunc(sp.simplify))
        cls, reason = _classify(J)
        out.append(FixedPoint(name, values, sp.simplify(m * w0**2), J, cls, reason))
    return tuple(out)


@dataclass(frozen=True)
class StabilityRow:
    """One row of :func:`stability_table`: a regime of the weight decay, a fixed point, its class."""

    regime: str
    point: str
    classification: str
    reason: str


def stability_table(method: str = "simsiam") -> tuple[StabilityRow, ...]:
    r"""Symbolic classification of every fixed point in each regime of the weight decay.

    Regimes: ``eta = 0``; ``0 < eta < m^2 / (4 sigma)``, parametrised as
    ``eta = (m^2 - r^2) / (4 sigma)`` with ``r = m - g``, ``0 < g < m``
    (so ``p_(+-) = (m +- r) / (2 sigma)``); ``eta = m^2 / (4 sigma)``
    (``r = 0``); ``eta > m^2 / (4 sigma)`` (trivial point only). Every
    parameter (``m``, ``sigma``, ``alpha``, ``beta``) stays symbolic and
    positive.

    Examples
    --------
    >>> [(r.point, r.classification) for r in stability_table("simsiam") if r.regime == "0 < eta < eta*"]
    [('trivial', 'stable'), ('p-', 'saddle'), ('p+', 'stable')]
    """
    check_choice(method, "method", METHODS)
    g, r, e = sp.symbols("g r epsilon", positive=True)
    rows = []
    m, sigma = m_sym, sigma_sym
    regimes = (
        ("eta = 0", sp.Integer(0), None),
        ("0 < eta < eta*", ((r + g) ** 2 - r**2) / (4 * sigma), {m: r + g}),
        ("eta = eta*", m**2 / (4 * sigma), None),
        ("eta > eta*", m**2 / (4 * sigma) + e, None),
    )
    for regime, eta, subs in regimes:
        mm = m if subs is None else subs[m]
        fps = fixed_points(
            method, m=mm, sigma=sigma, weight_decay=eta, predictor_lr=alpha_sym, ema_rate=beta_sym
        )
        seen = set()
        for fp in fps:
            key = tuple(fp.values.values())
            if key in seen:
                continue  # at eta = 0, p- coincides with the trivial point
            seen.add(key)
            rows.append(StabilityRow(regime, fp.name, fp.classification, fp.reason))
    return tuple(rows)
