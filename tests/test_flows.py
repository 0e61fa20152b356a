"""Closed forms of Oja's subspace flow and of the naive flow, checked as theorems.

Conventions (docs/conventions.md): L = -1/2 tr(W^T C W); Grassmannian flow
dW/dt = (I - W W^T) C W, naive flow dW/dt = C W; t is gradient-flow time.
Subspaces are compared through principal angles (or projectors), never frames.
"""

from __future__ import annotations

import math

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import solve_ivp
from scipy.linalg import expm

import grassdyn as gd
from grassdyn import flows
from grassdyn.grassmann import from_projector, principal_angles
from grassdyn.objectives import Quadratic
from grassdyn.strategies import dims, spectra, stiefel_frames, symmetric_matrices


# -- strategies ---------------------------------------------------------------------------
@st.composite
def problems(draw, *, min_d=2, max_d=6, min_gap=0.0, proper=True, generic=False, lo=-3.0, hi=3.0):
    """(C, W0, lam): a generator, an initial frame and its descending spectrum.

    ``proper=True`` keeps h < d so that the top-h eigenspace has a complement.
    ``generic=True`` draws W0 Haar-uniformly from a seed: hypothesis would
    otherwise shrink towards coordinate frames, which are degenerate starts
    (tested on their own below).
    """
    d, h = draw(dims(min_d=min_d, max_d=max_d, max_h=max_d - 1 if proper else None).filter(
        lambda dh: dh[1] < dh[0] or not proper))
    lam = draw(spectra(d, min_gap=min_gap, min_value=lo, max_value=hi))
    C = draw(symmetric_matrices(d, eigenvalues=lam))
    if generic:
        W0 = gd.grassmann.random_point(d, h, rng=draw(st.integers(0, 2**32 - 1)))
    else:
        W0 = draw(stiefel_frames(d, h))
    return C, W0, lam


def max_angle(U, V):
    return float(np.max(principal_angles(U, V, check=False), initial=0.0))


# -- high-precision reference ---------------------------------------------------------------
def mp_projectors(C, W0, times):
    """Projectors onto span(e^{Ct} W0) from mpmath, precision raised with t*(lam_max - lam_min).

    e^{Ct} W0 = Q e^{lam t} Q^T W0 from mpmath's Jacobi eigensolver, then a
    Householder QR: the columns are graded by up to e^{spread t}, so the
    working precision is 40 digits plus those the grading consumes.
    """
    lam = np.linalg.eigvalsh(C)
    dps = 40 + math.ceil(max(times) * (lam[-1] - lam[0]) / math.log(10))
    out = []
    with mp.workdps(dps):
        E, Q = mp.eigsy(mp.matrix(C.tolist()))
        Y0 = Q.T * mp.matrix(W0.tolist())
        for t in times:
            Z = Q * mp.diag([mp.exp(e * t) for e in E]) * Y0
            Qz, _ = mp.qr(Z, mode="skinny")
            out.append(np.array((Qz * Qz.T).tolist(), dtype=float))
    return np.array(out)


def _frame(rng, d, h, zero_rows=(), tiny_rows=(), tiny=0.0):
    """An orthonormal frame whose rows ``zero_rows`` are exactly 0 (built without Householder fill-in)."""
    keep = [i for i in range(d) if i not in zero_rows]
    G = rng.standard_normal((len(keep), h))
    W = np.zeros((d, h))
    W[keep] = np.linalg.qr(G)[0]
    if tiny_rows:
        W[list(tiny_rows)] = tiny * rng.standard_normal((len(tiny_rows), h))
        W = np.linalg.qr(W)[0]
    return W


