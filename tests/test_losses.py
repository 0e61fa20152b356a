"""Barlow Twins, VICReg and InfoNCE: gradients, invariance, minibatch bias, flows and bad input.

InfoNCE's own statistics (Monte Carlo against the closed form, the O(1/B)
bias, the high-temperature limit) are in ``tests/test_losses_info_nce.py``.
"""

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from grassdyn import flows, grassmann, sgd, ssl
from grassdyn.data import AugmentationModel
from grassdyn.objectives import check_gradient


@st.composite
def models(draw):
    k = draw(st.integers(1, 2))
    m = draw(st.integers(1, 2))
    d = k + m + draw(st.integers(0, 2))
    gc = draw(st.lists(st.floats(0.5, 4.0), min_size=k, max_size=k))
    gs = draw(st.lists(st.floats(0.1, 3.0), min_size=m, max_size=m))
    mean = draw(st.one_of(st.none(), st.lists(st.floats(-1, 1), min_size=d, max_size=d)))
    return AugmentationModel(d, gc, gs, draw(st.floats(0.0, 1.0)), draw(st.floats(0.05, 1.0)), mean=mean,
                             rng=draw(st.integers(0, 2**32 - 1)))


def _losses(model, rng):
    """Every new loss, population and empirical forms, with a few settings each."""
    X, Xp = model.sample_pairs(24, rng)
    return {
        "barlow_twins": ssl.barlow_twins(model),
        "barlow_twins_beta": ssl.barlow_twins(model, off_diagonal=0.3),
        "barlow_twins_data": ssl.barlow_twins((X, Xp)),
        "vicreg": ssl.vicreg(model),
        "vicreg_data": ssl.vicreg((X, Xp), gamma=2.0),
        "info_nce": ssl.info_nce(model, temperature=0.7),
        "info_nce_cosine": ssl.info_nce(model, similarity="cosine", mc_samples=64, rng=rng),
        "info_nce_data_all": ssl.info_nce((X, Xp), negatives="all", temperature=2.0),
    }


LOSS_NAMES = list(_losses(AugmentationModel(3, [1.0], [1.0], 0.5, 0.1, rng=0), 0))


# -- gradients ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name", LOSS_NAMES)
@given(model=models(), seed=st.integers(0, 2**32 - 1), scale=st.floats(0.1, 1.5))
def test_every_gradient_passes_the_taylor_check_off_and_on_the_manifold(name, model, seed, scale):
    rng = np.random.default_rng(seed)
    loss = _losses(model, rng)[name]
    h = min(2, model.d)
    frame = grassmann.random_point(model.d, h, rng)
    for W in (frame, scale * rng.standard_normal((model.d, h))):
        result = check_gradient(loss, W, rng=rng)
        assert result.status in ("passed", "inconclusive"), (name, result.slope)
        assert result.status == "passed" or np.all(result.errors < 1e-8)


@pytest.mark.parametrize("name", LOSS_NAMES)
def test_batch_gradient_is_the_gradient_of_the_batch_value_and_broadcasts_over_seeds(name):
    model = AugmentationModel(5, [2.0, 1.0], [1.0], 0.4, 0.3, mean=[0.2] * 5, rng=1)
    loss = _losses(model, 2)[name]
    rng = np.random.default_rng(3)
    W = rng.standard_normal((3, 5, 2)) * 0.6
    batch = loss.draw(6, rng, batch=(3,)) if loss.is_population else loss.take(rng.integers(0, 24, (3, 6)))
    G = loss.batch_egrad(W, batch)
    assert G.shape == W.shape and loss.batch_value(W, batch).shape == (3,)
    for s in range(3):
        one = tuple(b[s] for b in batch)
        np.testing.assert_allclose(loss.batch_egrad(W[s], one), G[s], rtol=1e-12, atol=1e-14)
        D = rng.standard_normal((5, 2))
        e = 1e-6
        fd = (loss.batch_value(W[s] + e * D, one) - loss.batch_value(W[s] - e * D, one)) / (2 * e)
        assert fd == pytest.approx(np.sum(G[s] * D), rel=1e-6, abs=1e-9)


