"""Tests of grassdyn.symbolic: exact derivations cross-checked against the numerical flows."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import grassdyn.symbolic.verify as verify_module
from grassdyn import flows, grassmann
from grassdyn import symbolic as sym

# -- strategies ---------------------------------------------------------------------------------


@st.composite
def distinct_spectra(draw, min_d=2, max_d=6):
    """Distinct descending integer-spaced spectra (gaps >= 0.25), shape (d,)."""
    d = draw(st.integers(min_d, max_d))
    gaps = draw(st.lists(st.integers(1, 8), min_size=d - 1, max_size=d - 1))
    top = draw(st.integers(-6, 6))
    lam = top - np.concatenate([[0], np.cumsum(gaps)]) / 4
    return [float(v) for v in lam]


@st.composite
def clustered_spectra(draw):
    """Integer spectra with at least one repeated value, d <= 6, in random order."""
    sizes = draw(st.lists(st.integers(1, 3), min_size=1, max_size=4).filter(
        lambda s: 3 <= sum(s) <= 6 and max(s) >= 2))
    values = draw(st.lists(st.integers(-4, 4), min_size=len(sizes), max_size=len(sizes), unique=True))
    lam = [v for v, m in zip(values, sizes, strict=True) for _ in range(m)]
    return draw(st.permutations(lam))


def chart_velocity(C, I, X):
    """dX/dt of the numerical Oja field in the graph chart around span{e_i : i in I}."""
    d, h = C.shape[0], len(I)
    J = [j for j in range(d) if j not in I]
    Y = np.zeros((d, h))
    Y[I], Y[J] = np.eye(h), X
    W, _ = np.linalg.qr(Y)
    V = flows.oja_rhs(C, W)
    return (V[J] - X @ V[I]) @ np.linalg.inv(W[I])


def fd_jacobian(C, I, eps=1e-6):
    """Central finite-difference Jacobian of the chart field at X = 0, in vec X (column-major) order."""
    d, h = C.shape[0], len(I)
    n = (d - h) * h
    J = np.zeros((n, n))
    for k in range(n):
        E = np.zeros(n)
        E[k] = eps
        Xp, Xm = E.reshape(h, d - h).T, -E.reshape(h, d - h).T
        J[:, k] = (chart_velocity(C, I, Xp) - chart_velocity(C, I, Xm)).T.ravel() / (2 * eps)
    return J


def as_floats(values):
    return np.array([float(v) for v in values])


# -- safety and validation -------------------------------------------------------------------------

BAD_CALLS = [
    ("str-eigenvalues", lambda: sym.critical_points("321", 1), TypeError),
    ("str-entry", lambda: sym.critical_points(["3", 2, 1], 1), TypeError),
    ("code-string", lambda: sym.critical_points(["__import__('os')", 1], 1), TypeError),
    ("bool-entry", lambda: sym.critical_points([True, 0], 1), TypeError),
    ("complex-entry", lambda: sym.critical_points([1j, 0], 1), TypeError),
    ("imaginary-sympy", lambda: sym.critical_points([sp.I, 0], 1), ValueError),
    ("nan-entry", lambda: sym.critical_points([float("nan"), 0], 1), ValueError),
    ("empty", lambda: sym.critical_points([], 1), ValueError),
    ("h-too-big", lambda: sym.critical_points([3, 2, 1], 3), ValueError),
    ("h-zero", lambda: sym.critical_points([3, 2, 1], 0), ValueError),
    ("h-float", lambda: sym.critical_points([3, 2, 1], 1.0), TypeError),
    ("inconsistent-order", lambda: sym.critical_points([1, sp.Symbol("a"), 3], 1), ValueError),
    ("chart-str-C", lambda: sym.grassmann_chart("C", [0]), TypeError),
    ("chart-asymmetric", lambda: sym.grassmann_chart(sp.Matrix([[1, 2], [3, 4]]), [0]), ValueError),
    ("chart-I-range", lambda: sym.grassmann_chart(np.eye(3), [3]), ValueError),
    ("chart-I-repeat", lambda: sym.grassmann_chart(np.eye(3), [0, 0]), ValueError),
    ("chart-I-full", lambda: sym.grassmann_chart(np.eye(2), [0, 1]), ValueError),
    ("linearize-str", lambda: sym.linearize("x**2", {sp.Symbol("x"): 0}), TypeError),
    ("linearize-point-type", lambda: sym.linearize(sp.Matrix([1]), [0]), TypeError),
    ("linearize-size", lambda: sym.linearize(sp.Matrix([sp.Symbol("x")]),
                                             {sp.Symbol("x"): 0, sp.Symbol("y"): 0}), ValueError),
    ("ode-str-rhs", lambda: sym.ODE(sp.Symbol("y"), "y"), TypeError),
    ("verify-str", lambda: sym.verify_solution(sym.ODE(sp.Symbol("y"), sp.Symbol("y")), "exp(t)"), TypeError),
    ("verify-not-ode", lambda: sym.verify_solution("y' = y", sp.exp(sym.t_symbol)), TypeError),
    ("collapse-mixed", lambda: sym.rank_one_collapse([1, sp.Symbol("a")], 1), ValueError),
    ("collapse-not-top", lambda: sym.rank_one_collapse([1, 1], 1), ValueError),
    ("sqrt-h", lambda: sym.sqrt_frame_candidate(3), ValueError),
]


@pytest.mark.parametrize("call, exc", [(c, e) for _, c, e in BAD_CALLS], ids=[i for i, _, _ in BAD_CALLS])
def test_bad_arguments_raise(call, exc):
    with pytest.raises(exc):
        call()


# -- the chart: derivation and agreement with the numerical flow ---------------------------------------


def test_chart_derivation_is_the_riccati_equation_for_general_symmetric_C():
    d, I = 4, (1, 3)
    c = sp.symbols("c0:10")
    it = iter(c)
    C = sp.zeros(d)
    for i, j in itertools.combinations_with_replacement(range(d), 2):
        C[i, j] = C[j, i] = next(it)
    chart = sym.grassmann_chart(C, I)
    assert chart.matches_riccati
    J = [0, 2]
    C11, C12, C21, C22 = C.extract(I, I), C.extract(I, J), C.extract(J, I), C.extract(J, J)
    X = chart.X
    riccati = C21 + C22 * X - X * C11 - X * C12 * X
    assert (chart.rhs - riccati).applyfunc(sp.expand).is_zero_matrix
    assert "C_{21}" in chart.to_latex() and "x_{3,2}" in chart.to_latex()


@given(data=st.data())
@settings(max_examples=15)
def test_chart_lambdify_agrees_with_flows_oja_rhs(data):
    d = data.draw(st.integers(2, 5))
    h = data.draw(st.integers(1, d - 1))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    A = rng.standard_normal((d, d))
    C = (A + A.T) / 2
    I = sorted(data.draw(st.permutations(range(d)))[:h])
    X = 0.7 * rng.standard_normal((d - h, h))
    f = sym.grassmann_chart(C, I).lambdify()
    np.testing.assert_allclose(f(X), chart_velocity(C, I, X), rtol=1e-10, atol=1e-10)


def test_chart_lambdify_takes_symbolic_parameters_by_name():
    a, b = sp.symbols("a b")
    f = sym.grassmann_chart(sp.diag(a, b, 1), [1]).lambdify()
    X = np.array([[0.3], [-0.2]])
    np.testing.assert_allclose(f(X, a=2.0, b=0.5), chart_velocity(np.diag([2.0, 0.5, 1.0]), [1], X),
                               rtol=1e-12)
    with pytest.raises(TypeError):
        f(X, a=2.0)


# -- linearize --------------------------------------------------------------------------------------


def test_linearize_hand_cases():
    x, y = sp.symbols("x y")
    lin = sym.linearize(sp.Matrix([y, -x - y**3]), {x: 0, y: 0})
    assert lin.jacobian == sp.Matrix([[0, 1], [-1, 0]])
    assert sorted(lin.eigenvalues, key=str) == [-sp.I, sp.I]
    assert lin.is_fixed_point is True
    # a non-fixed point is still linearised, and flagged
    lin = sym.linearize([x**2 - 1, x * y], {x: 2, y: 1})
    assert lin.jacobian == sp.Matrix([[4, 0], [1, 2]])
    assert sorted(lin.eigenvalues) == [2, 4]
    assert lin.is_fixed_point is False
    assert "\\operatorname{spec}" in lin.to_latex()


def test_linearize_non_triangular_uses_exact_eigenvalues():
    x, y, a = sp.symbols("x y a")
    lin = sym.linearize(sp.Matrix([a * x + y, x + a * y]), {x: 0, y: 0})
    assert sorted(lin.eigenvalues, key=str) == sorted([a - 1, a + 1], key=str)


def test_linearize_matrix_variables_are_read_column_major():
    X = sp.Matrix(2, 2, sp.symbols("x0:4"))
    A = sp.Matrix([[1, 2], [3, 4]])
    lin = sym.linearize(A * X, {sp.ImmutableMatrix(X): sp.zeros(2, 2)})
    # d vec(A X) / d vec X = I_2 (x) A
    assert lin.jacobian == sp.Matrix(np.kron(np.eye(2, dtype=int), np.array(A, dtype=int)))


# -- critical points ---------------------------------------------------------------------------------


def test_critical_points_hand_case_d3_h1():
    pts = sym.critical_points([3, 2, 1], 1)
    assert [p.indices for p in pts] == [(0,), (1,), (2,)]
    assert [p.eigenvalues for p in pts] == [(-1, -2), (1, -1), (2, 1)]
    assert [p.classification for p in pts] == ["stable", "saddle", "unstable"]
    assert [p.index for p in pts] == [0, 1, 2]
    assert all(p.critical_dimension == 0 for p in pts)
    assert pts.by_indices([1]).frame == sp.Matrix([0, 1, 0])


@given(lam=distinct_spectra(), data=st.data())
@settings(max_examples=15)
def test_distinct_spectrum_classes_follow_the_ordering(lam, data):
    d = len(lam)
    h = data.draw(st.integers(1, d - 1))
    lam = data.draw(st.permutations(lam))  # numeric input need not be sorted
    pts = sym.critical_points(lam, h)
    assert len(pts) == len(list(itertools.combinations(range(d), h)))
    top = tuple(sorted(np.argsort(lam)[::-1][:h]))
    bottom = tuple(sorted(np.argsort(lam)[:h]))
    for p in pts:
        out = [j for j in range(d) if j not in p.indices]
        expected = sorted(lam[j] - lam[i] for i in p.indices for j in out)
        assert sorted(as_floats(p.eigenvalues)) == pytest.approx(expected, abs=1e-12)
        assert p.index == sum(lam[j] > lam[i] for i in p.indices for j in out)
        assert (p.classification == "stable") == (p.indices == top)
        assert (p.classification == "unstable") == (p.indices == bottom)
        assert p.classification in ("stable", "saddle", "unstable")
        assert p.critical_dimension == 0
        assert p.assumptions.startswith("numeric")


@given(lam=distinct_spectra(max_d=5), data=st.data())
@settings(max_examples=12)
def test_spectra_match_finite_difference_jacobian_in_the_chart(lam, data):
    d = len(lam)
    h = data.draw(st.integers(1, d - 1))
    C = np.diag(lam)
    for p in sym.critical_points(lam, h):
        J = fd_jacobian(C, list(p.indices))
        assert J.shape == (h * (d - h),) * 2  # the chart, not the (d h)-dim ambient space
        fd = np.sort(np.linalg.eigvals(J).real)
        np.testing.assert_allclose(fd, np.sort(as_floats(p.eigenvalues)), atol=1e-6)
        np.testing.assert_allclose(J, np.array(p.jacobian, dtype=float), atol=1e-6)


@given(lam=distinct_spectra(max_d=5), data=st.data())
@settings(max_examples=10)
def test_perturbations_decay_or_grow_as_predicted(lam, data):
    d = len(lam)
    h = data.draw(st.integers(1, d - 1))
    pts = sym.critical_points(lam, h)
    p = pts[data.draw(st.integers(0, len(pts) - 1))]
    I = list(p.indices)
    J = [j for j in range(d) if j not in I]
    mu, vecs = np.linalg.eig(np.array(p.jacobian, dtype=float))
    eps, T = 1e-7, 1.5
    base = np.array(p.frame, dtype=float)
    decays = grows = False
    for k in range(len(mu)):
        X = eps * vecs[:, k].real.reshape(h, d - h).T
        Y = np.zeros((d, h))
        Y[I], Y[J] = np.eye(h), X
        W0, _ = np.linalg.qr(Y)
        traj = flows.grassmann_closed_form(np.diag(lam), W0, np.array([0.0, T]))
        dist = traj.distance_to(base)
        ratio = dist[1] / dist[0]
        # linear regime: the distance to the critical point scales by e^{mu T}
        assert ratio == pytest.approx(np.exp(mu[k].real * T), rel=1e-4)
        decays |= ratio < 1
        grows |= ratio > 1
    expected = {"stable": (True, False), "unstable": (False, True), "saddle": (True, True)}
    assert (decays, grows) == expected[p.classification]


def test_symbolic_spectrum_d4_h2_uses_and_states_the_descending_assumption():
    lam = sp.symbols("a b c e")
    a = lam[0]
    pts = sym.critical_points(lam, 2)
    assert "descending" in pts.assumptions and "a > b > c > e" in pts.assumptions
    for p in pts:
        out = [j for j in range(4) if j not in p.indices]
        expected = {lam[j] - lam[i] for i in p.indices for j in out}
        assert set(p.eigenvalues) == expected
        assert p.index == sum(j < i for i in p.indices for j in out)
    classes = {p.indices: p.classification for p in pts}
    assert classes.pop((0, 1)) == "stable" and classes.pop((2, 3)) == "unstable"
    assert set(classes.values()) == {"saddle"}
    # the symbolic Jacobian, evaluated, is the finite-difference one of the numerical flow
    values = {a: 2.0, lam[1]: 0.5, lam[2]: -0.25, lam[3]: -1.0}
    for p in pts:
        J = np.array(p.jacobian.subs(values), dtype=float)
        np.testing.assert_allclose(J, fd_jacobian(np.diag(list(values.values())), list(p.indices)), atol=1e-6)


def test_symbolic_mixed_with_numbers_and_nonlinear_entries():
    a = sp.Symbol("a")
    pts = sym.critical_points([5, a, 1], 1)  # taken as 5 > a > 1
    assert [p.classification for p in pts] == ["stable", "saddle", "unstable"]
    assert pts[1].eigenvalues == (5 - a, 1 - a)
    # taken as a**2 > 0 > -1: signs follow by linear arithmetic in the atom a**2
    pts = sym.critical_points([a**2, 0, -1], 1)
    assert [p.classification for p in pts] == ["stable", "saddle", "unstable"]


def test_repeated_eigenvalue_hand_case():
    pts = sym.critical_points([2, 2, 1], 1)
    assert [(p.classification, p.critical_dimension) for p in pts] == [
        ("non-hyperbolic", 1), ("non-hyperbolic", 1), ("unstable", 0)]
    assert pts[0].eigenvalues == (0, -1)
    assert pts[0].index == 0


@given(lam=clustered_spectra(), data=st.data())
@settings(max_examples=15)
def test_repeated_eigenvalues_give_critical_manifolds_of_the_right_dimension(lam, data):
    d = len(lam)
    h = data.draw(st.integers(1, d - 1))
    for p in sym.critical_points(lam, h):
        zeros = sum(1 for v in p.eigenvalues if v == 0)
        dim = sum(len([i for i in p.indices if lam[i] == v]) * len(
            [j for j in range(d) if j not in p.indices and lam[j] == v]) for v in set(lam))
        assert p.critical_dimension == dim == zeros
        assert (p.classification == "non-hyperbolic") == (dim > 0)


def test_symbolic_repeated_entries_are_clusters():
    a, b = sp.symbols("a b")
    pts = sym.critical_points([a, a, b], 1)
    assert [p.classification for p in pts] == ["non-hyperbolic", "non-hyperbolic", "unstable"]
    assert [p.critical_dimension for p in pts] == [1, 1, 0]


def test_float_input_signs_are_exact_with_tol_zero():
    # 0.1 + 0.2 != 0.3 in binary64: with tol=0, two distinct eigenvalues, hyperbolic points
    pts = sym.critical_points([0.1 + 0.2, 0.3], 1, tol=0)
    assert [p.classification for p in pts] == ["stable", "unstable"]
    assert sym.critical_points([0.3, 0.3], 1)[0].classification == "non-hyperbolic"


def test_floats_equal_up_to_rounding_tie_with_a_warning():
    # 0.1 + 0.2 and 0.3 are one ulp apart: by default a repeated eigenvalue, not a saddle at -5.6e-17
    tie = r"eigenvalues\[1\] = 0.30000000000000004 and eigenvalues\[2\] = 0.3 are equal up to rounding"
    with pytest.warns(UserWarning, match=tie):
        pts = sym.critical_points([1.0, 0.1 + 0.2, 0.3], 1)
    assert [p.classification for p in pts] == ["stable", "non-hyperbolic", "non-hyperbolic"]
    assert [p.critical_dimension for p in pts] == [0, 1, 1]
    # an explicit tolerance merges silently, and only within it
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert sym.critical_points([1.0, 0.5, 0.49], 1, tol=0.02)[1].classification == "non-hyperbolic"
        assert sym.critical_points([1.0, 0.5, 0.49], 1, tol=0.001)[1].classification == "saddle"


@pytest.mark.parametrize(
    ("spectrum", "match"),
    [
        pytest.param(
            lambda a, b: [a, a + 1], r"eigenvalues\[0\] = a < eigenvalues\[1\] = a \+ 1", id="a<a+1"
        ),
        pytest.param(lambda a, b: [a, b, a], r"identical but eigenvalues\[1\] = b", id="a,b,a"),
        pytest.param(lambda a, b: [a, 2, a + 1], r"eigenvalues\[0\] = a < eigenvalues\[2\]", id="a,2,a+1"),
    ],
)
def test_symbolic_order_that_sympy_disproves_is_refused(spectrum, match):
    a, b = sp.symbols("a b", real=True)
    with pytest.raises(ValueError, match=match):
        sym.critical_points(spectrum(a, b), 1)


def test_symbolic_order_sympy_cannot_decide_is_the_stated_assumption():
    a, b = sp.symbols("a b", real=True)
    assert "a > b" in sym.critical_points([a, b], 1).assumptions


def test_critical_points_latex_table():
    tex = sym.critical_points(sp.symbols("a b c"), 1).to_latex()
    assert "\\begin{tabular}" in tex and "stable" in tex and "saddle" in tex and "unstable" in tex
    assert "descending" in tex and "- a + b" in tex
    assert sym.critical_points([2, 2, 1], 1)[0].to_latex().count("dim. 1") == 1


# -- the unconstrained flow ---------------------------------------------------------------------------


def test_euclidean_fixed_points():
    fp = sym.euclidean_fixed_points([3, -1, 0], 2)
    assert fp.kernel == (sp.Matrix([0, 0, 1]),) and fp.dimension == 2
    np.testing.assert_array_equal(np.array(fp.jacobian, dtype=float),
                                  np.kron(np.eye(2), np.diag([3.0, -1.0, 0.0])))
    assert fp.classification == "non-hyperbolic" and fp.index == 2
    assert sym.euclidean_fixed_points([3, 2, 1], 2).classification == "unstable"
    assert sym.euclidean_fixed_points([3, -2], 1).classification == "saddle"
    assert sym.euclidean_fixed_points([-1, -2], 3).eigenvalues == (-1, -2) * 3
    pos = sp.symbols("p q", positive=True)
    assert sym.euclidean_fixed_points(pos, 2).classification == "unstable"
    assert sym.euclidean_fixed_points(sp.symbols("u v"), 2).classification == "undetermined"
    assert "\\ker C" in fp.to_latex()


def test_rank_one_collapse_symbolic_limit():
    lam = sp.symbols("a b c")
    res = sym.rank_one_collapse(lam, 2)
    assert res.is_e1e1T_W0 and res.rank == 1
    assert res.limit[1:, :].is_zero_matrix and res.limit[0, :] == res.W0[0, :]
    assert "descending" in res.assumptions and "\\lim" in res.to_latex()


def test_rank_one_collapse_agrees_with_euclidean_closed_form():
    lam = [2.0, 1.0, -0.5]
    W0 = np.array([[0.3, -0.4], [0.5, 0.8], [-0.6, 0.2]])
    res = sym.rank_one_collapse(lam, 2, sp.Matrix(W0))
    scaled = sp.lambdify(sym.t_symbol, res.scaled, modules="numpy")
    t = np.array([0.0, 0.5, 3.0])
    traj = flows.euclidean_closed_form(np.diag(lam), W0, t)
    for k, tk in enumerate(t):
        np.testing.assert_allclose(scaled(tk), traj.W[k] * np.exp(-lam[0] * tk), rtol=1e-12)
    np.testing.assert_allclose(np.array(res.limit, dtype=float), np.outer([1, 0, 0], W0[0]), atol=0)


# -- closed-form verification ---------------------------------------------------------------------------


def test_verify_solution_verdicts():
    y, a = sp.Symbol("y"), sp.Symbol("a")
    ode = sym.ODE(y, a * y)
    ok = sym.verify_solution(ode, 2 * sp.exp(a * ode.t), initial=2)
    assert ok.verdict == "solves" and ok and ok.residual == sp.Matrix([0])
    bad = sym.verify_solution(ode, sp.exp(a * ode.t) + ode.t)
    assert bad.verdict == "does not solve" and not bad and bad.max_spot_residual > 0.1
    wrong_start = sym.verify_solution(ode, sp.exp(a * ode.t), initial=2)
    assert wrong_start.verdict == "does not solve"
    assert "solves" in ok.to_latex()


def test_verify_solution_is_undecided_when_simplification_is_skipped(monkeypatch):
    monkeypatch.setattr(verify_module, "SIMPLIFY_MAX_NODES", 0)
    y, t = sp.Symbol("y"), sym.t_symbol
    # residual 2 sin t cos t - sin 2t: zero, but only after trigonometric simplification
    res = sym.verify_solution(sym.ODE(y, sp.sin(2 * t)), sp.sin(t) ** 2)
    assert res.residual != sp.Matrix([0])
    assert res.verdict == "undecided" and res.max_spot_residual < 1e-25 and len(res.spot_points) == 4


def test_angle_solution_solves_and_a_wrong_rate_does_not():
    cf = sym.angle_solution()
    assert cf.verify().verdict == "solves"
    l1, l2 = cf.arguments["eigenvalues"]
    theta0 = cf.arguments["theta0"][0]
    wrong = sp.atan(sp.tan(theta0) * sp.exp(-2 * (l1 - l2) * cf.ode.t))
    assert sym.verify_solution(cf.ode, wrong, domain=cf.domain).verdict == "does not solve"
    assert "\\theta" in cf.to_latex()


@pytest.mark.parametrize("d", [2, 3])
def test_projector_closed_form_solves_riccati(d):
    assert sym.projector_solution(d).verify().verdict == "solves"


def test_naive_flow_solves():
    assert sym.naive_solution(3, 2).verify().verdict == "solves"


def test_sqrt_frame_solves_oja_only_for_h1():
    assert sym.sqrt_frame_candidate(1).verify().verdict == "solves"
    res = sym.sqrt_frame_candidate(2).verify()
    assert res.verdict == "does not solve" and res.max_spot_residual > 1e-6


# -- lambdify agrees with grassdyn.flows -------------------------------------------------------------------


@given(lam=distinct_spectra(min_d=3, max_d=3), seed=st.integers(0, 2**32 - 1))
@settings(max_examples=10)
def test_projector_and_naive_lambdify_agree_with_flows(lam, seed):
    t = np.linspace(0.0, 2.0, 5)
    w0 = grassmann.random_point(3, 1, rng=seed)
    P = sym.projector_solution(3).lambdify()(t, eigenvalues=lam, W0=w0)
    np.testing.assert_allclose(P, flows.projector_closed_form(np.diag(lam), w0, t), atol=1e-10)
    W0 = grassmann.random_point(3, 2, rng=seed)
    W = sym.naive_solution(3, 2).lambdify()(t, eigenvalues=lam, W0=W0)
    np.testing.assert_allclose(W, flows.euclidean_closed_form(np.diag(lam), W0, t).W, rtol=1e-10)


def test_angle_lambdify_agrees_with_grassmann_closed_form():
    lam, theta0 = [1.5, -0.5], 1.1
    t = np.linspace(0.0, 3.0, 7)
    theta = sym.angle_solution().lambdify()(t, eigenvalues=lam, theta0=theta0)
    w0 = np.array([[np.cos(theta0)], [np.sin(theta0)]])
    traj = flows.grassmann_closed_form(np.diag(lam), w0, t)
    np.testing.assert_allclose(traj.principal_angles(np.array([[1.0], [0.0]]))[:, 0], theta, atol=1e-12)


def test_sqrt_frame_lambdify_right_projector_wrong_frame():
    lam = [1.0, 0.0, -1.0]
    t = np.linspace(0.0, 2.0, 5)
    W_sqrt = sym.sqrt_frame_candidate(2).lambdify()(t, eigenvalues=lam)
    W0 = W_sqrt[0]
    np.testing.assert_allclose(W0, np.array([[1, 2], [2, 1], [2, -2]]) / 3, atol=1e-14)
    oja = flows.grassmann_closed_form(np.diag(lam), W0, t, frame="horizontal")
    np.testing.assert_allclose(W_sqrt @ np.swapaxes(W_sqrt, -1, -2),
                               flows.projector_closed_form(np.diag(lam), W0, t), atol=1e-12)
    assert np.max(oja.principal_angles(oja.__class__(t=t, W=W_sqrt, method="sqrt"))) < 1e-7
    assert np.max(np.abs(W_sqrt - oja.W)) > 1e-2  # same subspaces, different frames
    # h = 1: the normalised frame is Oja's frame itself
    w0 = np.array([0.6, 0.8])
    w = sym.sqrt_frame_candidate(1).lambdify()(t, eigenvalues=lam[:2], W0=w0)
    oja1 = flows.grassmann_closed_form(np.diag(lam[:2]), w0[:, None], t, frame="horizontal")
    np.testing.assert_allclose(w, oja1.W, atol=1e-8)


def test_closed_form_lambdify_validates_arguments():
    f = sym.naive_solution(2, 1).lambdify()
    with pytest.raises(TypeError):
        f(0.0, eigenvalues=[1, 2])
    with pytest.raises(ValueError):
        f(0.0, eigenvalues=[1, 2], W0=[1, 2, 3])


def test_benchmark_runs():
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "benchmarks" / "symbolic.py"
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    rows = [line.split() for line in result.stdout.splitlines() if "d=" in line]
    # speed is reported by the script, never asserted: one row per case, each with its time
    assert len(rows) == 4 and all(row[4].replace(".", "", 1).isdigit() for row in rows)