def _mp_cases():
    rng = np.random.default_rng(20261122)
    A = rng.standard_normal((6, 6))
    generic = (A + A.T) / 2
    graded = np.diag([4.0, 3.999, 1.0, 0.5, -2.0, -6.0])  # a near-tie at the top
    R = np.linalg.qr(rng.standard_normal((6, 6)))[0]
    rotated_graded = R @ graded @ R.T
    rotated_graded = (rotated_graded + rotated_graded.T) / 2
    diag = np.diag([5.0, 3.0, 2.0, 1.0, -1.0, -4.0])
    return [
        pytest.param(generic, _frame(rng, 6, 2), id="generic"),
        pytest.param(rotated_graded, _frame(rng, 6, 3), id="near-tie-rotated"),
        pytest.param(rotated_graded, _frame(rng, 6, 1), id="near-tie-at-h"),
        pytest.param(diag, _frame(rng, 6, 2, zero_rows=(0,)), id="no-top-component"),
        pytest.param(diag, _frame(rng, 6, 2, zero_rows=(0, 2, 3)), id="invariant-sub-eigenspace"),
        pytest.param(diag, _frame(rng, 6, 2, tiny_rows=(0, 1), tiny=1e-9), id="near-degenerate"),
    ]


@pytest.mark.parametrize(("C", "W0"), _mp_cases())
def test_projector_matches_50_digit_reference_for_spread_times_t_up_to_4000(C, W0):
    lam = np.linalg.eigvalsh(C)
    times = np.array([0.0, 0.1, 1.0, 10.0, 100.0, 1000.0, 4000.0]) / (lam[-1] - lam[0])
    P = flows.projector_closed_form(C, W0, times)
    err = np.max(np.abs(P - mp_projectors(C, W0, times)), axis=(-2, -1))
    assert np.all(err < 1e-12), err


def test_naive_expm_then_qr_fails_where_the_closed_form_does_not():
    # why the closed form exists: e^{Ct} W0 is too graded to orthonormalise in float64
    rng = np.random.default_rng(3)
    C = np.diag([3.0, 2.0, 1.0, 0.0])
    R = np.linalg.qr(rng.standard_normal((4, 4)))[0]
    C = R @ C @ R.T
    C = (C + C.T) / 2
    W0 = _frame(rng, 4, 2)
    t = np.array([40.0])
    ref = mp_projectors(C, W0, t)[0]
    Qn, _ = np.linalg.qr(expm(C * t[0]) @ W0)
    assert np.max(np.abs(Qn @ Qn.T - ref)) > 1e-6
    assert np.max(np.abs(flows.projector_closed_form(C, W0, t)[0] - ref)) < 1e-13


# -- degenerate starts --------------------------------------------------------------------
def test_start_inside_an_invariant_subspace_stays_exactly_put():
    C = np.diag([1.0, 4.0, -2.0, 3.0, 0.5])
    W0 = np.eye(5)[:, [0, 2]]  # eigenvectors 1 and -2: a saddle
    traj = flows.grassmann_closed_form(C, W0, [0.0, 1.0, 1e3, 1e6])
    assert np.array_equal(traj.projectors(), np.broadcast_to(W0 @ W0.T, (4, 5, 5)))


@given(spectra(6, min_gap=0.25, min_value=-3, max_value=3), st.data())
@settings(max_examples=15)
def test_start_without_top_component_converges_to_best_reachable_eigenspace(lam, data):
    perm = data.draw(st.permutations(range(6)))
    C = np.diag(lam[list(perm)])  # diagonal, eigenvectors are coordinate vectors
    top = int(perm.index(0))  # coordinate of the top eigenvalue
    W0 = _frame(np.random.default_rng(data.draw(st.integers(0, 2**32 - 1))), 6, 2, zero_rows=(top,))
    traj = flows.grassmann_closed_form(C, W0, [0.0, 10.0, 1e4])
    assert np.all(traj.W[..., top, :] == 0.0)  # never acquires a top component
    reachable = np.eye(6)[:, [perm.index(1), perm.index(2)]]  # eigenvectors of lam_2, lam_3
    assert max_angle(traj.W[-1], reachable) < 1e-12


# -- invariants along the flow ------------------------------------------------------------
@given(problems(proper=False), st.floats(0.1, 50.0))
def test_orthonormality_is_preserved_to_rounding(problem, t_max):
    C, W0, _ = problem
    traj = flows.grassmann_closed_form(C, W0, np.linspace(0.0, t_max, 7))
    assert traj.stats["max_orthogonality_defect"] < 1e-13
    assert traj.method == "closed_form" and traj.manifold == "grassmann"


