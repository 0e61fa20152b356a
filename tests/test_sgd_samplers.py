"""The exact online sampler and the stacked fixed-data gradient of grassdyn.sgd (issue 10).

The exact sampler must give minibatch gradients with exactly the law of the naive
ones (grassdyn/ssl/_online.py): compared through means and covariances with
z-scores over many independent draws, with a negative control that a sampler
missing one term is caught by the same statistics.
"""

from __future__ import annotations

import numpy as np
import pytest

from grassdyn import grassmann, ssl
from grassdyn.compare import predict_fluctuation, stationary_sq_distance
from grassdyn.data import AugmentationModel
from grassdyn.flows import limit
from grassdyn.sgd import init_frames, simulate


def _model(d=6, mean=True):
    mu = 0.3 * np.arange(d) / d if mean else None
    return AugmentationModel(d, [3.0, 2.0], [1.5], rho=0.4, noise=0.5, mean=mu, rng=0)


def _max_z(a, b):
    """Largest |z| between the means, and between the covariance entries, of samples a, b (n, p)."""
    n = a.shape[0]
    z_mean = np.abs(a.mean(0) - b.mean(0)) / np.sqrt((a.var(0) + b.var(0)) / n)
    pa = (a - a.mean(0))[:, :, None] * (a - a.mean(0))[:, None, :]
    pb = (b - b.mean(0))[:, :, None] * (b - b.mean(0))[:, None, :]
    z_cov = np.abs(pa.mean(0) - pb.mean(0)) / np.sqrt((pa.var(0) + pb.var(0)) / n)
    return float(z_mean.max()), float(z_cov.max())


# about 80 covariance entries and 12 means: |z| < 4.5 holds for all with probability > 0.999
Z_MAX = 4.5


@pytest.mark.parametrize("kind", ["alignment", "contrastive"])
@pytest.mark.parametrize("B", [5, 40], ids=["direct", "bartlett"])
@pytest.mark.parametrize("orthonormal", [True, False], ids=["frame", "any-W"])
def test_exact_gradient_has_the_law_of_the_naive_minibatch_gradient(kind, B, orthonormal):
    model = _model()
    loss = getattr(ssl, kind)(model)
    rng = np.random.default_rng(1)
    W = grassmann.random_point(6, 2, rng) if orthonormal else rng.standard_normal((6, 2))
    noise = loss.online_noise(B, 2)
    assert noise.bartlett == (B == 40)
    n = 12000
    S, N = noise.draw(np.random.default_rng(2), n)
    exact = noise.egrad(W, S, N, orthonormal=orthonormal).reshape(n, -1)
    naive = loss.batch_egrad(W, loss.draw(B, np.random.default_rng(3), batch=(n,))).reshape(n, -1)
    z_mean, z_cov = _max_z(exact, naive)
    assert z_mean < Z_MAX and z_cov < Z_MAX, (z_mean, z_cov)
    # both unbiased: the mean is the population gradient -C W
    np.testing.assert_allclose(exact.mean(0), -(loss.C @ W).ravel(), atol=6 * exact.std(0).max() / np.sqrt(n))
    # negative control: without the (I - P) N L^T term the same statistics reject
    missing = noise.egrad(W, S, np.zeros_like(N), orthonormal=orthonormal).reshape(n, -1)
    assert _max_z(missing, naive)[1] > 2 * Z_MAX


def test_one_sgd_step_has_the_mean_and_covariance_of_the_naive_sampler():
    model = _model()
    loss = ssl.contrastive(model)
    W0 = grassmann.random_point(6, 2, rng=4)
    kw = dict(lr=0.2, steps=1, batch_size=8, seeds=600, record_every=1)
    exact = simulate(loss, W0, rng=5, sampler="exact", **kw)
    naive = simulate(loss, W0, rng=6, sampler="naive", **kw)
    assert exact.params["sampler"] == "exact" and naive.params["sampler"] == "naive"
    # frames of the same subspace differ by a rotation: compare the projectors' entries
    P1, P2 = (t.W[:, 1] @ np.swapaxes(t.W[:, 1], -1, -2) for t in (exact, naive))
    iu = np.triu_indices(6)
    z_mean, z_cov = _max_z(P1[:, iu[0], iu[1]], P2[:, iu[0], iu[1]])
    assert z_mean < Z_MAX + 0.5 and z_cov < Z_MAX + 0.5, (z_mean, z_cov)