def test_barlow_twins_hand_example():
    # Gamma = diag(4, 1) (no noise, no style), W = diag(a, b): C_cc = diag(4 a^2, b^2)
    model = AugmentationModel(2, [4.0, 1.0], [], 1.0, 0.0, mixing=np.eye(2))
    loss = ssl.barlow_twins(model, off_diagonal=0.5)
    W = np.array([[0.25, 0.0], [0.0, 2.0]])
    assert loss.value(W) == pytest.approx((0.25 - 1) ** 2 + (4 - 1) ** 2)
    # dL/da = 2 (4 a^2 - 1) 8 a at a = 1/4: -3; dL/db = 2 (b^2 - 1) 2 b at b = 2: 24
    np.testing.assert_allclose(loss.egrad(W), np.diag([-3.0, 24.0]))
    W[0, 1] = 0.1  # an off-diagonal entry of C_cc = 4 * 0.25 * 0.1 ... weighs beta = 0.5
    Ccc = W.T @ np.diag([4.0, 1.0]) @ W
    expected = np.sum(np.diag(Ccc - np.eye(2)) ** 2) + 0.5 * 2 * Ccc[0, 1] ** 2
    assert loss.value(W) == pytest.approx(expected)


# -- invariance under W -> W Q -----------------------------------------------------------------
@given(model=models(), seed=st.integers(0, 2**32 - 1))
def test_invariance_under_rotations_is_as_documented(model, seed):
    rng = np.random.default_rng(seed)
    h = min(2, model.d)
    W = rng.standard_normal((model.d, h))
    Q = grassmann.random_point(h, h, rng)
    for name, loss in _losses(model, rng).items():
        same = np.isclose(loss.value(W @ Q), loss.value(W), rtol=1e-9, atol=1e-11)
        if loss.grassmann_invariant:
            assert same, name
            batch = loss.draw(5, rng) if loss.is_population else loss.take(np.arange(5))
            assert loss.batch_value(W @ Q, batch) == pytest.approx(loss.batch_value(W, batch), rel=1e-9)
            np.testing.assert_allclose(loss.egrad(W @ Q), loss.egrad(W) @ Q, rtol=1e-8, atol=1e-10)


def test_the_non_invariant_losses_do_change_under_a_rotation():
    model = AugmentationModel(5, [3.0, 1.0], [2.0], 0.5, 0.2, rng=0)
    W = np.random.default_rng(1).standard_normal((5, 2))
    c, s = np.cos(0.6), np.sin(0.6)
    Q = np.array([[c, -s], [s, c]])
    for loss in (ssl.vicreg(model), ssl.barlow_twins(model, off_diagonal=0.2)):
        assert not loss.grassmann_invariant
        assert abs(loss.value(W @ Q) - loss.value(W)) > 1e-3 * abs(loss.value(W))