@given(problems(proper=False))
def test_loss_is_non_increasing(problem):
    C, W0, lam = problem
    traj = flows.grassmann_closed_form(C, W0, np.linspace(0.0, 5.0, 60))
    loss = traj.loss(Quadratic(C))
    scale = W0.shape[1] * max(1.0, float(np.max(np.abs(lam))))
    assert np.all(np.diff(loss) <= 1e-13 * scale)


@given(problems(max_d=5))
@settings(max_examples=10)
def test_agrees_with_the_integrated_projector_riccati_equation(problem):
    C, W0, _ = problem
    d = C.shape[0]
    t = np.array([0.0, 0.3, 1.0, 2.5])

    def rhs(_, p):
        return flows.riccati_rhs(C, p.reshape(d, d), check=False).ravel()

    sol = solve_ivp(rhs, (0.0, t[-1]), (W0 @ W0.T).ravel(), method="DOP853", t_eval=t,
                    rtol=1e-12, atol=1e-13)
    P_ode = sol.y.T.reshape(-1, d, d)
    traj = flows.grassmann_closed_form(C, W0, t)
    for k in range(t.size):
        assert max_angle(traj.W[k], from_projector(P_ode[k], atol=1e-8)) < 1e-8


@given(problems(proper=False), st.floats(0.05, 3.0))
@settings(max_examples=15)
def test_projector_derivative_is_the_riccati_field(problem, t0):
    C, W0, _ = problem
    dt = 1e-5
    P = flows.projector_closed_form(C, W0, [t0 - dt, t0, t0 + dt])
    fd = (P[2] - P[0]) / (2 * dt)
    scale = 1.0 + float(np.max(np.abs(C))) ** 3
    assert np.max(np.abs(fd - flows.riccati_rhs(C, P[1]))) < 1e-6 * scale


def test_projector_closed_form_accepts_a_projector():
    C = np.diag([3.0, 1.0, 2.0, 0.0])
    W0 = _frame(np.random.default_rng(0), 4, 2)
    t = [0.0, 1.0, 7.0]
    np.testing.assert_allclose(
        flows.projector_closed_form(C, W0 @ W0.T, t), flows.projector_closed_form(C, W0, t), atol=1e-14
    )


# -- convergence and its rate --------------------------------------------------------------
@given(problems(min_d=3, min_gap=0.5, generic=True), st.data())
@settings(max_examples=20)
def test_converges_at_the_predicted_rate(problem, data):
    # diagonal C (a random permutation of coordinates): angles keep full relative
    # accuracy far below eps, so late times are usable and the subleading term
    # e^{-(next gap) t} <= e^{-40} is invisible
    _, W0, lam = problem
    d, h = W0.shape
    perm = np.array(data.draw(st.permutations(range(d))))
    C = np.diag(lam[perm])
    top = np.eye(d)[:, np.argsort(perm)[:h]]
    gap = gd.theory.rate(C, h)
    t = np.array([80.0, 100.0]) * min(1.0, 6.0 / (lam[0] - lam[-1]))
    traj = flows.grassmann_closed_form(C, W0, t)
    log_tan = np.log(np.tan(traj.principal_angles(top)[..., -1]))
    slope = (log_tan[1] - log_tan[0]) / (t[1] - t[0])
    assert slope == pytest.approx(-gap, rel=1e-9)


@given(st.floats(-2.0, 2.0), st.floats(0.1, 3.0), st.floats(0.01, 1.55), st.floats(1.0, 200.0))
def test_gr12_tangent_decays_exactly_exponentially(l2, gap, theta0, t_max):
    C = np.diag([l2 + gap, l2])
    W0 = np.array([[np.cos(theta0)], [np.sin(theta0)]])
    t = np.linspace(0.0, t_max, 9)
    t = t[gap * t < 650]  # tan theta stays a normal float
    traj = flows.grassmann_closed_form(C, W0, t)
    tan = np.tan(traj.principal_angles(np.eye(2)[:, :1])[..., 0])
    np.testing.assert_allclose(tan, np.tan(theta0) * np.exp(-gap * t), rtol=1e-12)