def test_stationary_spread_matches_the_predicted_fluctuation():
    model = AugmentationModel(8, [3.0, 2.0], [1.5, 1.0], rho=0.5, noise=0.3, rng=0)
    loss = ssl.alignment(model)
    lr, B, steps = 0.01, 16, 3000
    U = limit(loss.C, 2)
    pred = predict_fluctuation(loss, 2, lr=lr, batch_size=B, rng=1)
    traj = simulate(loss, U, lr=lr, steps=steps, batch_size=B, seeds=24, rng=7, record_every=15,
                    sampler="exact")
    meas = stationary_sq_distance(traj, U, burn_in=0.2)
    ratio = meas.mean_sq_distance / pred.mean_sq_distance
    assert 0.8 < ratio < 1.25, (ratio, meas)


def test_exact_sampler_runs_are_reproducible_and_seed_vectorisation_is_exact():
    loss = ssl.alignment(_model())
    W0 = init_frames(6, 2, 3, rng=8)
    kw = dict(lr=0.05, steps=30, batch_size=7, record_every=10, sampler="exact")
    run = simulate(loss, W0, seeds=3, rng=9, **kw)
    np.testing.assert_array_equal(run.W, simulate(loss, W0, seeds=3, rng=9, **kw).W)
    for i in range(3):
        alone = simulate(loss, W0[i], seeds=1, rng=run.seeds[i : i + 1], **kw)
        np.testing.assert_allclose(alone.W[0], run.W[i], rtol=0, atol=1e-12)
    assert simulate(loss, W0, seeds=3, rng=9, lr=0.05, steps=30, batch_size=7).params["sampler"] == "exact"


def test_exact_sampler_on_the_euclidean_model_keeps_the_naive_law_of_the_first_step():
    loss = ssl.alignment(_model(mean=False))
    W0 = 0.3 * np.random.default_rng(10).standard_normal((6, 2))
    kw = dict(lr=0.1, steps=1, batch_size=6, seeds=600, manifold="euclidean")
    a = simulate(loss, W0, rng=11, sampler="exact", **kw).W[:, 1].reshape(600, -1)
    b = simulate(loss, W0, rng=12, sampler="naive", **kw).W[:, 1].reshape(600, -1)
    z_mean, z_cov = _max_z(a, b)
    assert z_mean < Z_MAX and z_cov < Z_MAX


@pytest.mark.parametrize("views", ["alignment", "contrastive-pairs", "contrastive-triplets"])
def test_stacked_fixed_data_gradient_is_the_batch_gradient(views):
    model = _model()
    kind, _, how = views.partition("-")
    data = model.sample_triplets(50, rng=13) if how == "triplets" else model.sample_pairs(50, rng=13)
    loss = getattr(ssl, kind)(data)
    pairs = loss.stacked_pairs()
    idx = np.random.default_rng(14).integers(0, 50, size=(4, 9))
    W = grassmann.random_point(6, 2, rng=15, batch=4)
    np.testing.assert_allclose(pairs.egrad(W, pairs.take(idx)), loss.batch_egrad(W, loss.take(idx)),
                               rtol=1e-12, atol=1e-13)


def test_sampler_bad_input_names_the_argument():
    model = _model()
    W0 = grassmann.random_point(6, 2, rng=0)
    with pytest.raises(ValueError, match="sampler"):
        simulate(ssl.alignment(model), W0, lr=0.1, steps=2, batch_size=4, sampler="fast")
    with pytest.raises(ValueError, match="sampler"):
        simulate(ssl.spectral_contrastive(model), W0, lr=0.1, steps=2, batch_size=4, sampler="exact")
    with pytest.raises(ValueError, match="sampler"):
        simulate(ssl.alignment(model.sample_pairs(20, rng=1)), W0, lr=0.1, steps=2, batch_size=4,
                 sampler="exact")
    with pytest.raises(ValueError, match="sampler"):
        simulate(ssl.alignment(model), W0, lr=0.1, steps=2, sampler="exact")
    with pytest.raises(ValueError, match="online_noise"):
        ssl.alignment(model.sample_pairs(20, rng=1)).online_noise(4, 2)
    with pytest.raises(ValueError, match="stacked_pairs"):
        ssl.alignment(model).stacked_pairs()