# -- minibatch bias ----------------------------------------------------------------------------
@given(seed=st.integers(0, 2**32 - 1), beta=st.floats(0.0, 2.0), B=st.integers(1, 3))
def test_barlow_twins_minibatch_bias_is_exactly_the_variance_over_B(seed, beta, B):
    # over all n^B ordered batches drawn with replacement (equally likely), the mean batch gradient is
    # egrad + (1/B) grad V, V = sum omega_ij Var(c_ij), c = sym(x x+^T) one row's estimate
    rng = np.random.default_rng(seed)
    n, d, h = 3, 4, 2
    X, Xp = rng.standard_normal((n, d)), rng.standard_normal((n, d))
    loss = ssl.barlow_twins((X, Xp), off_diagonal=beta)
    W = rng.standard_normal((d, h))
    idx = np.array(list(itertools.product(range(n), repeat=B)))
    batch = loss.take(idx)
    mean_grad = loss.batch_egrad(np.broadcast_to(W, (len(idx), d, h)), batch).mean(axis=0)
    mean_val = loss.batch_value(np.broadcast_to(W, (len(idx), d, h)), batch).mean()
    # one row's loss L_r(W) = sum omega (c_r - I)^2 is the batch loss of that row alone; since
    # mean_r c_r = C_cc, mean_r L_r - L = sum omega Var(c_ij) = V exactly
    rows = [(X[r:r + 1], Xp[r:r + 1]) for r in range(n)]
    V = np.mean([loss.batch_value(W, row) for row in rows]) - loss.value(W)
    grad_V = np.mean([loss.batch_egrad(W, row) for row in rows], axis=0) - loss.egrad(W)
    c = np.stack([(W.T @ (0.5 * (np.outer(x, xp) + np.outer(xp, x))) @ W)
                  for x, xp in zip(X, Xp, strict=True)])
    assert V == pytest.approx(np.sum(loss._weights(h) * c.var(axis=0)), rel=1e-9, abs=1e-12)
    np.testing.assert_allclose(mean_grad, loss.egrad(W) + grad_V / B, rtol=1e-9, atol=1e-11)
    assert mean_val == pytest.approx(loss.value(W) + V / B, rel=1e-9, abs=1e-11)


def test_vicreg_minibatch_bias_matches_the_wishart_variance():
    # variance weight 0: E[batch] - population = (2 nu / h) sum_{i != j} (S_ii S_jj + S_ij^2) / (B - 1)
    # (the batch covariance of Gaussian views is Wishart); the invariance term is unbiased, left out here
    model = AugmentationModel(4, [2.0, 1.0], [1.0], 0.5, 0.3, mean=[0.5, 0, 0, 0], rng=0)
    loss = ssl.vicreg(model, invariance=0.0, variance=0.0, covariance=1.0)
    W = np.random.default_rng(1).standard_normal((4, 2)) * 0.8
    S = W.T @ loss.Cov @ W
    for B in (4, 16):
        vals = loss.batch_value(W, loss.draw(B, B, batch=(40000,)))
        bias = (2.0 / 2) * 2 * (S[0, 0] * S[1, 1] + S[0, 1] ** 2) / (B - 1)
        se = vals.std() / np.sqrt(vals.size)
        assert abs(vals.mean() - loss.value(W) - bias) < 4 * se, (B, vals.mean() - loss.value(W), bias, se)
        assert bias > 10 * se


@given(seed=st.integers(0, 2**32 - 1))
def test_vicreg_full_batch_of_the_data_is_its_value(seed):
    rng = np.random.default_rng(seed)
    X, Xp = rng.standard_normal((7, 4)), rng.standard_normal((7, 4))
    loss = ssl.vicreg((X, Xp))
    W = rng.standard_normal((4, 3))
    assert loss.batch_value(W, (X, Xp)) == pytest.approx(loss.value(W), rel=1e-12)
    np.testing.assert_allclose(loss.batch_egrad(W, (X, Xp)), loss.egrad(W), rtol=1e-12)


# -- flows, SGD and refusal on the Grassmannian -----------------------------------------------
def test_new_losses_run_through_integrate_and_simulate():
    model = AugmentationModel(6, [3.0, 2.0], [1.0], 0.3, 0.2, rng=0)
    W0 = sgd.init_frames(6, 2, 2, rng=1, kind="gaussian", scale=0.3)
    frame = grassmann.random_point(6, 2, 2)
    for loss in (ssl.barlow_twins(model), ssl.vicreg(model), ssl.info_nce(model)):
        # VICReg's flow slides along the hinge std = gamma (a kink): fixed steps, not error control
        kw = {"method": "rk4", "step": 1e-3} if loss.name == "vicreg" else {}
        flow = flows.integrate(loss, W0[0], [0.0, 0.5], manifold="euclidean", **kw)
        run = sgd.simulate(loss, W0, lr=0.01, steps=20, batch_size=16, seeds=2, rng=0, manifold="euclidean")
        assert np.all(np.isfinite(flow.W)) and np.all(np.isfinite(run.W))
        if loss.grassmann_invariant:
            g = flows.integrate(loss, frame, [0.0, 0.5])
            r = sgd.simulate(loss, frame, lr=0.01, steps=20, batch_size=16, rng=0)
            assert g.stats["max_orthogonality_defect"] < 1e-12 and r.stats["max_orthogonality_defect"] < 1e-12