@given(st.floats(0.1, 3.0), st.floats(0.05, 1.5), st.floats(0.0, 2 * np.pi))
def test_gr12_rotated_generator(gap, theta0, phi):
    # a generic eigenbasis costs relative accuracy eps/theta on small angles: stay above 1e-3
    R = np.array([[np.cos(phi), -np.sin(phi)], [np.sin(phi), np.cos(phi)]])
    C = R @ np.diag([gap, 0.0]) @ R.T
    C = (C + C.T) / 2
    W0 = R @ np.array([[np.cos(theta0)], [np.sin(theta0)]])
    t = np.linspace(0.0, 6.0, 7) / gap
    traj = flows.grassmann_closed_form(C, W0, t)
    tan = np.tan(traj.principal_angles(R[:, :1])[..., 0])
    np.testing.assert_allclose(tan, np.tan(theta0) * np.exp(-gap * t), rtol=1e-11)


# -- symmetries ------------------------------------------------------------------------------
@given(problems(proper=False), st.data())
@settings(max_examples=20)
def test_subspace_invariant_under_change_of_frame(problem, data):
    C, W0, _ = problem
    R = data.draw(stiefel_frames(W0.shape[1], W0.shape[1]))
    t = np.linspace(0.0, 4.0, 5)
    a = flows.grassmann_closed_form(C, W0, t)
    b = flows.grassmann_closed_form(C, W0 @ R, t)
    assert np.max(a.principal_angles(b)) < 1e-10


@given(problems(proper=False), st.data())
@settings(max_examples=20)
def test_equivariant_under_ambient_rotations(problem, data):
    C, W0, _ = problem
    d = C.shape[0]
    Q = data.draw(stiefel_frames(d, d))
    CQ = Q @ C @ Q.T
    t = np.linspace(0.0, 4.0, 5)
    a = flows.grassmann_closed_form(C, W0, t)
    b = flows.grassmann_closed_form((CQ + CQ.T) / 2, Q @ W0, t)
    assert np.max(principal_angles(Q @ a.W, b.W)) < 1e-9


@given(problems(min_d=3, proper=False).filter(lambda p: p[1].shape[1] >= 2), st.data())
@settings(max_examples=20)
def test_nested_initial_subspaces_stay_nested(problem, data):
    C, W0, _ = problem
    h1 = data.draw(st.integers(1, W0.shape[1] - 1))
    t = np.linspace(0.0, 20.0, 6)
    wide = flows.grassmann_closed_form(C, W0, t)
    narrow = flows.grassmann_closed_form(C, W0[:, :h1], t)
    assert np.max(principal_angles(narrow.W, wide.W)) < 1e-10


def test_batch_equals_separate_calls():
    rng = np.random.default_rng(5)
    A = rng.standard_normal((7, 7))
    C = (A + A.T) / 2
    W0 = gd.grassmann.random_point(7, 3, rng=rng, batch=(2, 3))
    t = [0.0, 0.5, 30.0]
    batch = flows.grassmann_closed_form(C, W0, t)
    assert batch.W.shape == (2, 3, 3, 7, 3)
    for i, j in np.ndindex(2, 3):
        single = flows.grassmann_closed_form(C, W0[i, j], t)
        assert np.max(principal_angles(batch.W[i, j], single.W)) < 1e-13


# -- the horizontal (Oja) frame --------------------------------------------------------------
def _central_differences(W, dt):
    """(W(t+dt) - W(t-dt)) / 2dt and W(t) from frames at t-dt, t, t+dt (triples along axis 0)."""
    W = W.reshape(-1, 3, *W.shape[1:])
    return (W[:, 2] - W[:, 0]) / (2 * dt), W[:, 1]


