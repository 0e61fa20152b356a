"""Adam in ``sgd.simulate``: the update of Kingma & Ba, Riemannian Adam on Gr(d, h), weight decay, seeds."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grassdyn import flows, grassmann, sgd, ssl
from grassdyn.data import AugmentationModel
from grassdyn.objectives import Quadratic
from grassdyn.strategies import spectra

C = np.diag([3.0, 2.0, 1.0, 0.5, 0.0])
LOSS = Quadratic(C)


def _reference_adam(W, grads, lr, b1, b2, eps, wd):
    """Adam of Kingma & Ba (Algorithm 1) written out step by step on one frame, L2 weight decay."""
    m = np.zeros_like(W)
    v = np.zeros_like(W)
    for k in range(1, len(grads) + 1):
        g = grads[k - 1](W) + wd * W
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
        W = W - lr * (m / (1 - b1**k)) / (np.sqrt(v / (1 - b2**k)) + eps)
    return W


@given(seed=st.integers(0, 2**32 - 1), b1=st.floats(0.0, 0.99), b2=st.floats(0.0, 0.9999),
       wd=st.sampled_from([0.0, 0.1]))
def test_euclidean_adam_is_kingma_and_ba_algorithm_1(seed, b1, b2, wd):
    rng = np.random.default_rng(seed)
    W0 = rng.standard_normal((5, 2))
    run = sgd.simulate(LOSS, W0, lr=0.01, steps=7, optimizer="adam", betas=(b1, b2), eps=1e-8,
                       weight_decay=wd, manifold="euclidean")
    expected = _reference_adam(W0, [LOSS.egrad] * 7, 0.01, b1, b2, 1e-8, wd)
    np.testing.assert_allclose(run.W[0, -1], expected, rtol=1e-13, atol=1e-15)


def test_first_adam_step_is_a_sign_step_and_time_is_k_lr():
    # bias correction makes m_hat = g, v_hat = g^2 at step 1: the step is -lr g / (|g| + eps)
    W0 = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 2.0], [0.5, 0.0], [0.0, 1.0]])
    run = sgd.simulate(LOSS, W0, lr=0.05, steps=1, optimizer="adam", manifold="euclidean")
    g = LOSS.egrad(W0)
    np.testing.assert_allclose(run.W[0, -1], W0 - 0.05 * g / (np.abs(g) + 1e-8), rtol=1e-14)
    assert run.t.tolist() == [0.0, 0.05] and run.params["betas"] == (0.9, 0.999)


def test_riemannian_adam_first_step_is_a_normalised_gradient_step():
    # one scalar second moment per seed: the first step is -lr grad / (||grad||_F + eps), retracted
    W0 = grassmann.random_point(5, 2, 0)
    run = sgd.simulate(LOSS, W0, lr=0.05, steps=1, optimizer="adam")
    G = -C @ W0
    rg = G - W0 @ (W0.T @ G)
    expected = grassmann.retract(W0, -0.05 * rg / (np.linalg.norm(rg) + 1e-8), "qr")
    np.testing.assert_allclose(run.W[0, -1], expected, rtol=1e-12, atol=1e-14)
    assert run.params["transport"] == "projection"


@settings(max_examples=10)
@given(lam=spectra(5, min_gap=0.3, min_value=-2.0, max_value=3.0), seed=st.integers(0, 2**32 - 1))
def test_riemannian_adam_is_equivariant_under_w_to_wq(lam, seed):
    # g(WQ) = g(W) Q, m(WQ) = m Q, the scalar v is unchanged and polar(A Q) = polar(A) Q: the same
    # subspaces, to rounding (the QR retraction changes the frame's gauge by O(lr^2) per step instead)
    rng = np.random.default_rng(seed)
    loss = Quadratic(np.diag(lam))
    W0 = grassmann.random_point(5, 2, rng)
    Q = grassmann.random_point(2, 2, rng)
    kw = dict(lr=0.02, steps=200, optimizer="adam", record_every=50, retraction="polar")
    a, b = sgd.simulate(loss, W0, **kw), sgd.simulate(loss, W0 @ Q, **kw)
    assert np.max(grassmann.distance(a.W, b.W)) < 1e-10
    assert a.stats["max_orthogonality_defect"] < 1e-12


def test_riemannian_adam_reaches_the_top_eigenspace():
    run = sgd.simulate(LOSS, grassmann.random_point(5, 2, 4), lr=0.02, steps=1500, optimizer="adam",
                       record_every=500)
    assert grassmann.distance(run.W[0, -1], np.eye(5)[:, :2]) < 1e-3


def test_entrywise_adam_on_the_unconstrained_model_is_not_rotation_equivariant():
    # the inductive bias of the entrywise second moment: W0 Q does not give W(t) Q
    W0 = np.random.default_rng(0).standard_normal((5, 2)) * 0.3
    c, s = np.cos(0.7), np.sin(0.7)
    Q = np.array([[c, -s], [s, c]])
    kw = dict(lr=0.01, steps=50, optimizer="adam", manifold="euclidean")
    a, b = sgd.simulate(LOSS, W0, **kw), sgd.simulate(LOSS, W0 @ Q, **kw)
    assert np.linalg.norm(a.W[0, -1] @ Q - b.W[0, -1]) > 1e-2


def test_riemannian_adam_follows_the_path_of_ojas_flow_as_lr_shrinks():
    # the lr -> 0 limit is the normalised flow: same subspaces as Oja's flow, another clock
    W0 = grassmann.random_point(5, 2, 3)
    path = flows.grassmann_closed_form(C, W0, np.linspace(0.0, 6.0, 3001)).W
    deviation = []
    for lr in (0.02, 0.005):
        run = sgd.simulate(LOSS, W0, lr=lr, steps=round(1.5 / lr), optimizer="adam", record_every=5)
        dist = grassmann.distance(run.W[0][:, None], path[None])  # (recorded, path)
        deviation.append(dist.min(axis=1).max())
    assert deviation[1] < deviation[0] / 2.5, deviation


def test_seeds_are_vectorised_and_each_seed_reproduces_alone():
    model = AugmentationModel(6, [3.0, 2.0], [1.0], 0.3, 0.2, rng=0)
    for manifold, loss in (("euclidean", ssl.barlow_twins(model)), ("grassmann", ssl.info_nce(model))):
        W0 = sgd.init_frames(6, 2, 3, rng=1, kind="gaussian" if manifold == "euclidean" else "haar")
        kw = dict(lr=0.01, steps=40, batch_size=8, optimizer="adam", manifold=manifold,
                  weight_decay=0.01 if manifold == "euclidean" else 0.0)
        together = sgd.simulate(loss, W0, seeds=3, rng=5, **kw)
        for s in range(3):
            alone = sgd.simulate(loss, W0[s], seeds=1, rng=together.seeds[s:s + 1], **kw)
            np.testing.assert_allclose(alone.W[0], together.W[s], rtol=1e-12, atol=1e-14)
        again = sgd.simulate(loss, W0, seeds=3, rng=5, **kw)
        assert np.array_equal(again.W, together.W)


def test_weight_decay_is_the_gradient_of_the_l2_penalty_for_every_optimizer():
    W0 = np.random.default_rng(2).standard_normal((5, 2))
    for optimizer in ("sgd", "momentum"):
        plain = sgd.simulate(Quadratic(C - 0.3 * np.eye(5)), W0, lr=0.01, steps=5, optimizer=optimizer,
                             manifold="euclidean")
        decayed = sgd.simulate(LOSS, W0, lr=0.01, steps=5, optimizer=optimizer, manifold="euclidean",
                               weight_decay=0.3)
        np.testing.assert_allclose(decayed.W, plain.W, rtol=1e-13)


W = grassmann.random_point(5, 2, 0)


@pytest.mark.parametrize("kwargs, match", [
    (dict(betas=(1.0, 0.999)), "betas"),
    (dict(betas=(0.9, 1.0)), "betas"),
    (dict(betas=(-0.1, 0.999)), "betas"),
    (dict(betas=(0.9, float("nan"))), "betas"),
    (dict(betas=(0.9,)), "betas"),
    (dict(eps=0.0), "eps"),
    (dict(weight_decay=-1.0), "weight_decay"),
    (dict(weight_decay=0.1), "weight_decay"),  # on the Grassmannian
], ids=["beta1-one", "beta2-one", "beta1-negative", "beta2-nan", "one-beta", "eps", "wd-negative",
        "wd-grassmann"])
def test_bad_adam_arguments_name_the_argument(kwargs, match):
    with pytest.raises(ValueError, match=match):
        sgd.simulate(LOSS, W, lr=0.1, steps=2, optimizer="adam", **kwargs)