@pytest.mark.parametrize("loss", [
    ssl.vicreg(AugmentationModel(4, [1.0], [1.0], 0.5, 0.1, rng=0)),
    ssl.barlow_twins(AugmentationModel(4, [1.0], [1.0], 0.5, 0.1, rng=0), off_diagonal=0.5),
], ids=["vicreg", "barlow_twins_beta"])
def test_the_grassmannian_flows_refuse_a_loss_that_is_not_invariant(loss):
    W = grassmann.random_point(4, 2, 0)
    with pytest.raises(ValueError, match="grassmann_invariant"):
        flows.integrate(loss, W, [0.0, 1.0])
    with pytest.raises(ValueError, match="grassmann_invariant"):
        sgd.simulate(loss, W, lr=0.1, steps=2)
    with pytest.raises(ValueError, match="grassmann_invariant"):
        sgd.simulate(loss, W, lr=0.1, steps=2, batch_size=4)


def test_sgd_diverging_under_barlow_twins_raises_divergence_error():
    loss = ssl.barlow_twins(AugmentationModel(4, [3.0], [1.0], 0.5, 0.1, rng=0))
    with pytest.raises(sgd.DivergenceError, match="diverged at step"):
        sgd.simulate(loss, np.eye(4)[:, :2] + 0.1, lr=5.0, steps=50, batch_size=8, rng=0,
                     manifold="euclidean")


MODEL = AugmentationModel(4, [1.0], [1.0], 0.5, 0.1, rng=0)


@pytest.mark.parametrize("make, match", [
    (lambda: ssl.info_nce(MODEL, temperature=0.0), "temperature"),
    (lambda: ssl.info_nce(MODEL, temperature=-1.0), "temperature"),
    (lambda: ssl.info_nce(MODEL, temperature=float("inf")), "temperature"),
    (lambda: ssl.info_nce(MODEL, temperature=float("nan")), "temperature"),
    (lambda: ssl.info_nce(MODEL, similarity="euclid"), "similarity"),
    (lambda: ssl.info_nce(MODEL, negatives="none"), "negatives"),
    (lambda: ssl.info_nce(MODEL).draw(1, 0), "batch_size"),
    (lambda: ssl.info_nce(MODEL).batch_egrad(np.ones((4, 1)), MODEL.sample_pairs(1, 0)), "batch_size"),
    (lambda: ssl.barlow_twins(MODEL, off_diagonal=-0.1), "off_diagonal"),
    (lambda: ssl.vicreg(MODEL, invariance=-1.0), "invariance"),
    (lambda: ssl.vicreg(MODEL, variance=-1.0), "variance"),
    (lambda: ssl.vicreg(MODEL, covariance=-1.0), "covariance"),
    (lambda: ssl.vicreg(MODEL, gamma=-1.0), "gamma"),
    (lambda: ssl.vicreg(MODEL, eps=0.0), "eps"),
    (lambda: ssl.vicreg(MODEL).draw(1, 0), "batch_size"),
    (lambda: sgd.simulate(ssl.info_nce(MODEL), grassmann.random_point(4, 1, 0), lr=0.1, steps=2,
                          batch_size=1), "batch_size"),
], ids=lambda x: x if isinstance(x, str) else "")
def test_bad_input_names_the_argument(make, match):
    with pytest.raises(ValueError, match=match):
        make()