@given(problems(min_d=3, proper=False, generic=True).filter(lambda p: p[1].shape[1] >= 2))
@settings(max_examples=8)
def test_horizontal_frame_solves_ojas_frame_ode_and_polar_frame_does_not(problem):
    C, W0, _ = problem
    dt = 1e-4
    centres = np.array([0.2, 0.7, 1.5])
    t = (centres[:, None] + np.array([-dt, 0.0, dt])).ravel()
    traj = flows.grassmann_closed_form(C, W0, t, frame="horizontal")
    dW, W = _central_differences(traj.W, dt)
    rhs = flows.oja_rhs(C, W)
    scale = 1.0 + float(np.max(np.abs(C))) ** 3
    assert np.max(np.abs(dW - rhs)) < 1e-6 * scale
    assert np.max(np.abs(np.swapaxes(W, -1, -2) @ dW)) < 1e-6 * scale  # horizontal: W^T dW/dt = 0
    # the polar frame e^{Ct} W0 (W0^T e^{2Ct} W0)^{-1/2} spans the same subspaces...
    lam, Q = np.linalg.eigh(C)
    Z = np.array([(Q * np.exp(lam * s)) @ Q.T @ W0 for s in t])
    s_, V = np.linalg.eigh(np.swapaxes(Z, -1, -2) @ Z)
    polar = Z @ (V / np.sqrt(s_)[:, None, :]) @ np.swapaxes(V, -1, -2)
    assert np.max(principal_angles(polar, traj.W)) < 1e-10
    # ...and shares its horizontal velocity, but not a solution of Oja's ODE: it also
    # rotates inside the subspace, dP/dt = (I - PP^T) C P + P (P^T dP/dt), P^T dP/dt != 0
    dP, P = _central_differences(polar, dt)
    rotation = np.swapaxes(P, -1, -2) @ dP
    assert np.max(np.abs(dP - flows.oja_rhs(C, P) - P @ rotation)) < 1e-6 * scale


def test_horizontal_frame_differs_from_polar_frame_on_a_hand_example():
    C = np.diag([3.0, 1.0, 0.0])
    W0 = np.linalg.qr(np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]))[0]
    dt = 1e-4
    traj = flows.grassmann_closed_form(C, W0, [0.5 - dt, 0.5, 0.5 + dt], frame="horizontal")
    dW, W = _central_differences(traj.W, dt)
    np.testing.assert_allclose(dW[0], flows.oja_rhs(C, W[0]), atol=1e-7)
    np.testing.assert_allclose(traj.W[0], flows.grassmann_closed_form(
        C, W0, [0.5 - dt], frame="horizontal").W[0], atol=1e-11)
    assert traj.stats["rotation_defect_before_polar"] < 1e-10
    # the polar frame of the same subspaces rotates inside them: not Oja's frame
    Z = np.array([expm(C * s) @ W0 for s in traj.t])
    s_, V = np.linalg.eigh(np.swapaxes(Z, -1, -2) @ Z)
    polar = Z @ (V / np.sqrt(s_)[:, None, :]) @ np.swapaxes(V, -1, -2)
    dP, P = _central_differences(polar, dt)
    assert np.max(np.abs(dP[0] - flows.oja_rhs(C, P[0]))) > 0.05


def test_horizontal_frame_starts_at_w0_and_converges():
    rng = np.random.default_rng(11)
    C = np.diag([4.0, 3.0, 1.0, 0.0, -1.0])
    W0 = _frame(rng, 5, 2)
    traj = flows.grassmann_closed_form(C, W0, [0.0, 50.0, 60.0], frame="horizontal")
    np.testing.assert_allclose(traj.W[0], W0, atol=1e-15)
    # Oja's frame stops moving once the subspace has converged
    np.testing.assert_allclose(traj.W[1], traj.W[2], atol=1e-10)


# -- vector fields ---------------------------------------------------------------------------
@given(problems(proper=False))
def test_oja_rhs_is_the_projected_euclidean_gradient_and_is_tangent(problem):
    C, W, _ = problem
    V = flows.oja_rhs(C, W)
    np.testing.assert_allclose(V, gd.grassmann.project_tangent(W, -Quadratic(C).egrad(W)), atol=1e-12)
    assert np.max(np.abs(W.T @ V)) < 1e-12


