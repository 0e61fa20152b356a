"""InfoNCE: Monte Carlo against the closed form, the O(1/B) minibatch bias, the high-temperature limit."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from grassdyn import ssl
from grassdyn.data import AugmentationModel

MODEL = AugmentationModel(5, [2.0, 1.0], [1.0], rho=0.5, noise=0.3, mean=[0.3, 0, 0, 0, 0], rng=0)
W = np.random.default_rng(1).standard_normal((5, 2)) * 0.3


def test_monte_carlo_agrees_with_the_dot_product_closed_form_within_its_standard_error():
    loss = ssl.info_nce(MODEL, temperature=1.0)
    est = loss.monte_carlo(W, n=8192, rng=2)
    # the nested estimate's O(16/n) bias is ~ 0.03 * 16 / 8192, far below its standard error
    assert abs(est.value - loss.value(W)) < 4 * est.value_se
    assert np.all(np.abs(est.grad - loss.egrad(W)) < 4 * est.grad_se + 1e-12)
    assert est.value_se < 0.01 * abs(loss.value(W) - loss.value(np.zeros_like(W)) + 1.0)


def test_cosine_population_is_the_fixed_sample_estimate_and_agrees_with_a_fresh_one():
    loss = ssl.info_nce(MODEL, temperature=0.5, similarity="cosine", mc_samples=2048, rng=3)
    est = loss.monte_carlo(W, n=4096, rng=4)
    assert loss.value(W) == loss.value(W)  # deterministic: one fixed sample
    # both carry sampling error: compare with the fresh estimate's error, doubled for the fixed sample's
    assert abs(est.value - loss.value(W)) < 4 * np.sqrt(3) * est.value_se


def test_minibatch_bias_is_order_one_over_b_with_the_jensen_constant():
    # E[hat L_B] - L = -(1/(2K)) E_x[Var(e^{s/tau}) / E(e^{s/tau})^2] + O(K^-2), K = B - 1 negatives;
    # for Gaussian views e^{a^T x-} is log-normal, Var / E^2 = e^{a^T Cov a} - 1 with a = W f(x) / tau
    tau = 1.0
    loss = ssl.info_nce(MODEL, temperature=tau)
    F = MODEL.sample(200_000, rng=5) @ W
    Sc = W.T @ loss.Cov @ W
    c1 = -0.5 * np.mean(np.expm1(np.einsum("ni,ij,nj->n", F, Sc, F) / tau**2))
    scaled_grad_bias = []
    for B, n in ((4, 40000), (8, 20000)):
        batch = loss.draw(B, B, batch=(n,))
        vals = loss.batch_value(W, batch)
        grads = loss.batch_egrad(np.broadcast_to(W, (n, 5, 2)), batch)
        se = vals.std() / np.sqrt(n)
        assert abs((vals.mean() - loss.value(W)) - c1 / (B - 1)) < 4 * se + 0.1 * abs(c1) / (B - 1) ** 2
        bias = grads.mean(axis=0) - loss.egrad(W)
        scaled_grad_bias.append(((B - 1) * bias, (B - 1) * grads.std(axis=0) / np.sqrt(n)))
    (b4, s4), (b8, s8) = scaled_grad_bias
    # the gradient's bias times (B - 1) is the same at both sizes (entrywise, within the noise) ...
    assert np.all(np.abs(b4 - b8) < 4 * np.sqrt(s4**2 + s8**2) + 0.15 * np.abs(b4))
    # ... and not zero: the estimator is biased, as documented
    assert np.linalg.norm(b8) > 5 * np.linalg.norm(s8)


@given(seed=st.integers(0, 2**32 - 1), B=st.integers(2, 12), negatives=st.sampled_from(["others", "all"]))
def test_minibatch_high_temperature_limit_is_twice_the_in_batch_contrastive_gradient(seed, B, negatives):
    rng = np.random.default_rng(seed)
    batch = MODEL.sample_pairs(B, rng)
    Wr = rng.standard_normal((5, 2))
    factor = 2.0 if negatives == "others" else 2.0 * (B - 1) / B
    limit = factor * ssl.contrastive(MODEL).batch_egrad(Wr, batch)
    taus = np.array([1e3, 2e3, 4e3, 8e3])
    err = [np.linalg.norm(tau * ssl.info_nce(MODEL, tau, negatives).batch_egrad(Wr, batch) - limit)
           for tau in taus]
    if B == 2 and negatives == "others":
        # one negative: the log of a one-term mean is exact, so tau L is the contrastive loss at every tau
        assert max(err) < 1e-9 * np.linalg.norm(limit)
        return
    order = np.polyfit(np.log(taus), np.log(err), 1)[0]
    assert order == pytest.approx(-1.0, abs=0.05)


@given(seed=st.integers(0, 2**32 - 1), tau=st.floats(0.5, 1e4))
def test_population_high_temperature_remainder_is_exactly_order_one(seed, tau):
    rng = np.random.default_rng(seed)
    Wr = rng.standard_normal((5, 3))
    loss = ssl.info_nce(MODEL, temperature=tau)
    Sc, S2 = Wr.T @ loss.Cov @ Wr, Wr.T @ loss.Sigma @ Wr
    remainder = (loss.Cov @ Wr @ S2 + loss.Sigma @ Wr @ Sc) / tau
    CW = loss.contrastive_generator @ Wr
    np.testing.assert_allclose(tau * loss.egrad(Wr) + 2 * CW, remainder, rtol=1e-7,
                               atol=1e-9 * np.abs(CW).max())


def test_no_overflow_at_small_temperature():
    loss = ssl.info_nce(MODEL, temperature=1e-3, similarity="cosine", mc_samples=64)
    batch = MODEL.sample_pairs(16, 0)
    assert np.isfinite(loss.batch_value(W * 100, batch)) and np.all(np.isfinite(loss.egrad(W * 100)))
