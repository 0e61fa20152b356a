"""The augmentation data model and the SSL losses built on it (docs/conventions.md).

Statistical checks use a fixed seed and a tolerance of 5 standard errors per
entry (a false alarm has probability ~6e-7 per entry under the CLT).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from grassdyn import flows, ssl
from grassdyn.data import AugmentationModel
from grassdyn.grassmann import principal_angles, random_point

Z_SCORE = 5.0


def _assert_mc_close(samples, expected, axis=0):
    """Mean of ``samples`` along ``axis`` within Z_SCORE standard errors of ``expected``, entrywise."""
    n = samples.shape[axis]
    mean = samples.mean(axis=axis)
    se = samples.std(axis=axis, ddof=1) / np.sqrt(n)
    assert np.all(np.abs(mean - expected) <= Z_SCORE * se + 1e-12), np.max(np.abs(mean - expected) / se)


def _model(d=5, mean=True, rng=0):
    mu = np.array([1.0, -0.5, 0.25, 0.0, 2.0])[:d] if mean else None
    return AugmentationModel(d, content=[2.0, 1.0], style=[1.5], rho=0.6, noise=0.4, mean=mu, rng=rng)


# -- population matrices against Monte Carlo ---------------------------------------------------
def test_population_matrices_match_monte_carlo():
    model = _model()
    X, Xp, Xn = model.sample_triplets(200_000, rng=7)
    _assert_mc_close(X[:, :, None] * Xp[:, None, :], model.cross_moment)
    _assert_mc_close(X[:, :, None] * Xn[:, None, :], model.negative_moment)
    _assert_mc_close(X[:, :, None] * X[:, None, :], model.second_moment)
    _assert_mc_close(X, model.mean)


def test_population_spectral_contrastive_value_matches_monte_carlo():
    model = _model()
    loss = ssl.spectral_contrastive(model)
    W = random_point(model.d, 2, rng=3)
    X, Xp, Xn = model.sample_triplets(200_000, rng=8)
    F, G, Fn = X @ W, Xp @ W, Xn @ W
    per_sample = -np.sum(F * G, axis=1) + 0.5 * np.sum(F * Fn, axis=1) ** 2
    _assert_mc_close(per_sample, loss.value(W))


def test_population_moments_hand_example():
    A = np.eye(4)[:, :3]
    model = AugmentationModel(4, content=[3.0], style=[2.0, 1.0], rho=0.5, noise=0.1,
                              mean=[0.0, 0.0, 0.0, 2.0], mixing=A)
    np.testing.assert_allclose(model.cross_moment, np.diag([3.0, 1.0, 0.5, 4.0]))
    np.testing.assert_allclose(model.negative_moment, np.diag([0.0, 0.0, 0.0, 4.0]))
    np.testing.assert_allclose(model.second_moment, np.diag([3.01, 2.01, 1.01, 4.01]))
    np.testing.assert_allclose(ssl.contrastive(model).C, np.diag([3.0, 1.0, 0.5, 0.0]))
    np.testing.assert_array_equal(model.content_basis, A[:, :1])


# -- identifiability ---------------------------------------------------------------------------
@st.composite
def models(draw, identifiable):
    k = draw(st.integers(1, 3))
    m = draw(st.integers(1, 3))
    d = k + m + draw(st.integers(0, 2))
    rho = draw(st.floats(0.05, 1.0))
    gs = np.array(draw(st.lists(st.floats(0.1, 5.0), min_size=m, max_size=m)))
    top_style = rho * gs.max()
    if identifiable:
        lo = top_style * 1.05 + 0.01
        gc = np.array(draw(st.lists(st.floats(lo, lo + 5.0), min_size=k, max_size=k)))
    else:
        assume(top_style > 0.2)
        gc = np.array(draw(st.lists(st.floats(0.05, top_style / 1.05), min_size=1, max_size=1)))
        gc = np.concatenate([gc, draw(st.lists(st.floats(0.05, 5.0), min_size=k - 1, max_size=k - 1))])
    noise = draw(st.floats(0.0, 2.0))
    mean = draw(st.one_of(st.none(), st.lists(st.floats(-3, 3), min_size=d, max_size=d)))
    return AugmentationModel(d, gc, gs, rho, noise, mean=mean, rng=draw(st.integers(0, 2**32 - 1)))


def _top_eigenspace(C, k):
    return np.linalg.eigh(C)[1][:, ::-1][:, :k]


@given(models(identifiable=True))
def test_contrastive_top_k_eigenspace_is_the_content_when_identifiable(model):
    assert model.identifiable()
    C = ssl.contrastive(model).C
    angles = principal_angles(_top_eigenspace(C, model.k), model.content_basis)
    assert np.max(angles) < 1e-8


@given(models(identifiable=False))
def test_contrastive_top_k_eigenspace_misses_the_content_when_not_identifiable(model):
    assert not model.identifiable()
    C = ssl.contrastive(model).C
    # a style direction outranks the weakest content direction: one angle is a right angle
    angles = principal_angles(_top_eigenspace(C, model.k), model.content_basis)
    assert np.max(angles) == pytest.approx(np.pi / 2, abs=1e-6)


# -- the mean: alignment learns it first, contrastive removes it --------------------------------
def _mean_model(seed, mean_norm, d=7, noise=0.2):
    rng = np.random.default_rng(seed)
    basis = np.linalg.qr(rng.standard_normal((d, 4)))[0]
    # the mean is orthogonal to the latent directions, so it is an exact eigenvector
    mean = mean_norm * basis[:, 3]
    return AugmentationModel(d, content=[3.0, 2.0], style=[1.5], rho=0.5, noise=noise,
                             mean=mean, mixing=basis[:, :3])


@given(st.integers(0, 2**32 - 1), st.floats(1.9, 5.0))
def test_alignment_top_eigenvector_is_the_mean_and_contrastive_ignores_the_mean(seed, mean_norm):
    model = _mean_model(seed, mean_norm)
    mu_hat = model.mean / np.linalg.norm(model.mean)
    top = _top_eigenspace(ssl.alignment(model).C, 1)[:, 0]
    assert abs(top @ mu_hat) == pytest.approx(1.0, abs=1e-10)
    no_mean = AugmentationModel(model.d, model.content, model.style, model.rho, model.noise,
                                mixing=model.mixing)
    np.testing.assert_allclose(ssl.contrastive(model).C, ssl.contrastive(no_mean).C, atol=1e-12)
    assert np.linalg.norm(ssl.contrastive(model).C @ mu_hat) < 1e-12


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_alignment_flow_learns_the_mean_before_the_content_and_contrastive_learns_the_content(seed):
    model = _mean_model(seed, mean_norm=4.0)
    mu = (model.mean / np.linalg.norm(model.mean))[:, None]
    W0 = random_point(model.d, model.k + 1, rng=seed)
    t = np.linspace(0.0, 20.0, 401)
    align = flows.grassmann_closed_form(ssl.alignment(model).C, W0, t)
    mean_angle = align.principal_angles(mu)[..., 0]
    content_angle = align.principal_angles(model.content_basis)[..., -1]
    t_mean = t[np.argmax(mean_angle < 1e-2)]
    t_content = t[np.argmax(content_angle < 1e-2)]
    assert mean_angle[-1] < 1e-2 and content_angle[-1] < 1e-2
    assert t_mean < t_content
    # with only k slots the mean takes one of them for good: the content is never learned
    narrow = flows.grassmann_closed_form(ssl.alignment(model).C, W0[:, : model.k], t)
    assert narrow.principal_angles(mu)[-1, 0] < 1e-6
    assert narrow.principal_angles(model.content_basis)[-1, -1] == pytest.approx(np.pi / 2, abs=1e-6)
    # the contrastive flow ignores the mean and identifies the content
    contrast = flows.grassmann_closed_form(ssl.contrastive(model).C, W0[:, : model.k], t)
    assert np.max(contrast.principal_angles(model.content_basis)[-1]) < 1e-6


# -- empirical losses: in-batch negatives by brute force --------------------------------------------
def _tiny(seed=0, n=5, d=3):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)), rng.standard_normal((n, d)), rng.standard_normal((n, d))


def test_in_batch_negative_generator_is_the_u_statistic():
    X, Xp, _ = _tiny()
    n = X.shape[0]
    pos = sum(np.outer(X[i], Xp[i]) for i in range(n)) / n
    neg = sum(np.outer(X[i], Xp[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    expected = 0.5 * ((pos - neg) + (pos - neg).T)
    np.testing.assert_allclose(ssl.contrastive((X, Xp)).C, expected, atol=1e-14)
    np.testing.assert_allclose(ssl.alignment((X, Xp)).C, 0.5 * (pos + pos.T), atol=1e-14)


def test_explicit_negative_generator_by_brute_force():
    X, Xp, Xn = _tiny(1)
    n = X.shape[0]
    K = sum(np.outer(X[i], Xp[i] - Xn[i]) for i in range(n)) / n
    np.testing.assert_allclose(ssl.contrastive((X, Xp, Xn)).C, 0.5 * (K + K.T), atol=1e-14)


def test_spectral_contrastive_sample_value_by_brute_force():
    X, Xp, Xn = _tiny(2)
    n = X.shape[0]
    W = random_point(3, 2, rng=0)
    f = lambda x: W.T @ x  # noqa: E731
    align = -sum(f(X[i]) @ f(Xp[i]) for i in range(n)) / n
    in_batch = sum((f(X[i]) @ f(Xp[j])) ** 2 for i in range(n) for j in range(n) if i != j)
    assert ssl.spectral_contrastive((X, Xp)).value(W) == pytest.approx(
        align + 0.5 * in_batch / (n * (n - 1)), rel=1e-13)
    explicit = sum((f(X[i]) @ f(Xn[i])) ** 2 for i in range(n)) / n
    assert ssl.spectral_contrastive((X, Xp, Xn)).value(W) == pytest.approx(align + 0.5 * explicit, rel=1e-13)


@pytest.mark.parametrize("make", [ssl.alignment, ssl.contrastive], ids=lambda f: f.__name__)
@pytest.mark.parametrize("arrays", [2, 3])
def test_full_batch_of_a_quadratic_loss_is_its_value(make, arrays):
    data = _tiny(3, n=6)[:arrays]
    loss = make(data)
    W = random_point(3, 2, rng=1)
    assert loss.batch_value(W, data) == pytest.approx(loss.value(W), rel=1e-13)
    np.testing.assert_allclose(loss.batch_egrad(W, data), loss.egrad(W), atol=1e-13)


# -- minibatch gradients are unbiased -------------------------------------------------------------
LOSSES = [ssl.alignment, ssl.contrastive, ssl.spectral_contrastive]


@pytest.mark.parametrize("make", LOSSES, ids=lambda f: f.__name__)
@pytest.mark.parametrize("arrays", [2, 3])
def test_minibatch_gradient_averages_exactly_to_the_full_gradient_over_all_subsets(make, arrays):
    # minibatches without replacement: the average over every B-subset is exactly the
    # full-data gradient (each in-batch pair i != j appears equally often)
    data = _tiny(4, n=7, d=4)[:arrays]
    loss = make(data)
    W = random_point(4, 2, rng=2)
    subsets = np.array(list(itertools.combinations(range(7), 3)))
    grads = loss.batch_egrad(W, loss.take(subsets))
    np.testing.assert_allclose(grads.mean(axis=0), loss.egrad(W), atol=1e-12)


@pytest.mark.parametrize("make", LOSSES, ids=lambda f: f.__name__)
def test_random_minibatch_gradients_are_unbiased_for_the_data_set(make):
    data = _tiny(5, n=30, d=4)
    loss = make(data)
    W = random_point(4, 2, rng=3)
    batch = loss.draw(6, rng=9, batch=(40_000,), replace=False)
    grads = loss.batch_egrad(W, batch)
    _assert_mc_close(grads, loss.egrad(W))


@pytest.mark.parametrize("make", LOSSES, ids=lambda f: f.__name__)
def test_population_minibatch_gradients_are_unbiased(make):
    loss = make(_model())
    W = random_point(5, 2, rng=4)
    grads = loss.batch_egrad(W, loss.draw(8, rng=10, batch=(40_000,)))
    _assert_mc_close(grads, loss.egrad(W))


# -- sampling and validation ------------------------------------------------------------------------
def test_sampling_shapes_and_seeds():
    model = _model()
    X, Xp = model.sample_pairs(10, rng=1, batch=(3,))
    assert X.shape == Xp.shape == (3, 10, 5)
    np.testing.assert_array_equal(model.sample_pairs(4, rng=2)[0], model.sample_pairs(4, rng=2)[0])
    assert not np.array_equal(model.sample_pairs(4, rng=2)[0], model.sample_pairs(4, rng=3)[0])
    assert np.allclose(model.content_basis.T @ model.content_basis, np.eye(2))


@pytest.mark.parametrize(("rho", "same"), [(1.0, True), (0.99, False)])
def test_rho_one_without_noise_is_the_identity_augmentation(rho, same):
    model = AugmentationModel(4, [1.0], [2.0], rho=rho, noise=0.0, rng=0)
    X, Xp = model.sample_pairs(20, rng=1)
    assert np.allclose(X, Xp, atol=1e-14) == same


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        pytest.param(dict(rho=1.5), ValueError, "rho", id="rho-above-one"),
        pytest.param(dict(rho=-0.1), ValueError, "rho", id="rho-negative"),
        pytest.param(dict(content=[-1.0]), ValueError, "content", id="negative-content"),
        pytest.param(dict(style=[[1.0]]), ValueError, "style", id="style-2d"),
        pytest.param(dict(content=[]), ValueError, "content", id="no-content"),
        pytest.param(dict(d=2), ValueError, "d must be", id="d-too-small"),
        pytest.param(dict(noise=-1.0), ValueError, "noise", id="negative-noise"),
        pytest.param(dict(mean=[1.0, 2.0]), ValueError, "mean", id="mean-shape"),
        pytest.param(dict(mixing=np.ones((4, 3))), ValueError, "mixing", id="mixing-not-orthonormal"),
        pytest.param(dict(d=2.5), TypeError, "d must be an integer", id="d-float"),
    ],
)
def test_model_rejects_bad_input(kwargs, error, match):
    args = dict(d=4, content=[2.0, 1.0], style=[1.0], rho=0.5, noise=0.1) | kwargs
    with pytest.raises(error, match=match):
        AugmentationModel(**args)


def test_losses_reject_bad_sources():
    X = np.ones((5, 3))
    with pytest.raises(TypeError, match="source"):
        ssl.alignment(X)
    with pytest.raises(ValueError, match="same shape"):
        ssl.contrastive((X, np.ones((4, 3))))
    with pytest.raises(ValueError, match="at least 2 rows"):
        ssl.contrastive((X[:1], X[:1]))
    with pytest.raises(ValueError, match="batch_size"):
        ssl.alignment((X, X)).draw(6, rng=0)