# -- the naive flow ------------------------------------------------------------------------------
@given(problems(proper=False), st.floats(0.0, 3.0))
def test_euclidean_closed_form_is_expm(problem, t1):
    C, W0, _ = problem
    traj = flows.euclidean_closed_form(C, W0, [0.0, t1])
    assert traj.manifold == "euclidean"
    np.testing.assert_allclose(traj.W[1], expm(C * t1) @ W0, rtol=1e-10, atol=1e-12 * np.exp(3 * t1))


def test_euclidean_overflow_raises_naming_t_and_the_overflow_time():
    C = np.diag([2.0, -1.0])
    W0 = np.array([[1.0], [0.0]])
    with pytest.raises(ValueError, match=r"^t: .* for t >= 354\.891"):
        flows.euclidean_closed_form(C, W0, [0.0, 100.0, 400.0])
    # exactly log(float max) / 2 = 354.8913564...
    traj = flows.euclidean_closed_form(C, W0, [354.89])
    assert np.isfinite(traj.W).all()


def test_euclidean_normalized_is_exact_in_log_space():
    C = np.diag([1.5, 1.0, -3.0])
    W0 = np.array([[0.6, 0.0], [0.0, 0.8], [0.8, 0.6]])
    t = np.array([0.0, 1.0, 1e4])
    traj = flows.euclidean_closed_form(C, W0, t, normalize=True)
    log_scale = traj.stats["log_scale"]
    assert log_scale[0] == pytest.approx(np.log(np.linalg.norm(W0, 2)), rel=1e-15)
    assert log_scale[1] == pytest.approx(np.log(np.linalg.norm(expm(C) @ W0, 2)), rel=1e-14)
    assert log_scale[2] == pytest.approx(1.5e4 + np.log(0.6), rel=1e-15)  # e^{-0.5e4} terms vanish
    np.testing.assert_allclose(np.linalg.norm(traj.W, ord=2, axis=(-2, -1)), 1.0, rtol=1e-15)
    np.testing.assert_allclose(traj.W[-1], [[1.0, 0.0], [0.0, 0.0], [0.0, 0.0]], atol=0)


def test_euclidean_start_without_top_component_scales_by_the_reachable_eigenvalue():
    C = np.diag([5.0, 1.0, -1.0])
    W0 = np.array([[0.0], [0.6], [0.8]])
    traj = flows.euclidean_closed_form(C, W0, [0.0, 500.0], normalize=True)
    np.testing.assert_allclose(traj.stats["log_scale"][1], 500.0 + np.log(0.6), rtol=1e-15)
    np.testing.assert_array_equal(traj.W[1, :, 0], [0.0, 1.0, 0.0])


@given(problems(min_d=2, min_gap=0.3, proper=False, generic=True).filter(lambda p: p[1].shape[1] >= 2))
def test_naive_flow_collapses_and_grassmann_flow_does_not(problem):
    C, W0, lam = problem
    h = W0.shape[1]
    t = np.array([0.0, 60.0 / (lam[0] - lam[1])])
    naive = flows.euclidean_closed_form(C, W0, t, normalize=True)
    erank = gd.theory.effective_rank(naive.W)
    assert erank[0] == pytest.approx(h, rel=1e-12)
    assert erank[1] - 1.0 < 1e-12
    np.testing.assert_allclose(gd.theory.top_alignment(naive.W[..., -1, :, :], C), 1.0, atol=1e-12)
    oja = flows.grassmann_closed_form(C, W0, t)
    np.testing.assert_allclose(gd.theory.effective_rank(oja.W), h, rtol=1e-12)


# -- the limit -------------------------------------------------------------------------------
@given(problems(min_gap=0.1, generic=True))
def test_limit_is_the_top_eigenspace_and_the_flow_reaches_it(problem):
    C, W0, lam = problem
    h = W0.shape[1]
    L = flows.limit(C, h)
    np.testing.assert_allclose(np.diag(L.T @ C @ L).sum(), lam[:h].sum(), atol=1e-12)
    t_end = 50.0 / (lam[h - 1] - lam[h])
    final = flows.grassmann_closed_form(C, W0, [t_end]).W[0]
    assert max_angle(final, L) < 1e-9


