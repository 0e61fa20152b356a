"""Stepwise learning of Barlow Twins: the sympy derivation, the prediction against the integrator."""

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from grassdyn import flows, grassmann, sgd, ssl, theory
from grassdyn.data import AugmentationModel
from grassdyn.symbolic import barlow_twins_modes


def test_sympy_derives_the_logistic_mode_equation_and_step_time_from_the_loss():
    modes = barlow_twins_modes(2)
    assert modes.holds
    g, s, s0 = (modes.symbols[k] for k in ("gamma", "s", "s0"))
    assert sp.simplify(modes.mode_ode.rhs[0] - 8 * g * s * (1 - s)) == 0
    assert sp.simplify(modes.step_time - sp.log((1 - s0) / s0) / (8 * g)) == 0
    # the off-diagonal weight beta does not enter the aligned dynamics
    assert all(not e.has(modes.symbols["beta"]) for e in modes.amplitude_rhs)
    assert "8 \\gamma" in modes.to_latex()


def test_prediction_solves_the_logistic_equation():
    t = np.linspace(0.0, 3.0, 30001)
    p = theory.stepwise([2.0, 0.7, -0.3], [1e-3, 1e-2, 0.2], t)
    ds = np.gradient(p.modes, t, axis=0)
    rhs = 8 * p.eigenvalues * p.modes * (1 - p.modes)
    np.testing.assert_allclose(ds[1:-1], rhs[1:-1], atol=1e-6)
    assert np.isinf(p.step_times[2]) and p.modes[-1, 2] < 0.2
    for i in range(2):
        assert np.interp(0.5, p.modes[:, i], t) == pytest.approx(p.step_times[i], abs=1e-6)
    assert p.step_counts(0.01)[0] == pytest.approx(p.step_times[0] / 0.01)


@settings(max_examples=10)
@given(gamma=st.lists(st.floats(0.3, 3.0), min_size=2, max_size=3, unique=True),
       log_s0=st.floats(-9.0, -2.0), seed=st.integers(0, 2**32 - 1))
def test_aligned_start_follows_the_prediction_exactly(gamma, log_s0, seed):
    # Gamma = Q diag(gamma, 0...) Q^T, W0 = Q[:, :h] diag(a0) U^T: the integrator matches the closed form
    rng = np.random.default_rng(seed)
    gamma = np.sort(gamma)[::-1]
    h, d = len(gamma), len(gamma) + 2
    Q = grassmann.random_point(d, d, rng)
    model = AugmentationModel(d, gamma, [], 1.0, 0.0, mixing=Q[:, :h])  # Gamma = A diag(gamma) A^T
    beta = float(rng.choice([1.0, rng.uniform(0.2, 2.0)]))
    loss = ssl.barlow_twins(model, off_diagonal=beta)
    s0 = np.exp(log_s0) * rng.uniform(0.5, 2.0, h)
    # any orthonormal u_i when beta = 1 (invariance under W -> W Q); the coordinate axes otherwise
    U = grassmann.random_point(h, h, rng) if beta == 1.0 else np.eye(h)
    W0 = Q[:, :h] @ np.diag(np.sqrt(s0 / gamma)) @ U.T
    eig, init = theory.stepwise_initial(loss.Gamma, W0)
    np.testing.assert_allclose(eig, gamma, rtol=1e-10)
    np.testing.assert_allclose(init, s0, rtol=1e-8)
    t = np.linspace(0.0, 1.5 * theory.stepwise(eig, init, [0.0]).step_times.max(), 40)
    pred = theory.stepwise(eig, init, t)
    flow = flows.integrate(loss, W0, t, manifold="euclidean", rtol=1e-10, atol=1e-14)
    measured = np.linalg.eigvalsh(loss.cross_correlation(flow.W))  # ascending; modes may cross
    np.testing.assert_allclose(measured, np.sort(pred.modes, axis=1), atol=1e-6)


def test_random_small_start_learns_modes_in_order_of_eigenvalue_near_the_predicted_times():
    model = AugmentationModel(8, [3.0, 2.0, 1.2], [0.6], 0.5, 0.1, rng=0)
    loss = ssl.barlow_twins(model)
    W0 = sgd.init_frames(8, 3, 1, rng=1, kind="gaussian", scale=1e-3)[0]
    eig, init = theory.stepwise_initial(loss.Gamma, W0)
    pred = theory.stepwise(eig, init, np.linspace(0, 1.3 * 1.2 / eig[-1] * np.log(1 / init[-1]) / 8, 400))
    flow = flows.integrate(loss, W0, pred.t, manifold="euclidean")
    measured = np.linalg.eigvalsh(loss.cross_correlation(flow.W))[:, ::-1]
    crossings = np.array([np.interp(0.5, measured[:, i], pred.t) for i in range(3)])
    assert np.all(np.diff(crossings) > 0)
    # the Gram-Schmidt initial values: within 1%; the raw row norms gamma_i |r_i|^2 miss the later modes
    np.testing.assert_allclose(crossings, pred.step_times, rtol=0.01)
    rows = np.linalg.eigh(loss.Gamma)[1][:, ::-1][:, :3].T @ W0
    raw = theory.stepwise(eig, eig * np.sum(rows**2, axis=1), [0.0]).step_times
    assert abs(raw[2] - crossings[2]) > 3 * abs(pred.step_times[2] - crossings[2])


def test_gradient_descent_steps_at_the_discrete_rate():
    # exact GD at lr: rows grow by (1 + 4 gamma lr) per step, rate 2 ln(1 + 4 gamma lr) / lr at t = k lr
    model = AugmentationModel(6, [5.0, 2.0], [], 1.0, 0.0, rng=0)
    loss = ssl.barlow_twins(model)
    W0 = sgd.init_frames(6, 2, 1, rng=2, kind="gaussian", scale=1e-3)[0]
    eig, init = theory.stepwise_initial(loss.Gamma, W0)
    lr = 0.004
    pred = theory.stepwise(eig, init, [0.0], lr=lr)
    flow_pred = theory.stepwise(eig, init, [0.0])
    run = sgd.simulate(loss, W0, lr=lr, steps=round(1.3 * pred.step_times.max() / lr), manifold="euclidean")
    ev = np.linalg.eigvalsh(loss.cross_correlation(run.W[0]))[:, ::-1]
    crossings = np.array([np.interp(0.5, ev[:, i], run.t) for i in range(2)])
    np.testing.assert_allclose(crossings, pred.step_times, rtol=0.01)
    assert abs(crossings[0] - flow_pred.step_times[0]) > 3 * abs(crossings[0] - pred.step_times[0])


@pytest.mark.parametrize("args, match", [
    (([1.0], [0.0], [0.0]), "initial"),
    (([1.0], [0.6], [0.0]), "initial"),
    (([1.0], [0.1], [-1.0]), "t"),
    (([[1.0]], [0.1], [0.0]), "eigenvalues"),
    (([float("nan")], [0.1], [0.0]), "eigenvalues"),
])
def test_stepwise_rejects_bad_input(args, match):
    with pytest.raises(ValueError, match=match):
        theory.stepwise(*args)
