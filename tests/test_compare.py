"""Properties of grassdyn.compare: deviation, fluctuation prediction, finite samples, identifiability."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grassdyn import flows, grassmann, ssl
from grassdyn.compare import (
    deviation,
    finite_sample_effect,
    identifiability,
    lr_order,
    predict_fluctuation,
    stationary_sq_distance,
)
from grassdyn.data import AugmentationModel
from grassdyn.objectives import Quadratic
from grassdyn.sgd import init_frames, simulate


def _model(d: int = 6, rho: float = 0.5) -> AugmentationModel:
    return AugmentationModel(d, [3.0, 2.0], [1.5], rho=rho, noise=0.3, rng=0)


# -- deviation -------------------------------------------------------------------------------------
def test_deviation_statistics_across_seeds():
    loss = ssl.alignment(_model())
    traj = simulate(loss, init_frames(6, 2, 6, rng=1), lr=0.02, steps=200, batch_size=8, seeds=6,
                    rng=2, record_every=50)
    dev = deviation(traj, loss, levels=(0.0, 0.5, 1.0))
    assert dev.per_seed.shape == (6, 5) and dev.quantiles.shape == (3, 5)
    assert np.all(dev.per_seed[:, 0] < 1e-12)  # the flow starts where the run does
    np.testing.assert_allclose(dev.mean, dev.per_seed.mean(axis=0))
    np.testing.assert_allclose(dev.quantiles[0], dev.per_seed.min(axis=0))
    np.testing.assert_allclose(dev.quantiles[2], dev.per_seed.max(axis=0))
    assert np.all(np.diff(dev.quantiles, axis=0) >= 0)
    # the flow may be given explicitly, evaluated at the run's times from the run's starts
    flow = flows.grassmann_closed_form(loss.C, traj.W[:, 0], traj.t)
    np.testing.assert_allclose(deviation(traj, flow).per_seed, dev.per_seed, atol=1e-12)


def test_deviation_needs_the_flow_at_the_sgd_times():
    C = np.diag([2.0, 1.0, 0.0])
    traj = simulate(Quadratic(C), np.full((3, 1), 3**-0.5), lr=0.1, steps=4)
    with pytest.raises(ValueError, match="flow"):
        deviation(traj, flows.grassmann_closed_form(C, traj.W[0, 0], [0.0, 1.0]))
    with pytest.raises(ValueError, match="levels"):
        deviation(traj, C, levels=(0.5, 1.5))
    with pytest.raises(TypeError, match="sgd_traj"):
        deviation(traj.W, C)


def test_lr_order_bad_input():
    C, W0 = np.diag([2.0, 1.0, 0.0]), np.full((3, 1), 3**-0.5)
    with pytest.raises(ValueError, match="lrs"):
        lr_order(C, W0, [0.01], horizon=1.0)
    with pytest.raises(ValueError, match="lrs"):
        lr_order(C, W0, [0.3, 0.1], horizon=1.0)  # 1 / 0.3 is not an integer
    with pytest.raises(ValueError, match="horizon"):
        lr_order(C, W0, [0.1, 0.05], horizon=0.0)


# -- minibatch fluctuation around the limit --------------------------------------------------------
def _stationary(loss, h, lr, B, steps, seeds=16, rng=0):
    """Measured stationary E[dist^2] of runs started at the limit."""
    U = flows.limit(loss.C, h)
    traj = simulate(loss, U, lr=lr, steps=steps, batch_size=B, seeds=seeds, rng=rng,
                    record_every=max(1, steps // 200))
    return stationary_sq_distance(traj, U, burn_in=0.2)


@pytest.mark.parametrize(
    ("kind", "n"), [("alignment", None), ("contrastive", None), ("contrastive", 200)],
    ids=["alignment-online", "contrastive-online", "contrastive-fixed-data"],
)
def test_predicted_fluctuation_matches_simulation(kind, n):
    # a fixed data set sampled with replacement fluctuates around its empirical limit
    loss = getattr(ssl, kind)(_model() if n is None else _model().sample_pairs(n, rng=3))
    lr, B = 0.01, 16
    pred = predict_fluctuation(loss, 2, lr=lr, batch_size=B, rng=1)
    meas = _stationary(loss, 2, lr, B, steps=3000)
    ratio = meas.mean_sq_distance / pred.mean_sq_distance
    assert 0.7 < ratio < 1.4, (ratio, meas, pred.mean_sq_distance)


def test_fluctuation_scales_as_lr_over_batch_size():
    loss = ssl.alignment(_model())
    base = _stationary(loss, 2, 0.02, 16, steps=1500).mean_sq_distance
    half_lr = _stationary(loss, 2, 0.01, 16, steps=3000, rng=1).mean_sq_distance
    double_B = _stationary(loss, 2, 0.02, 32, steps=1500, rng=2).mean_sq_distance
    # the prediction: proportional to lr / B (to leading order); measured with ~10% noise
    assert 1.4 < base / half_lr < 2.8
    assert 1.4 < base / double_B < 2.8
    p = [predict_fluctuation(loss, 2, lr=lr, batch_size=B, rng=3).mean_sq_distance
         for lr, B in ((0.02, 16), (0.01, 16), (0.02, 32))]
    assert 1.8 < p[0] / p[1] < 2.2 and 1.7 < p[0] / p[2] < 2.3


def test_predict_fluctuation_bad_input():
    loss = ssl.alignment(_model())
    with pytest.raises(TypeError, match="loss"):
        predict_fluctuation(Quadratic(loss.C), 2, lr=0.01, batch_size=4)
    with pytest.raises(ValueError, match="lr"):
        predict_fluctuation(loss, 2, lr=10.0, batch_size=4)
    with pytest.raises(ValueError, match="h"):
        predict_fluctuation(loss, 6, lr=0.01, batch_size=4)
    with pytest.raises(ValueError, match="batch_size"):
        predict_fluctuation(loss, 2, lr=0.01, batch_size=0)


# -- finite samples --------------------------------------------------------------------------------
@settings(max_examples=20)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(10, 400), h=st.integers(1, 3))
def test_davis_kahan_bounds_hold_for_sampled_generators(seed, n, h):
    model = AugmentationModel(7, [3.0, 2.5, 2.0], [1.5, 1.0], rho=0.4, noise=0.5, rng=seed)
    fs = finite_sample_effect(ssl.contrastive(model.sample_pairs(n, rng=seed + 1)), ssl.contrastive(model), h)
    assert fs.sin_op <= fs.davis_kahan * (1 + 1e-12)
    assert fs.sin_fro <= fs.yu_wang_samworth * (1 + 1e-12)
    assert fs.sin_op <= fs.sin_fro <= fs.distance + 1e-15
    np.testing.assert_allclose(fs.distance, grassmann.distance(fs.empirical_limit, fs.population_limit))


def test_davis_kahan_exact_case():
    # C = diag(3, 1, 0), E rotates e1 toward e2: the top eigenvector of C + E is
    # at angle arctan(2 eps / (2 + sqrt(4 + 4 eps^2))) from e1.
    eps = 0.1
    C = np.diag([3.0, 1.0, 0.0])
    E = eps * (np.outer([1, 0, 0], [0, 1, 0]) + np.outer([0, 1, 0], [1, 0, 0]))
    fs = finite_sample_effect(C + E, C, 1)
    angle = 0.5 * np.arctan2(2 * eps, 2.0)
    assert fs.distance == pytest.approx(angle, rel=1e-12)
    assert fs.perturbation_op == pytest.approx(eps) and fs.population_gap == pytest.approx(2.0)
    assert fs.yu_wang_samworth == pytest.approx(2 * eps / 2.0)


def test_sgd_on_a_small_data_set_lands_at_the_empirical_limit_within_davis_kahan_of_the_population():
    model = _model()
    loss = ssl.alignment(model.sample_pairs(12, rng=4))
    fs = finite_sample_effect(loss, ssl.alignment(model), 2)
    traj = simulate(loss, init_frames(6, 2, 4, rng=5), lr=0.005, steps=2000, batch_size=4, seeds=4,
                    rng=6, record_every=2000)
    to_emp = traj.distance_to(fs.empirical_limit)[:, -1]
    to_pop = traj.distance_to(fs.population_limit)[:, -1]
    assert fs.distance > 0.2
    assert np.all(to_emp < 0.3 * fs.distance), (to_emp, fs.distance)
    # geodesic <= sqrt(h) theta_max and sin theta_max <= the Davis-Kahan bound
    bound = np.sqrt(2) * np.arcsin(min(1.0, fs.davis_kahan))
    assert np.all(to_pop <= to_emp + bound)


def test_finite_sample_bad_input():
    with pytest.raises(ValueError, match="shape"):
        finite_sample_effect(np.eye(3), np.eye(4), 1)
    with pytest.raises(ValueError, match="h"):
        finite_sample_effect(np.diag([2.0, 1.0, 1.0]), np.diag([2.0, 1.0, 1.0]), 2)
    with pytest.raises(TypeError, match="empirical"):
        finite_sample_effect("C", np.eye(2), 1)


# -- identifiability -------------------------------------------------------------------------------
@pytest.mark.parametrize(("rho", "identifiable"), [(0.2, True), (1.0, False)])
def test_contrastive_sgd_identifies_the_content_only_when_the_model_allows_it(rho, identifiable):
    # content variances (3, 2) against style (2.5,): kept style rho * 2.5 beats content 2 when rho = 1
    model = AugmentationModel(6, [3.0, 2.0], [2.5], rho=rho, noise=0.3, rng=7)
    loss = ssl.contrastive(model)
    traj = simulate(loss, init_frames(6, 2, 4, rng=8), lr=0.01, steps=1500, batch_size=64, seeds=4,
                    rng=9, record_every=1500)
    ident = identifiability(traj, model)
    assert ident.identifiable is identifiable
    assert ident.distance.shape == (4, 2) and np.all(ident.distance[:, 0] > 0.5)
    if identifiable:
        assert np.all(ident.distance[:, -1] < 0.2)
    else:
        assert np.all(ident.distance[:, -1] > 1.0)  # a style direction replaced a content one


def test_identifiability_of_frames_and_widths():
    model = AugmentationModel(5, [3.0, 2.0], [1.0], rho=0.5, noise=0.1, rng=0)
    assert identifiability(model.content_basis, model).distance < 1e-12
    wide = identifiability(np.eye(5)[:, :3], model)
    assert wide.angles.shape == (2,)
    with pytest.raises(TypeError, match="model"):
        identifiability(np.eye(5)[:, :2], object())
    with pytest.raises(ValueError, match="W"):
        identifiability(np.eye(4)[:, :2], model)