def test_limit_raises_without_a_gap_and_accepts_h_equal_d():
    C = np.diag([2.0, 1.0, 1.0, 0.0])
    with pytest.raises(ValueError, match=r"^h: no unique limit"):
        flows.limit(C, 2)
    assert flows.limit(C, 3).shape == (4, 3)
    assert np.array_equal(np.abs(flows.limit(C, 4)), np.eye(4))


# -- integrate is re-exported lazily ------------------------------------------------------------
def test_integrate_is_reexported_and_agrees_with_the_closed_form():
    pytest.importorskip("grassdyn.integrators")
    C = np.diag([2.0, 1.0, 0.5, -1.0])
    W0 = _frame(np.random.default_rng(2), 4, 2)
    t = np.linspace(0.0, 3.0, 4)
    num = flows.integrate(Quadratic(C), W0, t)
    assert np.max(num.principal_angles(flows.grassmann_closed_form(C, W0, t))) < 1e-6


# -- bad input ----------------------------------------------------------------------------------
_C = np.diag([2.0, 1.0, 0.0])
_W = np.eye(3)[:, :2]
BAD = [
    pytest.param(dict(C=[[1.0, 2.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]), "C", id="C-not-symmetric"),
    pytest.param(dict(C=np.diag([1.0, np.nan, 0.0])), "C", id="C-nan"),
    pytest.param(dict(C=np.diag([1.0, np.inf, 0.0])), "C", id="C-inf"),
    pytest.param(dict(C=np.ones((3, 2))), "C", id="C-not-square"),
    pytest.param(dict(C=np.eye(4)), "d", id="C-W0-size-mismatch"),
    pytest.param(dict(W0=np.ones((3, 2))), "W0", id="W0-not-orthonormal"),
    pytest.param(dict(W0=np.ones(3)), "W0", id="W0-1d"),
    pytest.param(dict(W0=np.eye(3)[:, [0, 0]] * [1.0, np.nan]), "W0", id="W0-nan"),
    pytest.param(dict(t=[0.0, -1.0]), "t", id="t-negative"),
    pytest.param(dict(t=[0.0, 2.0, 1.0]), "t", id="t-decreasing"),
    pytest.param(dict(t=[[0.0, 1.0]]), "t", id="t-2d"),
    pytest.param(dict(t=[0.0, np.inf]), "t", id="t-inf"),
]


@pytest.mark.parametrize(("change", "name"), BAD)
def test_grassmann_closed_form_rejects_bad_input(change, name):
    args = dict(C=_C, W0=_W, t=[0.0, 1.0]) | change
    with pytest.raises(ValueError, match=name):
        flows.grassmann_closed_form(args["C"], args["W0"], args["t"])


@pytest.mark.parametrize(("change", "name"), [b for b in BAD if "orthonormal" not in b.id])
def test_euclidean_closed_form_rejects_bad_input(change, name):
    args = dict(C=_C, W0=_W, t=[0.0, 1.0]) | change
    with pytest.raises(ValueError, match=name):
        flows.euclidean_closed_form(args["C"], args["W0"], args["t"])


def test_other_bad_arguments():
    with pytest.raises(ValueError, match="frame"):
        flows.grassmann_closed_form(_C, _W, [1.0], frame="polar")
    with pytest.raises(ValueError, match="W0 must not be zero"):
        flows.euclidean_closed_form(_C, np.zeros((3, 2)), [1.0])
    with pytest.raises(ValueError, match="X0"):
        flows.projector_closed_form(_C, np.ones((3, 2)), [1.0])
    with pytest.raises(ValueError, match="P must have shape"):
        flows.riccati_rhs(_C, np.eye(4))
    with pytest.raises(ValueError, match="h must be <= d"):
        flows.limit(_C, 4)
    with pytest.raises(TypeError, match="h must be an integer"):
        flows.limit(_C, 1.5)
